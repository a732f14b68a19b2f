/* fpentropy: retraining policies driven by exact PDE divergences (see
 * policy_study.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/balance.h>
#include <fpentropy/oracle.h>
#include <fpentropy/output.h>
#include <fpentropy/policy.h>
#include <fpentropy/policy_study.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error_impl.h"

typedef struct collector {
  fp_density_series *s;
  size_t capacity;
  bool failed;
} collector;

static int keep_density(double t, const double *p, size_t ncells, void *ctx)
{
  collector *c = ctx;
  fp_density_series *s = c->s;
  if (s->T == c->capacity) {
    c->failed = true;
    return 1;
  }
  s->t[s->T] = t;
  memcpy(s->p + s->T * ncells, p, ncells * sizeof *p);
  s->T++;
  return 0;
}

static int keep_row(const fp_balance_row *row, void *ctx)
{
  collector *c = ctx;
  /* rows arrive just before the density of the same time */
  c->s->kl[c->s->T] = row->kl;
  c->s->dkl_dt[c->s->T] = row->dkl_dt;
  return 0;
}

void fp_density_series_clear(fp_density_series *s)
{
  if (!s) return;
  free(s->t);
  free(s->p);
  free(s->kl);
  free(s->dkl_dt);
  free(s->dt);
  memset(s, 0, sizeof *s);
}

int fp_density_series_collect(const fp_case *c, const fp_run_options *options,
                              fp_density_series *out, fp_error *err)
{
  memset(out, 0, sizeof *out);
  if (options->on_row || options->on_density)
    return fp_fail(err, FP_ERR_ARG, "fp_density_series_collect: the callbacks must be NULL");
  size_t T = c->n_output_times, n = c->grid.ncells;
  out->ncells = n;
  out->t = malloc(T * sizeof *out->t);
  out->p = malloc(T * n * sizeof *out->p);
  out->kl = malloc(T * sizeof *out->kl);
  out->dkl_dt = malloc(T * sizeof *out->dkl_dt);
  out->dt = malloc(T * sizeof *out->dt);
  if (!out->t || !out->p || !out->kl || !out->dkl_dt || !out->dt) {
    fp_density_series_clear(out);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu densities of %zu cells", T, n);
  }
  collector col = {out, T, false};
  fp_run_options opt = *options;
  opt.on_row = keep_row;
  opt.row_ctx = &col;
  opt.on_density = keep_density;
  opt.density_ctx = &col;
  int rc = fp_run_case(c, &opt, NULL, err);
  if (rc == FP_OK && out->T != T)
    rc = fp_fail(err, FP_ERR_ARG, "expected %zu output times, got %zu", T, out->T);
  if (rc != FP_OK) {
    fp_density_series_clear(out);
    return rc;
  }
  for (size_t k = 0; k < T; k++) out->dt[k] = k ? out->t[k] - out->t[k - 1] : 0.0;
  return FP_OK;
}

int fp_mismatch_matrix(const fp_grid *g, const fp_density_series *s, double *K, fp_error *err)
{
  const size_t T = s->T, n = s->ncells;
  double *logp = malloc(T * n * sizeof *logp);
  if (!logp) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the mismatch matrix");
  for (size_t q = 0; q < T * n; q++)
    logp[q] = log(s->p[q] > FP_BALANCE_FLOOR ? s->p[q] : FP_BALANCE_FLOOR);
  int rc = FP_OK;
  for (size_t k = 0; k < T && rc == FP_OK; k++)
    for (size_t j = 0; j < T; j++) {
      double sum = 0.0;
      if (j < k) {
        const double *pk = s->p + k * n, *lk = logp + k * n, *lj = logp + j * n;
        for (size_t i = 0; i < n; i++) sum += pk[i] * (lk[i] - lj[i]);
        sum *= g->cell_volume;
        if (!isfinite(sum)) {
          rc = fp_fail(err, FP_ERR_NUMERIC, "KL(p(t=%g) || p(t=%g)) is not finite", s->t[k], s->t[j]);
          break;
        }
      }
      K[k * T + j] = sum;
    }
  free(logp);
  return rc;
}

void fp_density_series_problem(const fp_density_series *s, const double *K, fp_retrain_problem *pb)
{
  memset(pb, 0, sizeof *pb);
  pb->T = s->T;
  pb->K = K;
  pb->D0 = s->kl;
  pb->dt = s->dt;
  pb->t = s->t;
}

/* One CSV per schedule: period,t,signal,decision,mismatch,cumulative_cost. */
static int write_schedule(const char *dir, const char *name, const char *label,
                          const fp_retrain_problem *pb, double c, const bool *schedule,
                          const double *observed, const double *mismatch, fp_error *err)
{
  static const char *const cols[] = {"period", "t", "signal", "decision", "mismatch", "cumulative_cost"};
  char *path = NULL;
  fp_output_table *tab = NULL;
  int rc = fp_output_join(dir, name, &path, err);
  if (rc == FP_OK) rc = fp_output_table_create(path, cols, 6, label, &tab, err);
  double cumulative = 0.0;
  for (size_t k = 0; rc == FP_OK && k < pb->T; k++) {
    cumulative += (schedule[k] ? c : 0.0) + mismatch[k] * pb->dt[k];
    double row[6] = {(double)k, pb->t[k], observed[k], schedule[k] ? 1.0 : 0.0, mismatch[k], cumulative};
    rc = fp_output_table_append(tab, row, 6, err);
  }
  if (rc == FP_OK)
    rc = fp_output_table_commit(&tab, err);
  else
    fp_output_table_abort(&tab, false);
  free(path);
  return rc;
}

static int write_matrix(const char *dir, const fp_density_series *s, const double *K, fp_error *err)
{
  char *path = NULL;
  fp_output_file *f = NULL;
  int rc = fp_output_join(dir, "kl_matrix.csv", &path, err);
  if (rc == FP_OK) rc = fp_output_file_open(path, &f, err);
  free(path);
  if (rc != FP_OK) return rc;
  FILE *out = fp_output_file_stream(f);
  fprintf(out, "# K[k][j] = KL(p(t_k) || p(t_j)) for j < k; row k, column j; first column t_k\nt");
  for (size_t j = 0; j < s->T; j++) fprintf(out, ",j%zu", j);
  fputc('\n', out);
  for (size_t k = 0; k < s->T; k++) {
    fprintf(out, "%.17g", s->t[k]);
    for (size_t j = 0; j < s->T; j++) fprintf(out, ",%.17g", K[k * s->T + j]);
    fputc('\n', out);
  }
  return fp_output_file_commit(&f, err);
}

typedef struct study_row {
  const char *label;
  fp_retrain_cost cost;
  fp_excess_loss excess;
} study_row;

static int score(const fp_retrain_problem *pb, const fp_policy_study_options *opt,
                 const bool *schedule, const double *observed, int *Z, study_row *row, fp_error *err)
{
  int rc = fp_stale_states(observed, pb->T, opt->stale_threshold, Z, err);
  if (rc == FP_OK) rc = fp_excess_loss_compute(schedule, Z, pb->T, opt->kappa, &row->excess, err);
  return rc;
}

int fp_policy_study_exact(const fp_density_series *s, const double *K, const char *const *specs,
                          size_t nspecs, const fp_policy_study_options *opt, const char *dir,
                          FILE *report, fp_error *err)
{
  fp_retrain_problem pb;
  fp_density_series_problem(s, K, &pb);
  const size_t T = s->T;
  int rc = fp_retrain_problem_check(&pb, err);
  if (rc != FP_OK) return rc;
  fp_policy **policies = calloc(nspecs ? nspecs : 1, sizeof *policies);
  study_row *rows = calloc(nspecs + 1, sizeof *rows);
  bool *schedule = malloc(T * sizeof *schedule);
  double *observed = malloc(T * sizeof *observed), *mismatch = malloc(T * sizeof *mismatch);
  int *Z = malloc(T * sizeof *Z);
  size_t npareto = opt->pareto_points ? opt->pareto_points : 1;
  double *cs = malloc(npareto * sizeof *cs);
  fp_pareto_point *pareto = malloc(npareto * sizeof *pareto);
  if (!policies || !rows || !schedule || !observed || !mismatch || !Z || !cs || !pareto) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the policy study");
    goto out_free;
  }
  /* Every spec is parsed before anything runs or is written. */
  for (size_t i = 0; i < nspecs && rc == FP_OK; i++) rc = fp_policy_create(specs[i], &policies[i], err);
  if (rc == FP_OK) rc = fp_output_mkdir(dir, err);
  if (rc == FP_OK) rc = write_matrix(dir, s, K, err);

  /* the oracle first: the policies' regrets are relative to it */
  if (rc == FP_OK) rc = fp_oracle_solve(&pb, opt->cost, schedule, &rows[nspecs].cost, err);
  fp_retrain_cost check;
  if (rc == FP_OK) rc = fp_retrain_evaluate(&pb, opt->cost, schedule, observed, mismatch, &check, err);
  if (rc == FP_OK) rc = score(&pb, opt, schedule, observed, Z, &rows[nspecs], err);
  if (rc == FP_OK)
    rc = write_schedule(dir, "oracle.csv", "the cost-minimising schedule (dynamic programming over K)",
                        &pb, opt->cost, schedule, observed, mismatch, err);
  rows[nspecs].label = "oracle";
  for (size_t i = 0; i < nspecs && rc == FP_OK; i++) {
    rows[i].label = fp_policy_spec(policies[i]);
    rc = fp_policy_run_exact(policies[i], &pb, opt->cost, schedule, observed, mismatch, &rows[i].cost, err);
    if (rc == FP_OK) rc = score(&pb, opt, schedule, observed, Z, &rows[i], err);
    char name[32];
    snprintf(name, sizeof name, "policy_%02zu.csv", i);
    if (rc == FP_OK)
      rc = write_schedule(dir, name, rows[i].label, &pb, opt->cost, schedule, observed, mismatch, err);
  }

  /* Pareto: the oracle over c/100 .. 100 c */
  for (size_t q = 0; q < npareto; q++)
    cs[q] = opt->cost * pow(10.0, npareto > 1 ? -2.0 + 4.0 * (double)q / (double)(npareto - 1) : 0.0);
  if (rc == FP_OK && opt->cost > 0.0) rc = fp_oracle_pareto(&pb, cs, npareto, pareto, err);
  if (rc == FP_OK && opt->cost > 0.0) {
    static const char *const cols[] = {"c", "n_retrains", "mismatch_integral", "cost"};
    char *path = NULL;
    fp_output_table *tab = NULL;
    rc = fp_output_join(dir, "pareto.csv", &path, err);
    if (rc == FP_OK) rc = fp_output_table_create(path, cols, 4, "oracle schedules for a range of retrain costs", &tab, err);
    for (size_t q = 0; rc == FP_OK && q < npareto; q++) {
      double row[4] = {pareto[q].c, (double)pareto[q].n_retrains, pareto[q].mismatch_integral, pareto[q].cost};
      rc = fp_output_table_append(tab, row, 4, err);
    }
    if (rc == FP_OK) rc = fp_output_table_commit(&tab, err); else fp_output_table_abort(&tab, false);
    free(path);
  }

  const double best = rows[nspecs].cost.cost;
  if (rc == FP_OK) {
    char *path = NULL;
    fp_output_file *f = NULL;
    rc = fp_output_join(dir, "policy_summary.csv", &path, err);
    if (rc == FP_OK) rc = fp_output_file_open(path, &f, err);
    free(path);
    if (rc == FP_OK) {
      FILE *out = fp_output_file_stream(f);
      fprintf(out, "# retrain cost c = %.17g, kappa = %.17g, stale threshold = %.17g\n", opt->cost,
              opt->kappa, opt->stale_threshold);
      fprintf(out, "policy,file,n_retrains,mismatch_integral,cost,regret,excess_loss,unnecessary_retrains,stale_waits\n");
      for (size_t i = 0; i <= nspecs; i++) {
        const study_row *r = &rows[i];
        char file[32];
        if (i == nspecs) snprintf(file, sizeof file, "oracle.csv"); else snprintf(file, sizeof file, "policy_%02zu.csv", i);
        fprintf(out, "\"%s\",%s,%zu,%.17g,%.17g,%.17g,%.17g,%zu,%zu\n", r->label, file, r->cost.n_retrains,
                r->cost.mismatch_integral, r->cost.cost, r->cost.cost - best, r->excess.loss,
                r->excess.n_unnecessary, r->excess.n_stale_wait);
      }
      rc = fp_output_file_commit(&f, err);
    }
    if (rc == FP_OK && report) {
      fprintf(report, "%-44s %9s %12s %12s %12s %10s\n", "policy", "retrains", "mismatch", "cost",
              "regret", "excess");
      for (size_t i = 0; i <= nspecs; i++)
        fprintf(report, "%-44.44s %9zu %12.5g %12.5g %12.5g %10.4g\n", rows[i].label, rows[i].cost.n_retrains,
                rows[i].cost.mismatch_integral, rows[i].cost.cost, rows[i].cost.cost - best, rows[i].excess.loss);
    }
  }
out_free:
  if (policies)
    for (size_t i = 0; i < nspecs; i++) fp_policy_destroy(&policies[i]);
  free(policies);
  free(rows);
  free(schedule);
  free(observed);
  free(mismatch);
  free(Z);
  free(cs);
  free(pareto);
  return rc;
}
