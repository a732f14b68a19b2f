/* fpentropy: every policy on its exact mismatch series and the oracle, as results in memory
 * and as files (see policy_study.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/io/output.h>
#include <fpentropy/policy/oracle.h>
#include <fpentropy/policy/policy.h>
#include <fpentropy/policy/policy_study.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"
#include "core/gsl_guard_impl.h"
#include "io/output_impl.h"

struct fp_policy_study {
  size_t T, nschedules;          /* policies, then the oracle */
  fp_policy_study_options opt;
  fp_study_schedule *schedules;
  char **labels;                 /* owned copies */
  bool *decision;                /* nschedules * T */
  double *signal, *mismatch;     /* nschedules * T */
  size_t npareto;
  fp_pareto_point *pareto;
};

void fp_policy_study_destroy(fp_policy_study **st)
{
  if (!st || !*st) return;
  fp_policy_study *x = *st;
  if (x->labels)
    for (size_t i = 0; i < x->nschedules; i++) free(x->labels[i]);
  free(x->labels);
  free(x->schedules);
  free(x->decision);
  free(x->signal);
  free(x->mismatch);
  free(x->pareto);
  free(x);
  *st = NULL;
}

/* Run one schedule's scoring: the excess loss of 002 on its stale states. */
static int score(const fp_retrain_problem *pb, const fp_policy_study_options *opt, int *Z,
                 fp_study_schedule *row, fp_error *err)
{
  int rc = fp_stale_states(row->signal, pb->T, opt->stale_threshold, Z, err);
  if (rc == FP_OK) rc = fp_excess_loss_compute(row->decision, Z, pb->T, opt->kappa, &row->excess, err);
  return rc;
}

static int study_run_unguarded(const fp_density_series *s, const double *K,
                               const char *const *specs, size_t nspecs,
                               const fp_policy_study_options *opt, fp_policy_study **out,
                               fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_policy_study_exact_run: out is NULL");
  *out = NULL;
  if (!s || !K || !opt || (nspecs && !specs))
    return fp_fail(err, FP_ERR_ARG, "fp_policy_study_exact_run: NULL argument");
  fp_retrain_problem pb;
  fp_density_series_problem(s, K, &pb);
  const size_t T = s->T;
  int rc = fp_retrain_problem_check(&pb, err);
  if (rc != FP_OK) return rc;
  fp_policy_study *st = calloc(1, sizeof *st);
  fp_policy **policies = calloc(nspecs ? nspecs : 1, sizeof *policies);
  int *Z = malloc(T * sizeof *Z);
  if (!st || !policies || !Z) {
    free(st);
    free(policies);
    free(Z);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for the policy study");
  }
  st->T = T;
  st->opt = *opt;
  st->nschedules = nspecs + 1;
  st->npareto = opt->cost > 0.0 ? (opt->pareto_points ? opt->pareto_points : 1) : 0;
  st->schedules = calloc(st->nschedules, sizeof *st->schedules);
  st->labels = calloc(st->nschedules, sizeof *st->labels);
  st->decision = malloc(st->nschedules * T * sizeof *st->decision);
  st->signal = malloc(st->nschedules * T * sizeof *st->signal);
  st->mismatch = malloc(st->nschedules * T * sizeof *st->mismatch);
  st->pareto = malloc((st->npareto ? st->npareto : 1) * sizeof *st->pareto);
  double *cs = malloc((st->npareto ? st->npareto : 1) * sizeof *cs);
  if (!st->schedules || !st->labels || !st->decision || !st->signal || !st->mismatch ||
      !st->pareto || !cs) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the policy study");
    goto out_free;
  }
  for (size_t i = 0; i < st->nschedules; i++) {
    fp_study_schedule *r = &st->schedules[i];
    r->decision = st->decision + i * T;
    r->signal = st->signal + i * T;
    r->mismatch = st->mismatch + i * T;
  }
  /* Every spec is parsed before anything runs. */
  for (size_t i = 0; i < nspecs && rc == FP_OK; i++) rc = fp_policy_create(specs[i], &policies[i], err);
  if (rc != FP_OK) goto out_free;

  /* the oracle first: the policies' regrets are relative to it */
  fp_study_schedule *oracle = &st->schedules[nspecs];
  bool *dec = st->decision + nspecs * T;
  double *sig = st->signal + nspecs * T, *mis = st->mismatch + nspecs * T;
  rc = fp_oracle_solve(&pb, opt->cost, dec, &oracle->cost, err);
  fp_retrain_cost check;
  if (rc == FP_OK) rc = fp_retrain_evaluate(&pb, opt->cost, dec, sig, mis, &check, err);
  if (rc == FP_OK) rc = score(&pb, opt, Z, oracle, err);
  st->labels[nspecs] = strdup("oracle");
  if (!st->labels[nspecs] && rc == FP_OK) rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < nspecs && rc == FP_OK; i++) {
    fp_study_schedule *r = &st->schedules[i];
    st->labels[i] = strdup(fp_policy_spec(policies[i]));
    if (!st->labels[i]) rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
    if (rc == FP_OK)
      rc = fp_policy_run_exact(policies[i], &pb, opt->cost, st->decision + i * T,
                               st->signal + i * T, st->mismatch + i * T, &r->cost, err);
    if (rc == FP_OK) rc = score(&pb, opt, Z, r, err);
  }
  for (size_t i = 0; i < st->nschedules && rc == FP_OK; i++) {
    st->schedules[i].label = st->labels[i];
    st->schedules[i].regret = st->schedules[i].cost.cost - oracle->cost.cost;
  }

  /* Pareto: the oracle over c/100 .. 100 c */
  for (size_t q = 0; q < st->npareto; q++)
    cs[q] = opt->cost * pow(10.0, st->npareto > 1 ? -2.0 + 4.0 * (double)q / (double)(st->npareto - 1) : 0.0);
  if (rc == FP_OK && st->npareto) rc = fp_oracle_pareto(&pb, cs, st->npareto, st->pareto, err);

out_free:
  if (policies)
    for (size_t i = 0; i < nspecs; i++) fp_policy_destroy(&policies[i]);
  free(policies);
  free(Z);
  free(cs);
  if (rc != FP_OK) {
    fp_policy_study_destroy(&st);
    return rc;
  }
  *out = st;
  return FP_OK;
}

size_t fp_policy_study_count(const fp_policy_study *st) { return st ? st->nschedules : 0; }

const fp_study_schedule *fp_policy_study_schedule(const fp_policy_study *st, size_t i)
{
  return st && i < st->nschedules ? &st->schedules[i] : NULL;
}

size_t fp_policy_study_pareto(const fp_policy_study *st, const fp_pareto_point **points)
{
  if (points) *points = st ? st->pareto : NULL;
  return st ? st->npareto : 0;
}

/* ---- writers --------------------------------------------------------------- */

/* One CSV per schedule: period,t,signal,decision,mismatch,cumulative_cost. */
static int write_schedule(const fp_output_target *to, const char *name, const char *label,
                          const fp_retrain_problem *pb, double c, const fp_study_schedule *r,
                          fp_error *err)
{
  static const char *const cols[] = {"period", "t", "signal", "decision", "mismatch", "cumulative_cost"};
  char *path = NULL;
  fp_output_table *tab = NULL;
  int rc = fp_output_target_record(to, name, true, err);
  if (rc == FP_OK) rc = fp_output_join(fp_output_target_dir(to), name, &path, err);
  if (rc == FP_OK) rc = fp_output_table_create(path, cols, 6, label, &tab, err);
  double cumulative = 0.0;
  for (size_t k = 0; rc == FP_OK && k < pb->T; k++) {
    cumulative += (r->decision[k] ? c : 0.0) + r->mismatch[k] * pb->dt[k];
    double row[6] = {(double)k, pb->t[k], r->signal[k], r->decision[k] ? 1.0 : 0.0, r->mismatch[k], cumulative};
    rc = fp_output_table_append(tab, row, 6, err);
  }
  if (rc == FP_OK)
    rc = fp_output_table_commit(&tab, err);
  else
    fp_output_table_abort(&tab, false);
  free(path);
  return rc;
}

static int write_matrix(const fp_output_target *to, const fp_density_series *s, const double *K,
                        fp_error *err)
{
  int rc = fp_output_target_record(to, "kl_matrix.csv", true, err);
  if (rc != FP_OK) return rc;
  return fp_output_write_matrix(fp_output_target_dir(to), "kl_matrix.csv",
                                "K[k][j] = KL(p(t_k) || p(t_j)) for j < k; row k, column j; first "
                                "column t_k", s->t, s->T, K, err);
}

static int write_pareto(const fp_policy_study *st, const fp_output_target *to, fp_error *err)
{
  static const char *const cols[] = {"c", "n_retrains", "mismatch_integral", "cost"};
  char *path = NULL;
  fp_output_table *tab = NULL;
  int rc = fp_output_target_record(to, "pareto.csv", true, err);
  if (rc == FP_OK) rc = fp_output_join(fp_output_target_dir(to), "pareto.csv", &path, err);
  if (rc == FP_OK) rc = fp_output_table_create(path, cols, 4, "oracle schedules for a range of retrain costs", &tab, err);
  for (size_t q = 0; rc == FP_OK && q < st->npareto; q++) {
    const fp_pareto_point *p = &st->pareto[q];
    double row[4] = {p->c, (double)p->n_retrains, p->mismatch_integral, p->cost};
    rc = fp_output_table_append(tab, row, 4, err);
  }
  if (rc == FP_OK)
    rc = fp_output_table_commit(&tab, err);
  else
    fp_output_table_abort(&tab, false);
  free(path);
  return rc;
}

static void schedule_file(const fp_policy_study *st, size_t i, char *buf, size_t size)
{
  if (i + 1 == st->nschedules)
    snprintf(buf, size, "oracle.csv");
  else
    snprintf(buf, size, "policy_%02zu.csv", i);
}

static int write_summary(const fp_policy_study *st, const fp_output_target *to, fp_error *err)
{
  fp_output_file *f = NULL;
  char comment[256];
  snprintf(comment, sizeof comment, "retrain cost c = %.17g, kappa = %.17g, stale threshold = %.17g",
           st->opt.cost, st->opt.kappa, st->opt.stale_threshold);
  int rc = fp_output_target_record(to, "policy_summary.csv", true, err);
  if (rc == FP_OK)
    rc = fp_output_file_open_in(fp_output_target_dir(to), "policy_summary.csv", comment, NULL, 0, &f, err);
  if (rc != FP_OK) return rc;
  FILE *out = fp_output_file_stream(f);
  fprintf(out, "policy,file,n_retrains,mismatch_integral,cost,regret,excess_loss,unnecessary_retrains,stale_waits\n");
  for (size_t i = 0; i < st->nschedules; i++) {
    const fp_study_schedule *r = &st->schedules[i];
    char file[32];
    schedule_file(st, i, file, sizeof file);
    fprintf(out, "\"%s\",%s,%zu,%.17g,%.17g,%.17g,%.17g,%zu,%zu\n", r->label, file, r->cost.n_retrains,
            r->cost.mismatch_integral, r->cost.cost, r->regret, r->excess.loss,
            r->excess.n_unnecessary, r->excess.n_stale_wait);
  }
  return fp_output_file_commit(&f, err);
}

static int check_series(const fp_policy_study *st, const fp_density_series *s, const char *who,
                        fp_error *err)
{
  if (s->T != st->T)
    return fp_fail(err, FP_ERR_ARG, "%s: the series has %zu times, the study %zu", who, s->T, st->T);
  return FP_OK;
}

static int study_write(const fp_policy_study *st, const fp_density_series *s, const double *K,
                       const fp_output_target *to, fp_error *err)
{
  fp_retrain_problem pb;
  fp_density_series_problem(s, K, &pb);
  int rc = write_matrix(to, s, K, err);
  if (rc == FP_OK)
    rc = write_schedule(to, "oracle.csv", "the cost-minimising schedule (dynamic programming over K)",
                        &pb, st->opt.cost, &st->schedules[st->nschedules - 1], err);
  for (size_t i = 0; i + 1 < st->nschedules && rc == FP_OK; i++) {
    char name[32];
    schedule_file(st, i, name, sizeof name);
    rc = write_schedule(to, name, st->schedules[i].label, &pb, st->opt.cost, &st->schedules[i], err);
  }
  if (rc == FP_OK && st->npareto) rc = write_pareto(st, to, err);
  if (rc == FP_OK) rc = write_summary(st, to, err);
  return rc;
}

int fp_policy_study_write(const fp_policy_study *st, const fp_density_series *s, const double *K,
                          const char *dir, fp_error *err)
{
  if (!st || !s || !K || !dir) return fp_fail(err, FP_ERR_ARG, "fp_policy_study_write: NULL argument");
  fp_output_target to = {.dir = dir};
  int rc = check_series(st, s, "fp_policy_study_write", err);
  if (rc == FP_OK) rc = fp_output_mkdir(dir, err);
  return rc == FP_OK ? study_write(st, s, K, &to, err) : rc;
}

int fp_policy_study_write_dir(const fp_policy_study *st, const fp_density_series *s, const double *K,
                              fp_output_dir *d, fp_error *err)
{
  if (!st || !s || !K || !d)
    return fp_fail(err, FP_ERR_ARG, "fp_policy_study_write_dir: NULL argument");
  fp_output_target to = {.held = d};
  int rc = check_series(st, s, "fp_policy_study_write_dir", err);
  return rc == FP_OK ? study_write(st, s, K, &to, err) : rc;
}

int fp_policy_study_print(const fp_policy_study *st, FILE *f, fp_error *err)
{
  if (!st || !f) return fp_fail(err, FP_ERR_ARG, "fp_policy_study_print: NULL argument");
  fprintf(f, "%-44s %9s %12s %12s %12s %10s\n", "policy", "retrains", "mismatch", "cost", "regret",
          "excess");
  for (size_t i = 0; i < st->nschedules; i++) {
    const fp_study_schedule *r = &st->schedules[i];
    fprintf(f, "%-44.44s %9zu %12.5g %12.5g %12.5g %10.4g\n", r->label, r->cost.n_retrains,
            r->cost.mismatch_integral, r->cost.cost, r->regret, r->excess.loss);
  }
  if (ferror(f)) return fp_fail(err, FP_ERR_IO, "cannot write the policy study report");
  return FP_OK;
}

static int policy_study_exact_unguarded(const fp_density_series *s, const double *K,
                                        const char *const *specs, size_t nspecs,
                                        const fp_policy_study_options *opt, const char *dir,
                                        FILE *report, fp_error *err)
{
  fp_policy_study *st = NULL;
  int rc = study_run_unguarded(s, K, specs, nspecs, opt, &st, err);
  if (rc == FP_OK) rc = fp_policy_study_write(st, s, K, dir, err);
  if (rc == FP_OK && report) rc = fp_policy_study_print(st, report, err);
  fp_policy_study_destroy(&st);
  return rc;
}

/* Public entry points: GSL's handler off for the call (core/gsl_guard_impl.h). */

int fp_policy_study_exact_run(const fp_density_series *s, const double *K,
                              const char *const *specs, size_t nspecs,
                              const fp_policy_study_options *opt, fp_policy_study **out,
                              fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = study_run_unguarded(s, K, specs, nspecs, opt, out, err);
  fp_gsl_guard_end(guard);
  return rc;
}

int fp_policy_study_exact(const fp_density_series *s, const double *K, const char *const *specs,
                          size_t nspecs, const fp_policy_study_options *opt, const char *dir,
                          FILE *report, fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = policy_study_exact_unguarded(s, K, specs, nspecs, opt, dir, report, err);
  fp_gsl_guard_end(guard);
  return rc;
}
