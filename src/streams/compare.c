/* fpentropy: sample KL estimators judged against PDE truth (see compare.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/streams/compare.h>
#include <fpentropy/streams/estimator.h>
#include <fpentropy/fv/operator.h>
#include <fpentropy/io/output.h>
#include <fpentropy/streams/particles.h>
#include <fpentropy/policy/policy_study.h>

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"
#include "problem/reference_impl.h"
#include "streams/sampling_impl.h"

/* What the estimators know about q_ref. */
typedef struct reference_model {
  const fp_grid *g;
  fp_expr *expr;       /* the case's reference expression, or NULL */
  double log_Z;        /* its grid normalisation */
  double *log_q;       /* log of the grid q, per cell */
  double *cdf;         /* cumulative q_i |V| for drawing reference samples */
} reference_model;

static double log_q_at(const double x[FP_MAX_DIM], void *ctx)
{
  reference_model *m = ctx;
  if (m->expr) {
    double v = fp_expr_eval(m->expr, x, 0.0);
    return v > 0.0 ? log(v) - m->log_Z : -INFINITY;
  }
  double out;
  fp_grid_interpolate(m->g, m->log_q, 1, 1, x, &out);
  return out;
}

typedef struct compare_state {
  const fp_case *c;
  const fp_compare_options *opt;
  fp_estimator **est;
  double *estimates;    /* [e][n][k][r] */
  size_t T;
  reference_model model;
  fp_kl_reference ref;
  double *ref_points;   /* max N reference points of the current replica */
  size_t ref_count;
  gsl_rng *rng;
  volatile sig_atomic_t *interrupted;
  fp_error err;
  int status;
} compare_state;

static double *estimate_slot(compare_state *s, size_t e, size_t n, size_t k, size_t r)
{
  return s->estimates + ((e * s->opt->nsizes + n) * s->T + k) * s->opt->replicas + r;
}

static void draw_reference(compare_state *s, size_t replica, size_t count)
{
  const fp_grid *g = &s->c->grid;
  const int dim = g->dim;
  gsl_rng_set(s->rng, (unsigned long)(s->opt->seed * 2654435761UL + replica * 40503UL + 12345UL));
  for (size_t i = 0; i < count; i++) fp_grid_draw_point(g, s->model.cdf, s->rng, s->ref_points + i * (size_t)dim);
  s->ref_count = count;
}

static int on_particles(const fp_particle_snapshot *snap, void *ctx)
{
  compare_state *s = ctx;
  const fp_compare_options *o = s->opt;
  if (snap->output == 0) {
    size_t nmax = 0;
    for (size_t n = 0; n < o->nsizes; n++) nmax = o->sizes[n] > nmax ? o->sizes[n] : nmax;
    draw_reference(s, snap->replica, nmax);
  }
  for (size_t n = 0; n < o->nsizes; n++) {
    size_t N = o->sizes[n] < snap->alive ? o->sizes[n] : snap->alive;
    fp_samples p = {snap->dim, N, snap->x};
    s->ref.sample = (fp_samples){snap->dim, o->sizes[n] < s->ref_count ? o->sizes[n] : s->ref_count, s->ref_points};
    for (size_t e = 0; e < o->nestimators; e++) {
      double kl = NAN;
      int rc = N >= 2 ? fp_estimator_kl(s->est[e], &p, &s->ref, &kl, &s->err) : FP_OK;
      if (rc != FP_OK) {
        s->status = rc;
        return 1;
      }
      *estimate_slot(s, e, n, snap->output, snap->replica) = kl;
    }
  }
  return s->interrupted && *s->interrupted ? 1 : 0;
}

/* Mean, standard deviation, RMSE against `exact` and the fraction of
 * negative values of R numbers (NaN entries skipped). */
typedef struct stats {
  double mean, sd, rmse, frac_negative;
  size_t count;
} stats;

static stats summarise(const double *x, size_t R, double exact)
{
  stats st = {0};
  double sum = 0.0, sq = 0.0, err2 = 0.0;
  size_t neg = 0;
  for (size_t r = 0; r < R; r++) {
    if (isnan(x[r])) continue;
    st.count++;
    sum += x[r];
    err2 += (x[r] - exact) * (x[r] - exact);
    if (x[r] < 0.0) neg++;
  }
  if (st.count == 0) {
    st.mean = st.sd = st.rmse = st.frac_negative = NAN;
    return st;
  }
  st.mean = sum / (double)st.count;
  for (size_t r = 0; r < R; r++)
    if (!isnan(x[r])) sq += (x[r] - st.mean) * (x[r] - st.mean);
  st.sd = st.count > 1 ? sqrt(sq / (double)(st.count - 1)) : NAN;
  st.rmse = sqrt(err2 / (double)st.count);
  st.frac_negative = (double)neg / (double)st.count;
  return st;
}

static int write_tables(compare_state *s, const fp_density_series *series, const char *dir,
                        FILE *report, fp_error *err)
{
  const fp_compare_options *o = s->opt;
  const size_t R = o->replicas, T = s->T;
  static const char *const cols[] = {"estimator", "N", "t",    "exact",         "mean",  "bias",
                                     "sd",        "rmse", "frac_negative", "dkl_dt"};
  const char *names[2] = {"compare.csv", "compare_rate.csv"};
  double *rates = malloc(R * sizeof *rates);
  double *summary = calloc(o->nestimators * o->nsizes * 2, sizeof *summary); /* mse sums */
  if (!rates || !summary) {
    free(rates);
    free(summary);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for the comparison tables");
  }
  int rc = FP_OK;
  for (int table = 0; table < 2 && rc == FP_OK; table++) {
    char *path = NULL;
    fp_output_file *f = NULL;
    rc = fp_output_join(dir, names[table], &path, err);
    if (rc == FP_OK) rc = fp_output_file_open(path, &f, err);
    free(path);
    if (rc != FP_OK) break;
    FILE *out = fp_output_file_stream(f);
    fprintf(out, "# %s of KL(p_t || q_ref): %zu replicas; exact = %s\n",
            table ? "rate estimates d/dt (differences of successive estimates)" : "estimates", R,
            table ? "the PDE's kl differenced the same way (so the error is the estimators' alone); "
                    "dkl_dt = the PDE's exact rate (their gap is the monitoring interval's truncation)"
                  : "the PDE's kl");
    size_t ncols = table ? 10 : 9;
    for (size_t q = 0; q < ncols; q++) fprintf(out, "%s%s", q ? "," : "", cols[q]);
    fputc('\n', out);
    for (size_t e = 0; e < o->nestimators; e++)
      for (size_t n = 0; n < o->nsizes; n++)
        for (size_t k = 0; k < T; k++) {
          const double *x = estimate_slot(s, e, n, k, 0);
          double exact = series->kl[k];
          if (table == 1) {
            /* centred differences inside, one-sided at the ends */
            size_t a = k > 0 ? k - 1 : k, b = k + 1 < T ? k + 1 : k;
            if (a == b) continue;
            double span = series->t[b] - series->t[a];
            for (size_t r = 0; r < R; r++)
              rates[r] = (*estimate_slot(s, e, n, b, r) - *estimate_slot(s, e, n, a, r)) / span;
            x = rates;
            exact = (series->kl[b] - series->kl[a]) / span;
          }
          stats st = summarise(x, R, exact);
          if (!isnan(st.rmse)) summary[(e * o->nsizes + n) * 2 + (size_t)table] += st.rmse * st.rmse;
          fprintf(out, "\"%s\",%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g", fp_estimator_spec(s->est[e]),
                  o->sizes[n], series->t[k], exact, st.mean, st.mean - exact, st.sd, st.rmse, st.frac_negative);
          if (table == 1) fprintf(out, ",%.17g", series->dkl_dt[k]);
          fputc('\n', out);
        }
    rc = fp_output_file_commit(&f, err);
  }
  if (rc == FP_OK) {
    char *path = NULL;
    fp_output_file *f = NULL;
    rc = fp_output_join(dir, "compare_summary.csv", &path, err);
    if (rc == FP_OK) rc = fp_output_file_open(path, &f, err);
    free(path);
    if (rc == FP_OK) {
      FILE *out = fp_output_file_stream(f);
      fprintf(out, "# rmse: root mean over output times of the squared error; slope: least-squares d log rmse / d log N\n");
      fprintf(out, "estimator,N,rmse,rate_rmse,slope\n");
      if (report) fprintf(report, "%-36s %9s %12s %12s %8s\n", "estimator", "N", "rmse(kl)", "rmse(rate)", "slope");
      for (size_t e = 0; e < o->nestimators; e++) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (size_t n = 0; n < o->nsizes; n++) {
          double lx = log((double)o->sizes[n]), ly = log(sqrt(summary[(e * o->nsizes + n) * 2] / (double)T));
          sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
        }
        double m = (double)o->nsizes;
        double slope = o->nsizes > 1 ? (m * sxy - sx * sy) / (m * sxx - sx * sx) : NAN;
        for (size_t n = 0; n < o->nsizes; n++) {
          double rmse = sqrt(summary[(e * o->nsizes + n) * 2] / (double)T);
          double rate = sqrt(summary[(e * o->nsizes + n) * 2 + 1] / (double)(T > 1 ? T : 1));
          fprintf(out, "\"%s\",%zu,%.17g,%.17g,%.17g\n", fp_estimator_spec(s->est[e]), o->sizes[n], rmse, rate, slope);
          if (report)
            fprintf(report, "%-36.36s %9zu %12.4g %12.4g %8.3f\n", fp_estimator_spec(s->est[e]), o->sizes[n], rmse,
                    rate, slope);
        }
      }
      rc = fp_output_file_commit(&f, err);
    }
  }
  free(rates);
  free(summary);
  return rc;
}

static int prepare_reference(compare_state *s, fp_reference *ref, fp_error *err)
{
  const fp_case *c = s->c;
  const fp_grid *g = &c->grid;
  reference_model *m = &s->model;
  m->g = g;
  m->log_q = malloc(g->ncells * sizeof *m->log_q);
  m->cdf = malloc(g->ncells * sizeof *m->cdf);
  if (!m->log_q || !m->cdf) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the reference");
  fp_kl_reference *r = &s->ref;
  memset(r, 0, sizeof *r);
  fp_grid_cumulative_mass(g, ref->q, m->cdf);
  for (size_t i = 0; i < g->ncells; i++) {
    m->log_q[i] = log(ref->q[i]);
    double x[FP_MAX_DIM];
    fp_grid_cell_center(g, i, x);
    for (int a = 0; a < g->dim; a++) {
      r->mean[a] += ref->q[i] * x[a] * g->cell_volume;
      for (int b = 0; b < g->dim; b++) r->cov[a][b] += ref->q[i] * x[a] * x[b] * g->cell_volume;
    }
  }
  for (int a = 0; a < g->dim; a++)
    for (int b = 0; b < g->dim; b++) r->cov[a][b] -= r->mean[a] * r->mean[b];
  r->has_moments = true;
  if (c->reference_kind == FP_REFERENCE_EXPRESSION) {
    m->expr = c->reference;
    m->log_Z = log(ref->Z_reference);
  }
  r->log_q = log_q_at;
  r->ctx = m;
  for (int a = 0; a < FP_MAX_DIM; a++) r->lower[a] = g->lower[a], r->upper[a] = g->upper[a];
  return FP_OK;
}

int fp_compare_case(const fp_case *c, const fp_compare_options *opt, const fp_run_options *run,
                    const char *dir, FILE *report, fp_error *err)
{
  if (!c || !opt || !run || !dir) return fp_fail(err, FP_ERR_ARG, "fp_compare_case: NULL argument");
  if (opt->nsizes == 0 || opt->nestimators == 0)
    return fp_fail(err, FP_ERR_ARG, "compare needs at least one sample size and one estimator");
  if (opt->replicas < 2) return fp_fail(err, FP_ERR_ARG, "compare needs at least 2 replicas (got %zu)", opt->replicas);
  size_t nmax = 0;
  for (size_t n = 0; n < opt->nsizes; n++) {
    if (opt->sizes[n] < 2) return fp_fail(err, FP_ERR_ARG, "sample sizes must be >= 2 (got %zu)", opt->sizes[n]);
    nmax = opt->sizes[n] > nmax ? opt->sizes[n] : nmax;
  }
  compare_state s = {.c = c, .opt = opt, .T = c->n_output_times, .interrupted = run->interrupted};
  fp_operator *op = NULL;
  fp_reference ref = {0};
  fp_density_series series = {0};
  fp_particles *particles = NULL;
  int rc = FP_OK;
  s.est = calloc(opt->nestimators, sizeof *s.est);
  s.estimates = malloc(opt->nestimators * opt->nsizes * s.T * opt->replicas * sizeof *s.estimates);
  s.ref_points = malloc(nmax * (size_t)c->grid.dim * sizeof *s.ref_points);
  s.rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!s.est || !s.estimates || !s.ref_points || !s.rng) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the comparison");
    goto out_free;
  }
  for (size_t e = 0; e < opt->nestimators && rc == FP_OK; e++)
    rc = fp_estimator_create(opt->estimators[e], &s.est[e], err);
  if (rc == FP_OK) rc = fp_operator_create(c, &op, err);
  if (rc == FP_OK) rc = fp_reference_init(&ref, c, op, err);
  if (rc == FP_OK) rc = prepare_reference(&s, &ref, err);
  if (rc == FP_OK) {
    /* Each estimator once on the smallest sample size, drawn from the
     * reference, before anything is integrated: one that cannot work at
     * that size (knn:k=3 with N = 2) is a usage error, reported now. */
    size_t nmin = nmax;
    for (size_t n = 0; n < opt->nsizes; n++) nmin = opt->sizes[n] < nmin ? opt->sizes[n] : nmin;
    draw_reference(&s, 0, nmin);
    fp_samples p = {c->grid.dim, nmin, s.ref_points};
    s.ref.sample = p;
    for (size_t e = 0; e < opt->nestimators && rc == FP_OK; e++) {
      double kl = NAN;
      fp_error probe;
      fp_error_clear(&probe);
      int prc = fp_estimator_kl(s.est[e], &p, &s.ref, &kl, &probe);
      if (prc == FP_ERR_ARG || prc == FP_ERR_NOMEM) rc = fp_fail(err, prc, "%s", probe.message);
    }
  }
  if (rc != FP_OK) goto out_free;

  rc = fp_density_series_collect(c, run, &series, err);
  if (rc != FP_OK) goto out_free;

  fp_particle_options po = {.particles = nmax, .replicas = opt->replicas, .seed = opt->seed,
                            .dt = opt->dt, .threads = opt->threads};
  rc = fp_particles_create(c, &po, &particles, err);
  if (rc == FP_OK) {
    s.status = FP_OK;
    fp_error_clear(&s.err);
    rc = fp_particles_run(particles, on_particles, &s, err);
    if (s.status != FP_OK) rc = fp_fail(err, s.status, "%s", s.err.message);
  }
  if (rc == FP_OK) rc = write_tables(&s, &series, dir, report, err);
out_free:
  if (s.est)
    for (size_t e = 0; e < opt->nestimators; e++) fp_estimator_destroy(&s.est[e]);
  free(s.est);
  free(s.estimates);
  free(s.ref_points);
  if (s.rng) gsl_rng_free(s.rng);
  free(s.model.log_q);
  free(s.model.cdf);
  fp_particles_destroy(&particles);
  fp_density_series_clear(&series);
  fp_reference_clear(&ref);
  fp_operator_destroy(&op);
  return rc;
}
