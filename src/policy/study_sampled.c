/* fpentropy: retraining policies driven by sample estimates, and the debt filter's calibration
 * on a case (see policy_study.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/policy/oracle.h>
#include <fpentropy/io/output.h>
#include <fpentropy/policy/policy.h>
#include <fpentropy/policy/policy_study.h>
#include <fpentropy/problem/reference.h>
#include <fpentropy/streams/estimator.h>
#include <fpentropy/streams/particles.h>
#include <fpentropy/fv/operator.h>

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"
#include "core/gsl_guard_impl.h"
#include "io/output_impl.h"
#include "streams/sampling_impl.h"

/* ------------------------------------------------------------------------ */
/* Policies driven by sample estimates                                       */
/* ------------------------------------------------------------------------ */

typedef struct sampled_state {
  const fp_case *c;
  const fp_density_series *s;
  const fp_retrain_problem *pb;
  const fp_policy_study_options *opt;
  const fp_policy_sampled_options *so;
  fp_policy **policies;
  size_t nspecs;
  fp_estimator *est;
  double *positions;      /* T * N * dim of the current replica */
  size_t *alive;          /* T */
  double *ref_points;     /* N * dim: a sample of q_ref */
  double *cdf;            /* grid q cumulative masses */
  gsl_rng *rng;
  bool **exact_schedule;  /* per policy: the exact-driven schedule */
  double *exact_cost;     /* per policy */
  double oracle_cost;
  bool *oracle_schedule;
  bool *schedule;
  double *observed, *mismatch;
  /* per policy sums over replicas: value, value^2 */
  double (*acc)[6][2];    /* retrains, cost ratio exact, cost ratio oracle, delay, extra, missed */
  size_t *delay_count;
  volatile sig_atomic_t *interrupted;
  fp_error cb_err;
  int status;
  double *frozen;         /* calibration: R * T estimates under a frozen deployment, or NULL */
} sampled_state;

enum { ACC_RETRAINS, ACC_RATIO_EXACT, ACC_RATIO_ORACLE, ACC_DELAY, ACC_EXTRA, ACC_MISSED, ACC_COUNT };

static int sample_signal(void *ctx, size_t k, size_t last, double exact, fp_policy_obs *obs, fp_error *err)
{
  sampled_state *st = ctx;
  (void)exact;
  const int dim = st->c->grid.dim;
  const size_t N = st->so->particles;
  fp_samples p = {dim, st->alive[k], st->positions + k * N * (size_t)dim};
  fp_kl_reference ref;
  memset(&ref, 0, sizeof ref);
  if (last == FP_RETRAIN_NONE)
    ref.sample = (fp_samples){dim, N, st->ref_points};
  else
    ref.sample = (fp_samples){dim, st->alive[last], st->positions + last * N * (size_t)dim};
  for (int a = 0; a < FP_MAX_DIM; a++) ref.lower[a] = st->c->grid.lower[a], ref.upper[a] = st->c->grid.upper[a];
  double kl = 0.0;
  int rc = fp_estimator_kl(st->est, &p, &ref, &kl, err);
  if (rc != FP_OK) return rc;
  obs->divergence = kl;
  return FP_OK;
}

/* Match sampled retrains to exact ones: each exact retrain e_i owns the
 * window from the midpoint to its predecessor to the midpoint to its
 * successor; the first sampled retrain in the window is its match (delay =
 * sampled - exact, in periods), an exact retrain without one is missed, and
 * sampled retrains left unmatched are extra. */
static void match_retrains(const bool *exact, const bool *sampled, size_t T, double *delay_sum,
                           size_t *delays, size_t *extra, size_t *missed)
{
  size_t nsampled = 0, matched = 0;
  for (size_t k = 0; k < T; k++) nsampled += sampled[k];
  *delays = 0;
  *delay_sum = 0.0;
  *missed = 0;
  size_t prev = 0;
  bool have_prev = false;
  for (size_t k = 0; k < T; k++) {
    if (!exact[k]) continue;
    size_t next = T;
    for (size_t q = k + 1; q < T; q++)
      if (exact[q]) {
        next = q;
        break;
      }
    size_t lo = have_prev ? (prev + k) / 2 + 1 : 0, hi = next < T ? (k + next) / 2 : T - 1;
    bool found = false;
    for (size_t q = lo; q <= hi && q < T; q++)
      if (sampled[q]) {
        *delay_sum += (double)q - (double)k;
        (*delays)++;
        matched++;
        found = true;
        break;
      }
    if (!found) (*missed)++;
    prev = k;
    have_prev = true;
  }
  *extra = nsampled - matched;
}

static void accumulate(double acc[2], double v)
{
  acc[0] += v;
  acc[1] += v * v;
}

static int run_replica_policies(sampled_state *st, fp_error *err)
{
  const size_t T = st->pb->T;
  for (size_t i = 0; i < st->nspecs; i++) {
    fp_policy_reset(st->policies[i]);
    fp_retrain_cost cost;
    int rc = fp_policy_run_signal(st->policies[i], st->pb, st->opt->cost, sample_signal, st, st->schedule,
                                  st->observed, st->mismatch, &cost, err);
    if (rc != FP_OK) return rc;
    double delay_sum;
    size_t delays, extra, missed;
    match_retrains(st->exact_schedule[i], st->schedule, T, &delay_sum, &delays, &extra, &missed);
    accumulate(st->acc[i][ACC_RETRAINS], (double)cost.n_retrains);
    accumulate(st->acc[i][ACC_RATIO_EXACT], st->exact_cost[i] > 0 ? cost.cost / st->exact_cost[i] : NAN);
    accumulate(st->acc[i][ACC_RATIO_ORACLE], st->oracle_cost > 0 ? cost.cost / st->oracle_cost : NAN);
    if (delays) {
      accumulate(st->acc[i][ACC_DELAY], delay_sum / (double)delays);
      st->delay_count[i]++;
    }
    accumulate(st->acc[i][ACC_EXTRA], (double)extra);
    accumulate(st->acc[i][ACC_MISSED], (double)missed);
  }
  return FP_OK;
}

static int keep_particles(const fp_particle_snapshot *snap, void *ctx)
{
  sampled_state *st = ctx;
  const size_t N = st->so->particles;
  const int dim = snap->dim;
  if (snap->output == 0) {
    /* a fresh sample of q_ref for this replica */
    const fp_grid *g = &st->c->grid;
    gsl_rng_set(st->rng, (unsigned long)(st->so->seed * 2654435761UL + snap->replica * 40503UL + 777UL));
    for (size_t i = 0; i < N; i++) fp_grid_draw_point(g, st->cdf, st->rng, st->ref_points + i * (size_t)dim);
  }
  memcpy(st->positions + snap->output * N * (size_t)dim, snap->x, snap->alive * (size_t)dim * sizeof *snap->x);
  st->alive[snap->output] = snap->alive;
  if (snap->output + 1 == st->pb->T) {
    if (st->frozen) {
      /* calibration: the deployed model is never retrained */
      for (size_t k = 0; k < st->pb->T && st->status == FP_OK; k++) {
        fp_policy_obs obs = {0};
        st->status = sample_signal(st, k, FP_RETRAIN_NONE, 0.0, &obs, &st->cb_err);
        st->frozen[snap->replica * st->pb->T + k] = obs.divergence;
      }
    } else {
      st->status = run_replica_policies(st, &st->cb_err);
    }
    if (st->status != FP_OK) return 1;
  }
  return st->interrupted && *st->interrupted ? 1 : 0;
}

static void mean_se(const double acc[2], size_t n, double *mean, double *se)
{
  *mean = n ? acc[0] / (double)n : NAN;
  double var = n > 1 ? (acc[1] - (double)n * *mean * *mean) / (double)(n - 1) : NAN;
  *se = n > 1 && var > 0 ? sqrt(var / (double)n) : (n > 1 ? 0.0 : NAN);
}

/* The sampled study; with `frozen` (R * T) it only records the estimates
 * under a frozen deployment (calibration) and writes nothing. */
struct fp_policy_sampled_result {
  size_t n;
  fp_sampled_row *rows;
  char **labels;      /* owned */
  char estimator[256];
  size_t particles, replicas;
};

void fp_policy_sampled_destroy(fp_policy_sampled_result **r)
{
  if (!r || !*r) return;
  if ((*r)->labels)
    for (size_t i = 0; i < (*r)->n; i++) free((*r)->labels[i]);
  free((*r)->labels);
  free((*r)->rows);
  free(*r);
  *r = NULL;
}

size_t fp_policy_sampled_count(const fp_policy_sampled_result *r) { return r ? r->n : 0; }

const fp_sampled_row *fp_policy_sampled_row(const fp_policy_sampled_result *r, size_t i)
{
  return r && i < r->n ? &r->rows[i] : NULL;
}

static int sampled_write(const fp_policy_sampled_result *r, const fp_output_target *to, fp_error *err)
{
  fp_output_file *f = NULL;
  char comment[512];
  snprintf(comment, sizeof comment, "%zu replicas of %zu particles, estimator %s; mean and Monte "
           "Carlo standard error per replica", r->replicas, r->particles, r->estimator);
  int rc = fp_output_target_record(to, "policy_sampled.csv", true, err);
  if (rc == FP_OK)
    rc = fp_output_file_open_in(fp_output_target_dir(to), "policy_sampled.csv", comment, NULL, 0, &f, err);
  if (rc != FP_OK) return rc;
  FILE *out = fp_output_file_stream(f);
  fprintf(out, "policy,exact_retrains,exact_cost,oracle_cost,retrains,retrains_se,cost_ratio_exact,cost_ratio_exact_se,"
               "cost_ratio_oracle,cost_ratio_oracle_se,delay,delay_se,extra,extra_se,missed,missed_se\n");
  for (size_t i = 0; i < r->n; i++) {
    const fp_sampled_row *w = &r->rows[i];
    fprintf(out, "\"%s\",%zu,%.17g,%.17g", w->label, w->exact_retrains, w->exact_cost, w->oracle_cost);
    for (int q = 0; q < FP_SAMPLED_STATS; q++) fprintf(out, ",%.17g,%.17g", w->mean[q], w->se[q]);
    fputc('\n', out);
  }
  return fp_output_file_commit(&f, err);
}

int fp_policy_sampled_write(const fp_policy_sampled_result *r, const char *dir, fp_error *err)
{
  if (!r || !dir) return fp_fail(err, FP_ERR_ARG, "fp_policy_sampled_write: NULL argument");
  fp_output_target to = {.dir = dir};
  int rc = fp_output_mkdir(dir, err);
  return rc == FP_OK ? sampled_write(r, &to, err) : rc;
}

int fp_policy_sampled_write_dir(const fp_policy_sampled_result *r, fp_output_dir *d, fp_error *err)
{
  if (!r || !d) return fp_fail(err, FP_ERR_ARG, "fp_policy_sampled_write_dir: NULL argument");
  fp_output_target to = {.held = d};
  return sampled_write(r, &to, err);
}

int fp_policy_sampled_print(const fp_policy_sampled_result *r, FILE *report, fp_error *err)
{
  if (!r || !report) return fp_fail(err, FP_ERR_ARG, "fp_policy_sampled_print: NULL argument");
  fprintf(report, "\nsample-driven (%s, N = %zu, R = %zu): mean ± standard error over replicas\n%-36s %14s %18s %18s %14s %12s %12s\n",
          r->estimator, r->particles, r->replicas, "policy", "retrains", "cost/exact", "cost/oracle",
          "delay", "extra", "missed");
  for (size_t i = 0; i < r->n; i++) {
    const double *m = r->rows[i].mean, *e = r->rows[i].se;
    fprintf(report, "%-36.36s %6.2f ± %-5.2f %8.3f ± %-7.3f %8.3f ± %-7.3f %6.2f ± %-5.2f %5.2f ± %-4.2f %5.2f ± %-4.2f\n",
            r->rows[i].label, m[0], e[0], m[1], e[1], m[2], e[2], m[3], e[3], m[4], e[4], m[5], e[5]);
  }
  if (ferror(report)) return fp_fail(err, FP_ERR_IO, "cannot write the sampled study report");
  return FP_OK;
}

/* The sampled study; with `frozen` (R * T) it only records the estimates
 * under a frozen deployment (calibration) and *result stays NULL. */
static int sampled_run(const fp_case *c, const fp_density_series *s, const double *K,
                       const char *const *specs, size_t nspecs, const fp_policy_study_options *opt,
                       const fp_policy_sampled_options *so, double *frozen,
                       fp_policy_sampled_result **result, fp_error *err)
{
  if (result) *result = NULL;
  if (so->replicas < 2 || so->particles < 2)
    return fp_fail(err, FP_ERR_ARG, "the sampled policy study needs >= 2 replicas and >= 2 particles");
  fp_retrain_problem pb;
  fp_density_series_problem(s, K, &pb);
  const size_t T = s->T;
  const int dim = c->grid.dim;
  sampled_state st = {.c = c, .s = s, .pb = &pb, .opt = opt, .so = so, .nspecs = nspecs,
                      .interrupted = so->interrupted, .frozen = frozen};
  fp_operator *op = NULL;
  fp_reference ref = {0};
  fp_particles *particles = NULL;
  int rc = FP_OK;
  st.policies = calloc(nspecs + 1, sizeof *st.policies);
  st.exact_schedule = calloc(nspecs + 1, sizeof *st.exact_schedule);
  st.exact_cost = calloc(nspecs + 1, sizeof *st.exact_cost);
  st.acc = calloc(nspecs + 1, sizeof *st.acc);
  st.delay_count = calloc(nspecs + 1, sizeof *st.delay_count);
  st.positions = malloc(T * so->particles * (size_t)dim * sizeof *st.positions);
  st.alive = calloc(T, sizeof *st.alive);
  st.ref_points = malloc(so->particles * (size_t)dim * sizeof *st.ref_points);
  st.cdf = malloc(c->grid.ncells * sizeof *st.cdf);
  st.oracle_schedule = malloc(T * sizeof *st.oracle_schedule);
  st.schedule = malloc(T * sizeof *st.schedule);
  st.observed = malloc(T * sizeof *st.observed);
  st.mismatch = malloc(T * sizeof *st.mismatch);
  st.rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!st.policies || !st.exact_schedule || !st.exact_cost || !st.acc || !st.delay_count || !st.positions ||
      !st.alive || !st.ref_points || !st.cdf || !st.oracle_schedule || !st.schedule || !st.observed ||
      !st.mismatch || !st.rng) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the sampled policy study");
    goto out_free;
  }
  rc = fp_estimator_create(so->estimator, &st.est, err);
  for (size_t i = 0; i < nspecs && rc == FP_OK; i++) {
    rc = fp_policy_create(specs[i], &st.policies[i], err);
    if (rc == FP_OK) {
      st.exact_schedule[i] = malloc(T * sizeof **st.exact_schedule);
      if (!st.exact_schedule[i]) rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
    }
    fp_retrain_cost cost = {0};
    if (rc == FP_OK)
      rc = fp_policy_run_exact(st.policies[i], &pb, opt->cost, st.exact_schedule[i], st.observed, st.mismatch,
                               &cost, err);
    st.exact_cost[i] = cost.cost;
  }
  fp_retrain_cost oracle = {0};
  if (rc == FP_OK && !frozen) rc = fp_oracle_solve(&pb, opt->cost, st.oracle_schedule, &oracle, err);
  st.oracle_cost = oracle.cost;
  if (rc == FP_OK) rc = fp_operator_create(c, &op, err);
  if (rc == FP_OK) rc = fp_reference_init(&ref, c, op, err);
  if (rc != FP_OK) goto out_free;
  fp_grid_cumulative_mass(&c->grid, ref.q, st.cdf);

  fp_particle_options po = {.particles = so->particles, .replicas = so->replicas, .seed = so->seed,
                            .dt = so->dt, .threads = so->threads};
  rc = fp_particles_create(c, &po, &particles, err);
  if (rc == FP_OK) {
    st.status = FP_OK;
    fp_error_clear(&st.cb_err);
    rc = fp_particles_run(particles, keep_particles, &st, err);
    if (st.status != FP_OK) rc = fp_fail(err, st.status, "%s", st.cb_err.message);
  }
  if (rc == FP_OK && !frozen && result) {
    fp_policy_sampled_result *r = calloc(1, sizeof *r);
    if (r) {
      r->n = nspecs;
      r->rows = calloc(nspecs ? nspecs : 1, sizeof *r->rows);
      r->labels = calloc(nspecs ? nspecs : 1, sizeof *r->labels);
    }
    if (!r || !r->rows || !r->labels) {
      fp_policy_sampled_destroy(&r);
      rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the sampled study's results");
      goto out_free;
    }
    snprintf(r->estimator, sizeof r->estimator, "%s", fp_estimator_spec(st.est));
    r->particles = so->particles;
    r->replicas = so->replicas;
    for (size_t i = 0; i < nspecs && rc == FP_OK; i++) {
      fp_sampled_row *w = &r->rows[i];
      r->labels[i] = strdup(fp_policy_spec(st.policies[i]));
      if (!r->labels[i]) rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
      w->label = r->labels[i];
      for (int q = 0; q < ACC_COUNT; q++)
        mean_se(st.acc[i][q], q == ACC_DELAY ? st.delay_count[i] : so->replicas, &w->mean[q], &w->se[q]);
      for (size_t k = 0; k < T; k++) w->exact_retrains += st.exact_schedule[i][k];
      w->exact_cost = st.exact_cost[i];
      w->oracle_cost = st.oracle_cost;
    }
    if (rc == FP_OK)
      *result = r;
    else
      fp_policy_sampled_destroy(&r);
  }
out_free:
  if (st.policies)
    for (size_t i = 0; i < nspecs; i++) fp_policy_destroy(&st.policies[i]);
  if (st.exact_schedule)
    for (size_t i = 0; i < nspecs; i++) free(st.exact_schedule[i]);
  free(st.policies);
  free(st.exact_schedule);
  free(st.exact_cost);
  free(st.acc);
  free(st.delay_count);
  free(st.positions);
  free(st.alive);
  free(st.ref_points);
  free(st.cdf);
  free(st.oracle_schedule);
  free(st.schedule);
  free(st.observed);
  free(st.mismatch);
  if (st.rng) gsl_rng_free(st.rng);
  fp_estimator_destroy(&st.est);
  fp_particles_destroy(&particles);
  fp_reference_clear(&ref);
  fp_operator_destroy(&op);
  return rc;
}

static int policy_study_sampled_unguarded(const fp_case *c, const fp_density_series *s, const double *K,
                            const char *const *specs, size_t nspecs,
                            const fp_policy_study_options *opt,
                            const fp_policy_sampled_options *so, const char *dir, FILE *report,
                            fp_error *err)
{
  fp_policy_sampled_result *r = NULL;
  int rc = sampled_run(c, s, K, specs, nspecs, opt, so, NULL, &r, err);
  if (rc == FP_OK && dir) rc = fp_policy_sampled_write(r, dir, err);
  if (rc == FP_OK && report) rc = fp_policy_sampled_print(r, report, err);
  fp_policy_sampled_destroy(&r);
  return rc;
}

static int debt_calibrate_case_unguarded(const fp_case *c, const fp_density_series *s, const double *K,
                           const fp_policy_sampled_options *so, double stale_threshold,
                           fp_debt_emissions *out, fp_error *err)
{
  const size_t T = s->T;
  const size_t R = so ? so->replicas : 1;
  double *signal = malloc(R * T * sizeof *signal);
  int *stale = malloc(R * T * sizeof *stale);
  int rc = FP_OK;
  if (!signal || !stale) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the calibration series");
    goto out_free;
  }
  if (so) {
    fp_policy_study_options opt = {.cost = 0.0, .kappa = 1.0, .stale_threshold = stale_threshold};
    rc = sampled_run(c, s, K, NULL, 0, &opt, so, signal, NULL, err);
  } else {
    memcpy(signal, s->kl, T * sizeof *signal);
  }
  /* the stale label is the true state: the exact mismatch of the frozen
   * deployment against the threshold, the same for every replica */
  for (size_t r = 0; r < R; r++)
    for (size_t k = 0; k < T; k++) stale[r * T + k] = s->kl[k] > stale_threshold;
  if (rc == FP_OK) rc = fp_debt_calibrate(signal, stale, R * T, out, err);
out_free:
  free(signal);
  free(stale);
  return rc;
}

/* Public entry points: GSL's handler off for the call (core/gsl_guard_impl.h). */

int fp_policy_study_sampled(const fp_case *c, const fp_density_series *s, const double *K,
                            const char *const *specs, size_t nspecs,
                            const fp_policy_study_options *opt,
                            const fp_policy_sampled_options *so, const char *dir, FILE *report,
                            fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = policy_study_sampled_unguarded(c, s, K, specs, nspecs, opt, so, dir, report, err);
  fp_gsl_guard_end(guard);
  return rc;
}

int fp_debt_calibrate_case(const fp_case *c, const fp_density_series *s, const double *K,
                           const fp_policy_sampled_options *so, double stale_threshold,
                           fp_debt_emissions *out, fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = debt_calibrate_case_unguarded(c, s, K, so, stale_threshold, out, err);
  fp_gsl_guard_end(guard);
  return rc;
}

int fp_policy_study_sampled_run(const fp_case *c, const fp_density_series *s, const double *K,
                                const char *const *specs, size_t nspecs,
                                const fp_policy_study_options *opt,
                                const fp_policy_sampled_options *so,
                                fp_policy_sampled_result **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_policy_study_sampled_run: out is NULL");
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = sampled_run(c, s, K, specs, nspecs, opt, so, NULL, out, err);
  fp_gsl_guard_end(guard);
  return rc;
}
