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
#include "core/gsl_guard_impl.h"
#include "io/output_impl.h"
#include <fpentropy/problem/reference.h>
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

/* ---- results in memory ------------------------------------------------------ */

struct fp_compare_result {
  size_t E, S, T, R;       /* estimators, sample sizes, output times, replicas */
  char **spec;             /* E canonical estimator specs (owned) */
  size_t *sizes;           /* S */
  double *t, *kl, *dkl_dt; /* T: the PDE's series */
  double *estimates;       /* [e][n][k][r] */
};

void fp_compare_result_destroy(fp_compare_result **r)
{
  if (!r || !*r) return;
  fp_compare_result *x = *r;
  if (x->spec)
    for (size_t e = 0; e < x->E; e++) free(x->spec[e]);
  free(x->spec);
  free(x->sizes);
  free(x->t);
  free(x->kl);
  free(x->dkl_dt);
  free(x->estimates);
  free(x);
  *r = NULL;
}

void fp_compare_result_shape(const fp_compare_result *r, size_t *estimators, size_t *sizes,
                             size_t *times, size_t *replicas)
{
  if (estimators) *estimators = r ? r->E : 0;
  if (sizes) *sizes = r ? r->S : 0;
  if (times) *times = r ? r->T : 0;
  if (replicas) *replicas = r ? r->R : 0;
}

const char *fp_compare_result_estimator(const fp_compare_result *r, size_t e)
{
  return r && e < r->E ? r->spec[e] : NULL;
}

size_t fp_compare_result_size(const fp_compare_result *r, size_t n) { return r && n < r->S ? r->sizes[n] : 0; }

double fp_compare_result_time(const fp_compare_result *r, size_t k) { return r && k < r->T ? r->t[k] : NAN; }

double fp_compare_result_exact(const fp_compare_result *r, size_t k) { return r && k < r->T ? r->kl[k] : NAN; }

static const double *result_slot(const fp_compare_result *r, size_t e, size_t n, size_t k)
{
  return r->estimates + ((e * r->S + n) * r->T + k) * r->R;
}

double fp_compare_result_estimate(const fp_compare_result *r, size_t e, size_t n, size_t k, size_t rep)
{
  if (!r || e >= r->E || n >= r->S || k >= r->T || rep >= r->R) return NAN;
  return result_slot(r, e, n, k)[rep];
}

/* Mean, standard deviation, RMSE against `exact` and the fraction of
 * negative values of R numbers (NaN entries skipped). */
static fp_compare_stats summarise(const double *x, size_t R, double exact)
{
  fp_compare_stats st = {0};
  st.exact = exact;
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
    st.mean = st.bias = st.sd = st.rmse = st.frac_negative = NAN;
    return st;
  }
  st.mean = sum / (double)st.count;
  st.bias = st.mean - exact;
  for (size_t r = 0; r < R; r++)
    if (!isnan(x[r])) sq += (x[r] - st.mean) * (x[r] - st.mean);
  st.sd = st.count > 1 ? sqrt(sq / (double)(st.count - 1)) : NAN;
  st.rmse = sqrt(err2 / (double)st.count);
  st.frac_negative = (double)neg / (double)st.count;
  return st;
}

int fp_compare_result_stats(const fp_compare_result *r, size_t e, size_t n, size_t k, bool rate,
                            fp_compare_stats *out, fp_error *err)
{
  if (!r || !out || e >= r->E || n >= r->S || k >= r->T)
    return fp_fail(err, FP_ERR_ARG, "fp_compare_result_stats: NULL or index out of range");
  if (!rate) {
    *out = summarise(result_slot(r, e, n, k), r->R, r->kl[k]);
    return FP_OK;
  }
  /* centred differences inside, one-sided at the ends */
  size_t a = k > 0 ? k - 1 : k, b = k + 1 < r->T ? k + 1 : k;
  if (a == b) return fp_fail(err, FP_ERR_ARG, "fp_compare_result_stats: a rate needs two output times");
  double span = r->t[b] - r->t[a];
  double *rates = malloc(r->R * sizeof *rates);
  if (!rates) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the rate statistics");
  const double *xa = result_slot(r, e, n, a), *xb = result_slot(r, e, n, b);
  for (size_t q = 0; q < r->R; q++) rates[q] = (xb[q] - xa[q]) / span;
  *out = summarise(rates, r->R, (r->kl[b] - r->kl[a]) / span);
  free(rates);
  return FP_OK;
}

/* Root mean over output times of the squared error of estimator e at size n
 * (rate: over the times where a rate exists). */
static double rms_over_times(const fp_compare_result *r, size_t e, size_t n, bool rate)
{
  double sum = 0.0;
  for (size_t k = 0; k < r->T; k++) {
    fp_compare_stats st;
    if (fp_compare_result_stats(r, e, n, k, rate, &st, NULL) != FP_OK) continue;
    if (!isnan(st.rmse)) sum += st.rmse * st.rmse;
  }
  return sqrt(sum / (double)(r->T > 1 || !rate ? r->T : 1));
}

void fp_compare_result_summary(const fp_compare_result *r, size_t e, size_t n, double *rmse,
                               double *rate_rmse, double *slope)
{
  if (!r || e >= r->E || n >= r->S) {
    if (rmse) *rmse = NAN;
    if (rate_rmse) *rate_rmse = NAN;
    if (slope) *slope = NAN;
    return;
  }
  if (rmse) *rmse = rms_over_times(r, e, n, false);
  if (rate_rmse) *rate_rmse = rms_over_times(r, e, n, true);
  if (slope) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t q = 0; q < r->S; q++) {
      double lx = log((double)r->sizes[q]), ly = log(rms_over_times(r, e, q, false));
      sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
    }
    double m = (double)r->S;
    *slope = r->S > 1 ? (m * sxy - sx * sy) / (m * sxx - sx * sx) : NAN;
  }
}

/* ---- writers --------------------------------------------------------------- */

static int write_estimate_table(const fp_compare_result *r, bool rate, const fp_output_target *to,
                                fp_error *err)
{
  static const char *const cols[] = {"estimator", "N", "t",    "exact",         "mean",  "bias",
                                     "sd",        "rmse", "frac_negative", "dkl_dt"};
  fp_output_file *f = NULL;
  char comment[512];
  snprintf(comment, sizeof comment, "%s of KL(p_t || q_ref): %zu replicas; exact = %s",
           rate ? "rate estimates d/dt (differences of successive estimates)" : "estimates", r->R,
           rate ? "the PDE's kl differenced the same way (so the error is the estimators' alone); "
                  "dkl_dt = the PDE's exact rate (their gap is the monitoring interval's truncation)"
                : "the PDE's kl");
  size_t ncols = rate ? 10 : 9;
  const char *name = rate ? "compare_rate.csv" : "compare.csv";
  /* the description goes to compare.json: the CSV starts with its header (pandas defaults) */
  int rc = fp_output_target_record(to, name, true, err);
  if (rc == FP_OK)
    rc = fp_output_file_open_in(fp_output_target_dir(to), name, comment, cols, ncols, &f, err);
  if (rc != FP_OK) return rc;
  FILE *out = fp_output_file_stream(f);
  for (size_t q = 0; q < ncols; q++) fprintf(out, "%s%s", q ? "," : "", cols[q]);
  fputc('\n', out);
  for (size_t e = 0; e < r->E; e++)
    for (size_t n = 0; n < r->S; n++)
      for (size_t k = 0; k < r->T; k++) {
        fp_compare_stats st;
        if (fp_compare_result_stats(r, e, n, k, rate, &st, NULL) != FP_OK) continue;
        fprintf(out, "\"%s\",%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g", r->spec[e], r->sizes[n],
                r->t[k], st.exact, st.mean, st.bias, st.sd, st.rmse, st.frac_negative);
        if (rate) fprintf(out, ",%.17g", r->dkl_dt[k]);
        fputc('\n', out);
      }
  return fp_output_file_commit(&f, err);
}

static int write_tables(const fp_compare_result *r, const fp_output_target *to, fp_error *err)
{
  int rc = write_estimate_table(r, false, to, err);
  if (rc == FP_OK) rc = write_estimate_table(r, true, to, err);
  if (rc == FP_OK) rc = fp_output_target_record(to, "compare_summary.csv", true, err);
  if (rc != FP_OK) return rc;
  fp_output_file *f = NULL;
  rc = fp_output_file_open_in(fp_output_target_dir(to), "compare_summary.csv",
                              "rmse: root mean over output times of the squared error; slope: "
                              "least-squares d log rmse / d log N", NULL, 0, &f, err);
  if (rc != FP_OK) return rc;
  FILE *out = fp_output_file_stream(f);
  fprintf(out, "estimator,N,rmse,rate_rmse,slope\n");
  for (size_t e = 0; e < r->E; e++)
    for (size_t n = 0; n < r->S; n++) {
      double rmse, rate, slope;
      fp_compare_result_summary(r, e, n, &rmse, &rate, &slope);
      fprintf(out, "\"%s\",%zu,%.17g,%.17g,%.17g\n", r->spec[e], r->sizes[n], rmse, rate, slope);
    }
  return fp_output_file_commit(&f, err);
}

int fp_compare_write(const fp_compare_result *r, const char *dir, fp_error *err)
{
  if (!r || !dir) return fp_fail(err, FP_ERR_ARG, "fp_compare_write: NULL argument");
  int rc = fp_output_mkdir(dir, err);
  fp_output_target to = {.dir = dir};
  return rc == FP_OK ? write_tables(r, &to, err) : rc;
}

int fp_compare_write_dir(const fp_compare_result *r, fp_output_dir *d, fp_error *err)
{
  if (!r || !d) return fp_fail(err, FP_ERR_ARG, "fp_compare_write_dir: NULL argument");
  fp_output_target to = {.held = d};
  return write_tables(r, &to, err);
}

int fp_compare_print(const fp_compare_result *r, FILE *f, fp_error *err)
{
  if (!r || !f) return fp_fail(err, FP_ERR_ARG, "fp_compare_print: NULL argument");
  fprintf(f, "%-36s %9s %12s %12s %8s\n", "estimator", "N", "rmse(kl)", "rmse(rate)", "slope");
  for (size_t e = 0; e < r->E; e++)
    for (size_t n = 0; n < r->S; n++) {
      double rmse, rate, slope;
      fp_compare_result_summary(r, e, n, &rmse, &rate, &slope);
      fprintf(f, "%-36.36s %9zu %12.4g %12.4g %8.3f\n", r->spec[e], r->sizes[n], rmse, rate, slope);
    }
  if (ferror(f)) return fp_fail(err, FP_ERR_IO, "cannot write the comparison report");
  return FP_OK;
}

/* Move the state's estimates and the series into a result. */
static int make_result(compare_state *s, const fp_density_series *series, fp_compare_result **out,
                       fp_error *err)
{
  const fp_compare_options *o = s->opt;
  fp_compare_result *r = calloc(1, sizeof *r);
  if (!r) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the comparison results");
  r->E = o->nestimators, r->S = o->nsizes, r->T = s->T, r->R = o->replicas;
  r->spec = calloc(r->E, sizeof *r->spec);
  r->sizes = malloc(r->S * sizeof *r->sizes);
  r->t = malloc(r->T * sizeof *r->t);
  r->kl = malloc(r->T * sizeof *r->kl);
  r->dkl_dt = malloc(r->T * sizeof *r->dkl_dt);
  bool ok = r->spec && r->sizes && r->t && r->kl && r->dkl_dt;
  for (size_t e = 0; ok && e < r->E; e++) ok = (r->spec[e] = strdup(fp_estimator_spec(s->est[e]))) != NULL;
  if (!ok) {
    fp_compare_result_destroy(&r);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for the comparison results");
  }
  memcpy(r->sizes, o->sizes, r->S * sizeof *r->sizes);
  memcpy(r->t, series->t, r->T * sizeof *r->t);
  memcpy(r->kl, series->kl, r->T * sizeof *r->kl);
  memcpy(r->dkl_dt, series->dkl_dt, r->T * sizeof *r->dkl_dt);
  r->estimates = s->estimates; /* moved */
  s->estimates = NULL;
  *out = r;
  return FP_OK;
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

/* The comparison; with open_dir != NULL the output directory open_dir is
 * taken (*opened) after every option and estimator has been checked and
 * before the PDE runs, and the run writes into it. */
static int compare_run_unguarded(const fp_case *c, const fp_compare_options *opt,
                                 const fp_run_options *run, const char *open_dir,
                                 fp_output_dir **opened, fp_compare_result **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_compare_run: out is NULL");
  *out = NULL;
  if (!c || !opt || !run) return fp_fail(err, FP_ERR_ARG, "fp_compare_run: NULL argument");
  if (opt->nsizes == 0 || opt->nestimators == 0)
    return fp_fail(err, FP_ERR_ARG, "compare needs at least one sample size and one estimator");
  if (opt->replicas < 2) return fp_fail(err, FP_ERR_ARG, "compare needs at least 2 replicas (got %zu)", opt->replicas);
  size_t nmax = 0;
  for (size_t n = 0; n < opt->nsizes; n++) {
    if (opt->sizes[n] < 2) return fp_fail(err, FP_ERR_ARG, "sample sizes must be >= 2 (got %zu)", opt->sizes[n]);
    nmax = opt->sizes[n] > nmax ? opt->sizes[n] : nmax;
  }
  compare_state s = {.c = c, .opt = opt, .T = c->n_output_times, .interrupted = run->interrupted};
  fp_run_options ro = *run;
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

  if (open_dir) {
    rc = fp_output_dir_open(open_dir, opened, err);
    if (rc != FP_OK) goto out_free;
    ro.held_dir = *opened;
  }
  rc = fp_density_series_collect(c, &ro, &series, err);
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
  if (rc == FP_OK) rc = make_result(&s, &series, out, err);
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

/* Public entry points: GSL's handler off for the call (core/gsl_guard_impl.h). */

int fp_compare_run(const fp_case *c, const fp_compare_options *opt, const fp_run_options *run,
                   fp_compare_result **out, fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = compare_run_unguarded(c, opt, run, NULL, NULL, out, err);
  fp_gsl_guard_end(guard);
  return rc;
}

int fp_compare_case(const fp_case *c, const fp_compare_options *opt, const fp_run_options *run,
                    const char *dir, FILE *report, fp_error *err)
{
  if (!run || !dir == !run->held_dir)
    return fp_fail(err, FP_ERR_ARG, "fp_compare_case: give either dir or run->held_dir");
  /* The directory is held from before the PDE run until the last table is
   * written: no other run can write into it meanwhile, and its manifest lists
   * the tables too. */
  fp_output_dir *own = NULL;
  fp_compare_result *r = NULL;
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = compare_run_unguarded(c, opt, run, run->held_dir ? NULL : dir, &own, &r, err);
  fp_gsl_guard_end(guard);
  fp_output_dir *d = run->held_dir ? run->held_dir : own;
  if (rc == FP_OK) rc = fp_compare_write_dir(r, d, err);
  if (rc == FP_OK && report) rc = fp_compare_print(r, report, err);
  fp_compare_result_destroy(&r);
  if (rc != FP_OK && own) (void)fp_run_mark_failed(own, rc, err ? err->message : NULL, NULL);
  int crc = fp_output_dir_close(&own, rc == FP_OK ? err : NULL);
  return rc == FP_OK ? crc : rc;
}
