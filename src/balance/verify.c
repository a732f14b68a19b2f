/* fpentropy: verification of Appendix A on a case (see verify.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Tolerances.  Discrete identities are checked against round-off:
 * ROUNDOFF_ULPS ulps of `scale`, the summed magnitude of the terms that
 * cancel (balance.h).  Conservation is the 1e-12 relative.  The
 * dense-output derivative is a time-integration estimate: it must agree to
 * a multiple of rtol. */
#include <fpentropy/balance/verify.h>
#include <fpentropy/time/estimate.h>

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"
#include "core/gsl_guard_impl.h"

#define ROUNDOFF_ULPS 1024.0
#define MASS_TOLERANCE 1e-12
#define DENSE_OUTPUT_RTOL_FACTOR 100.0

typedef struct row_list {
  size_t count, capacity;
  fp_balance_row *rows;
  bool failed_alloc;
} row_list;

static int collect_row(const fp_balance_row *row, void *ctx)
{
  row_list *list = ctx;
  if (list->count == list->capacity) {
    size_t cap = list->capacity ? 2 * list->capacity : 64;
    fp_balance_row *grown = realloc(list->rows, cap * sizeof *grown);
    if (!grown) {
      list->failed_alloc = true;
      return 1;
    }
    list->rows = grown;
    list->capacity = cap;
  }
  list->rows[list->count++] = *row;
  return 0;
}

/* Tolerances of the checks that depend on the run, all derived in
 * derive_tolerances() (one place, so that each has one stated reason). */
typedef struct tolerances {
  double mass;        /* conservation: relative drift of M(t) */
  double mass_rise;   /* absorbing: absolute rise of M between outputs */
  double current;     /* |J|_1 at or below this is round-off (zero) */
  double sigma;       /* sigma_tot (or a face term) at or below this in magnitude is round-off */
} tolerances;

struct fp_verify_report {
  char header[512];
  size_t count, capacity;
  fp_verify_check *checks;
  fp_verify_summary summary;
  bool failed_alloc;
};

typedef struct report {
  fp_verify_report *out;
  tolerances tol;
} report;

/* - Conservation: the scheme conserves mass exactly; what remains is the
 *   round-off of each step's update, about eps |dp|_1 = eps dt |div J|_1 <=
 *   eps dt (2 dim / h) |J|_1 per step.  Summed over the steps this is
 *   eps (2 dim / h) int |J|_1 dt, taken by the trapezoid rule over the
 *   output times (an overestimate for currents that decay between outputs)
 *   with a safety factor 16 for the stages and Newton iterations, and never
 *   below the 1e-12.  A stiff case (drift -1000 x, 2000 cells) has
 *   |J|_1 = 2e5 at t = 0 and drifts 8e-11: that is round-off, not a bug.
 * - Absorbing walls: M may "rise" by round-off (16 eps M) and by what the
 *   integrator does not control, atol per cell, i.e. atol |Omega|: after all
 *   mass is absorbed the mass series is noise at 1e-40.
 * - A.15: J is at round-off when |J|_1 <= ULPS eps max_t |J|_1; sigma_tot is
 *   quadratic in J, so it (and each face term) is at round-off when
 *   |sigma| <= (ULPS eps)^2 max_t sigma_tot.  Using the same ratio for both
 *   keeps "sigma_tot = 0 exactly where J = 0" consistent. */
static tolerances derive_tolerances(const fp_case *c, const row_list *l)
{
  tolerances t = {MASS_TOLERANCE, 0.0, 0.0, 0.0};
  const fp_grid *g = &c->grid;
  double hmin = INFINITY, volume = 1.0;
  for (int a = 0; a < g->dim; a++) {
    hmin = fmin(hmin, g->h[a]);
    volume *= g->upper[a] - g->lower[a];
  }
  double integral = 0.0, jmax = 0.0, smax = 0.0;
  for (size_t k = 0; k < l->count; k++) {
    jmax = fmax(jmax, l->rows[k].current_l1);
    smax = fmax(smax, fabs(l->rows[k].sigma_tot));
    if (k > 0)
      integral += 0.5 * (l->rows[k].current_l1 + l->rows[k - 1].current_l1) *
                  (l->rows[k].t - l->rows[k - 1].t);
  }
  double m0 = l->count ? fabs(l->rows[0].mass) : 1.0;
  double roundoff = 16.0 * DBL_EPSILON * (2.0 * g->dim / hmin) * integral / fmax(m0, DBL_MIN);
  t.mass = fmax(MASS_TOLERANCE, roundoff);
  t.mass_rise = c->atol * volume;
  double u = ROUNDOFF_ULPS * DBL_EPSILON;
  t.current = u * jmax;
  /* sigma ~ J^2 / p: where J is round-off (u jmax) sigma is round-off relative
   * to its own maximum, not u^2 smax, because cells with p ~ 0 (the far tails)
   * divide the squared current by p (seen at 2000 cells with drift -1000 x). */
  t.sigma = u * smax;
  return t;
}

static void line(report *r, const char *verdict, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void line(report *r, const char *verdict, const char *name, const char *fmt, ...)
{
  fp_verify_report *rep = r->out;
  fp_verdict v = strcmp(verdict, "PASS") == 0 ? FP_VERDICT_PASS
                 : strcmp(verdict, "FAIL") == 0 ? FP_VERDICT_FAIL : FP_VERDICT_INFO;
  if (v != FP_VERDICT_INFO) rep->summary.checks++;
  if (v == FP_VERDICT_FAIL) rep->summary.failed++;
  if (rep->count == rep->capacity) {
    size_t cap = rep->capacity ? 2 * rep->capacity : 16;
    fp_verify_check *grown = realloc(rep->checks, cap * sizeof *grown);
    if (!grown) {
      rep->failed_alloc = true;
      return;
    }
    rep->checks = grown;
    rep->capacity = cap;
  }
  fp_verify_check *c = &rep->checks[rep->count++];
  c->verdict = v;
  snprintf(c->name, sizeof c->name, "%s", name);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->detail, sizeof c->detail, fmt, ap);
  va_end(ap);
}

static const char *verdict(bool ok) { return ok ? "PASS" : "FAIL"; }

static void check_conservation(report *r, const row_list *l, const fp_run_result *res)
{
  if (res->absorbing) {
    bool decreasing = true;
    for (size_t k = 1; k < l->count; k++)
      decreasing &= l->rows[k].mass <= l->rows[k - 1].mass * (1.0 + 16 * DBL_EPSILON) + r->tol.mass_rise;
    line(r, verdict(decreasing), "mass (absorbing)",
         "non-increasing: mass %.6g -> %.6g (an absorbing wall removes mass)", l->rows[0].mass,
         l->rows[l->count - 1].mass);
    return;
  }
  line(r, verdict(res->max_mass_drift <= r->tol.mass), "conservation",
       "max |M(t) - M(0)| / M(0) = %.2e  (tol %.1e: round-off of the steps)", res->max_mass_drift,
       r->tol.mass);
}

static void check_positivity(report *r, const row_list *l, const fp_run_result *res)
{
  double minp = INFINITY, at = 0.0, maxp = 0.0;
  size_t nonpositive = 0;
  double nonpositive_mass = 0.0;
  for (size_t k = 0; k < l->count; k++) {
    if (l->rows[k].min_p < minp) minp = l->rows[k].min_p, at = l->rows[k].t;
    maxp = fmax(maxp, l->rows[k].max_p);
    if (l->rows[k].nonpositive_cells > nonpositive) nonpositive = l->rows[k].nonpositive_cells;
    if (l->rows[k].nonpositive_mass < nonpositive_mass) nonpositive_mass = l->rows[k].nonpositive_mass;
  }
  line(r, verdict(minp >= 0.0), "positivity",
       "min p = %.3e at t = %g (%.1e of max p)  (%s: p >= 0 required)", minp, at,
       minp / fmax(maxp, DBL_MIN),
       res->full_tensor ? "monotone full-tensor scheme, Selling edges" : "two-point fluxes");
  if (nonpositive > 0)
    line(r, "INFO", "p <= 0",
         "up to %zu cells hold p <= 0 (mass %.2e): they have no log p; kl takes 0 log 0 = 0 "
         "there (no bias), the rate columns log p = log(%.1e), the same in every column so the "
         "identities still close, but sigma_tot in those cells is not meaningful",
         nonpositive, nonpositive_mass, FP_BALANCE_LOG_SUBSTITUTE);
}

static void check_identities(report *r, const row_list *l, const fp_run_result *res)
{
  (void)res;
  double worst7 = 0.0, worst13 = 0.0;
  for (size_t k = 0; k < l->count; k++) {
    const fp_balance_row *w = &l->rows[k];
    /* scale is the summed magnitude of the face terms, so the ratio stays
     * meaningful when the rates themselves are ~0; scale = 0 means every
     * term is 0 and so is the residual */
    double s = w->scale > 0.0 ? w->scale : DBL_MIN;
    worst7 = fmax(worst7, fabs(w->residual_a7) / s);
    worst13 = fmax(worst13, fabs(w->residual) / s);
  }
  double tol = ROUNDOFF_ULPS * DBL_EPSILON;
  line(r, verdict(worst7 <= tol), "A.7 (discrete)",
       "max |dkl_dt - flux_form| / scale = %.2e  (tol %.1e: round-off)", worst7, tol);
  line(r, verdict(worst13 <= tol), "A.13 (discrete)",
       "max |dkl_dt + sigma_tot - q_hk - boundary| / scale = %.2e  (tol %.1e; sigma_tot and "
       "q_hk each summed face by face)", worst13, tol);
}

static void check_a15(report *r, const row_list *l, const fp_run_result *res)
{
  (void)res;
  double min_sigma = INFINITY, min_face_rel = INFINITY, min_face = INFINITY;
  bool equality_consistent = true;
  size_t zero_rows = 0;
  double tol = ROUNDOFF_ULPS * DBL_EPSILON;
  for (size_t k = 0; k < l->count; k++) {
    const fp_balance_row *w = &l->rows[k];
    double s = w->scale > 0.0 ? w->scale : DBL_MIN;
    min_sigma = fmin(min_sigma, w->sigma_tot / s);
    /* a face term F_f X_f |f| is >= 0 exactly; computed, F_f and X_f each
     * carry round-off, so a term of -2e-31 where F ~ X ~ 0 is round-off:
     * compare with the scale of the row */
    min_face_rel = fmin(min_face_rel, w->min_face_sigma / s);
    min_face = fmin(min_face, w->min_face_sigma);
    /* sigma_tot = 0 exactly when the current vanishes: both at round-off
     * or both not. */
    bool sigma_zero = w->sigma_tot <= r->tol.sigma;
    bool current_zero = w->current_l1 <= r->tol.current;
    if (sigma_zero) zero_rows++;
    /* Inconsistent: J at round-off while sigma is not, or J clearly nonzero
     * while sigma is at round-off of round-off (sigma ~ J^2: a small J above
     * round-off may give a sigma below u smax). */
    bool sigma_tiny = w->sigma_tot <= r->tol.sigma * ROUNDOFF_ULPS * DBL_EPSILON;
    if (w->scale > 0.0 && ((current_zero && !sigma_zero) || (!current_zero && sigma_tiny)))
      equality_consistent = false;
  }
  bool ok = min_sigma >= -tol && min_face_rel >= -tol;
  line(r, verdict(ok), "A.15 sigma_tot >= 0",
       "min sigma_tot = %.3e scale, min face term F_f X_f |f| = %.3e (%.1e scale; >= 0 face by "
       "face up to round-off, tol -%.1e scale)",
       min_sigma, min_face, min_face_rel, tol);
  line(r, verdict(equality_consistent), "A.15 equality",
       "sigma_tot = 0 exactly where J = 0 (at %zu of %zu outputs)", zero_rows, l->count);
}

static void check_dense_output(report *r, const row_list *l, const fp_run_result *res)
{
  /* relative to the largest rate, plus the round-off of the terms of a
   * row: where dkl_dt is ~0 at every output (a run at equilibrium), both
   * numbers are round-off and their ratio means nothing */
  double worst = 0.0, size = 0.0, floor_scale = 0.0;
  for (size_t k = 0; k < l->count; k++) size = fmax(size, fabs(l->rows[k].dkl_dt));
  for (size_t k = 0; k < l->count; k++)
    floor_scale = fmax(floor_scale, ROUNDOFF_ULPS * DBL_EPSILON * l->rows[k].scale);
  for (size_t k = 0; k < l->count; k++) worst = fmax(worst, fabs(l->rows[k].dkl_dt_fd - l->rows[k].dkl_dt));
  double rel = worst / fmax(size + floor_scale / (DENSE_OUTPUT_RTOL_FACTOR * res->rtol), DBL_MIN),
         tol = DENSE_OUTPUT_RTOL_FACTOR * res->rtol;
  line(r, verdict(rel <= tol), "d/dt independent",
       "max |dkl_dt(dense output) - dkl_dt| / max|dkl_dt| = %.2e  (tol %.0f rtol = %.1e)", rel,
       DENSE_OUTPUT_RTOL_FACTOR, tol);
}

static void check_remark1(report *r, const row_list *l, const fp_run_result *res)
{
  bool monotone = true;
  double worst_rise = 0.0;
  for (size_t k = 1; k < l->count; k++) {
    double rise = l->rows[k].kl - l->rows[k - 1].kl;
    /* round-off of kl is relative to its terms, not to kl (which may be ~0) */
    double tol = ROUNDOFF_ULPS * DBL_EPSILON *
                 fmax(fmax(l->rows[k - 1].kl_scale, l->rows[k].kl_scale), DBL_MIN);
    if (rise > tol) monotone = false;
    worst_rise = fmax(worst_rise, rise);
  }
  if (res->reference_stationary && res->time_dependent) {
    line(r, "INFO", "Remark 1",
         "q_ref is the stationary density of the discrete dynamics at t = 0, but the fields "
         "depend on t, so it is not stationary later; kl %s",
         monotone ? "happens to be non-increasing" : "rises at some outputs (allowed)");
  } else if (res->reference_stationary && res->split) {
    double worst = 0.0;
    for (size_t k = 0; k < l->count; k++)
      worst = fmax(worst, fabs(l->rows[k].dkl_dt + l->rows[k].sigma_na) / fmax(l->rows[k].scale, DBL_MIN));
    double tol = ROUNDOFF_ULPS * DBL_EPSILON;
    line(r, verdict(monotone && worst <= tol), "Remark 1 (q_ref=p_ss)",
         "kl non-increasing (largest rise %.2e); max |dkl_dt + sigma_na| / scale = %.2e (tol %.1e)",
         worst_rise, worst, tol);
  } else if (res->reference_stationary) {
    line(r, verdict(monotone), "Remark 1 (q_ref=p_ss)",
         "q_ref is the stationary density of the discrete dynamics: kl non-increasing (largest "
         "rise %.2e); dkl_dt = -sigma_na not checked (the split is off: [output] split)",
         worst_rise);
  } else if (res->split && !res->time_dependent && res->reference_to_stationary < 1e-3) {
    line(r, verdict(monotone), "Remark 1 (q_ref~p_ss)",
         "q_ref is within L1 %.1e of the discrete p_ss: kl non-increasing (largest rise %.2e); "
         "dkl_dt = -sigma_na holds up to that distance",
         res->reference_to_stationary, worst_rise);
  } else {
    line(r, "INFO", "Remark 1",
         "not applicable: %s; kl %s",
         res->time_dependent ? "the fields depend on t"
         : res->split ? "q_ref is not the stationary density of the dynamics"
                      : "q_ref is not declared stationary and the split (which would compare it "
                        "with p_ss) is off",
         monotone ? "happens to be non-increasing" : "rises at some outputs (allowed: see docs/balance.md)");
  }
}

static void check_split(report *r, const row_list *l, const fp_run_result *res)
{
  if (!res->split) {
    line(r, "INFO", "Hatano-Sasa split",
         "not available: %s", res->absorbing ? "no stationary density with an absorbing wall"
                                                : "turned off, or too large for a stationary solve per output ([output] split)");
    return;
  }
  double worst = 0.0, min_hk = INFINITY, min_na = INFINITY, max_hk = 0.0;
  for (size_t k = 0; k < l->count; k++) {
    const fp_balance_row *w = &l->rows[k];
    /* the face terms' magnitudes bound the round-off even where the three
     * sums nearly vanish (p close to p_ss) */
    double s = fmax(fabs(w->sigma_tot) + fabs(w->sigma_hk_hs) + fabs(w->sigma_na), w->scale);
    worst = fmax(worst, fabs(w->split_residual) / fmax(s, DBL_MIN));
    min_hk = fmin(min_hk, w->sigma_hk_hs);
    min_na = fmin(min_na, w->sigma_na);
    max_hk = fmax(max_hk, w->sigma_hk_hs);
  }
  double tol = ROUNDOFF_ULPS * DBL_EPSILON;
  line(r, verdict(worst <= tol), "split tot = hk + na",
       "max |sigma_tot - sigma_hk_hs - sigma_na| / scale = %.2e  (tol %.1e); stationary residual %.1e",
       worst, tol, res->stationary_residual);
  line(r, "INFO", "split terms",
       "sigma_hk_hs in [%.3e, %.3e] (%s), min sigma_na = %.3e", min_hk, max_hk,
       max_hk > 1e-10 ? "housekeeping current: nonequilibrium" : "~0: equilibrium dynamics", min_na);
}

static void report_boundary(report *r, const row_list *l, const fp_run_result *res)
{
  if (!res->absorbing) return;
  double worst = 0.0;
  for (size_t k = 0; k < l->count; k++) worst = fmax(worst, fabs(l->rows[k].boundary));
  line(r, "INFO", "boundary term",
       "absorbing wall: the paper's A.13 drops it, here max |boundary| = %.3e. Near the wall p -> 0, "
       "so sigma_tot and the boundary term both grow like ln N under refinement; only their sum "
       "converges",
       worst);
}

/* The continuum comparisons with error bars (error_estimate = on/verify):
 * each column with a closed form must lie within ERROR_BARS estimated
 * errors (plus the noise level) of it at every output time. */
#define ERROR_BARS 2.0

static void check_error_bars(report *r, const fp_estimate *e)
{
  if (e->levels < 2) return;
  size_t nq = e->n_quantities, nt = e->n_times;
  char bars[512] = "";
  for (size_t q = 0; q < nq; q++) {
    double worst_bar = 0.0;
    for (size_t k = 0; k < nt; k++) worst_bar = fmax(worst_bar, fabs(e->err[k * nq + q]));
    size_t used = strlen(bars);
    snprintf(bars + used, sizeof bars - used, "%s%s %.1e", used ? ", " : "", e->name[q], worst_bar);
  }
  line(r, "INFO", "error bars", "largest |Q_err| (grids of %zu and %zu cells): %s", e->cells[0],
       e->cells[1], bars);
  for (size_t q = 0; q < nq; q++) {
    if (!e->has_exact[q]) continue;
    double worst = 0.0, worst_bar = 0.0, worst_rich = 0.0, lo = INFINITY, hi = 0.0;
    bool ok = true;
    for (size_t k = 0; k < nt; k++) {
      size_t i = k * nq + q;
      double truth = fabs(e->value[0][i] - e->exact[i]), bar = fabs(e->err[i]);
      worst = fmax(worst, truth);
      worst_bar = fmax(worst_bar, bar);
      worst_rich = fmax(worst_rich, fabs(e->rich[i] - e->exact[i]));
      if (truth > e->noise[q]) {
        double ratio = bar > 0.0 ? truth / bar : INFINITY;
        lo = fmin(lo, ratio), hi = fmax(hi, ratio);
      }
      ok &= truth <= ERROR_BARS * bar + e->noise[q];
    }
    char name[48];
    snprintf(name, sizeof name, "closed form %s", e->name[q]);
    if (isfinite(lo))
      line(r, verdict(ok), name,
           "max |%s - exact| = %.2e, %s %.0f error bars at every output (max |%s_err| = %.2e; "
           "true/estimated in [%.2f, %.2f]); Richardson: %.2e",
           e->name[q], worst, ok ? "within" : "NOT within", ERROR_BARS, e->name[q], worst_bar, lo,
           hi, worst_rich);
    else
      line(r, verdict(ok), name, "max |%s - exact| = %.2e: at the noise level %.1e (error bar %.2e)",
           e->name[q], worst, e->noise[q], worst_bar);
  }
  if (!e->order) return;
  for (size_t q = 0; q < nq; q++) {
    size_t flagged = 0, noise = 0;
    for (size_t k = 0; k < nt; k++) {
      fp_richardson_verdict v = e->verdict[k * nq + q];
      flagged += v == FP_RICHARDSON_ORDER_OFF || v == FP_RICHARDSON_OSCILLATING;
      noise += v == FP_RICHARDSON_NOISE;
    }
    if (flagged)
      line(r, "INFO", "observed order", "%s: the order on grids of %zu, %zu, %zu cells is not "
           "2 +- %.1f at %zu of %zu outputs: its error bar is UNRELIABLE there (summary.txt "
           "lists them)", e->name[q], e->cells[2], e->cells[1], e->cells[0],
           FP_ESTIMATE_ORDER_TOLERANCE, flagged, nt);
    else if (noise < nt)
      line(r, "INFO", "observed order", "%s: 2 +- %.1f at every output above the noise level "
           "(%zu of %zu)", e->name[q], FP_ESTIMATE_ORDER_TOLERANCE, nt - noise, nt);
  }
  if (e->not_estimated[0]) line(r, "INFO", "not estimated", "%s", e->not_estimated);
}

static int verify_run_unguarded(const fp_case *c, const fp_run_options *options,
                                fp_verify_report **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_verify_run: out is NULL");
  *out = NULL;
  if (!c || !options) return fp_fail(err, FP_ERR_ARG, "fp_verify_run: NULL argument");
  if (options->on_row) return fp_fail(err, FP_ERR_ARG, "fp_verify_run: on_row must be NULL");
  fp_verify_report *rep = calloc(1, sizeof *rep);
  /* Room for every line before the run: a report that cannot be made must
   * fail before the run writes a summary that says "completed". */
  if (rep) {
    rep->capacity = 64;
    rep->checks = malloc(rep->capacity * sizeof *rep->checks);
  }
  if (!rep || !rep->checks) {
    if (rep) free(rep);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for the verification report");
  }
  row_list list = {0};
  fp_run_options opt = *options;
  opt.on_row = collect_row;
  opt.row_ctx = &list;
  fp_run_result res;
  fp_estimate est;
  int rc = fp_run_case_estimated(c, &opt, &res, &est, err);
  if (list.failed_alloc) rc = fp_fail(err, FP_ERR_NOMEM, "out of memory collecting balance rows");
  report r = {rep, derive_tolerances(c, &list)};
  snprintf(rep->header, sizeof rep->header, "fpentropy verify %s: %zu output times, %zu cells, "
           "%s fluxes%s", c->path, list.count, c->grid.ncells,
           res.full_tensor ? "full-tensor (two-point on Selling edges)" : "two-point",
           res.time_dependent ? ", time-dependent fields" : "");
  if (rc != FP_OK || list.count == 0) {
    line(&r, "FAIL", "run", "the run did not complete: %s", err ? err->message : fp_strerror(rc));
  } else {
    check_conservation(&r, &list, &res);
    check_positivity(&r, &list, &res);
    check_identities(&r, &list, &res);
    check_a15(&r, &list, &res);
    check_dense_output(&r, &list, &res);
    check_remark1(&r, &list, &res);
    check_split(&r, &list, &res);
    report_boundary(&r, &list, &res);
    check_error_bars(&r, &est);
  }
  fp_estimate_clear(&est);
  free(list.rows);
  if (rep->failed_alloc) {
    fp_verify_report_destroy(&rep);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for the verification report");
  }
  *out = rep;
  return rc;
}

void fp_verify_report_destroy(fp_verify_report **r)
{
  if (!r || !*r) return;
  free((*r)->checks);
  free(*r);
  *r = NULL;
}

fp_verify_summary fp_verify_report_summary(const fp_verify_report *r)
{
  fp_verify_summary none = {0, 0};
  return r ? r->summary : none;
}

size_t fp_verify_report_count(const fp_verify_report *r) { return r ? r->count : 0; }

const fp_verify_check *fp_verify_report_check(const fp_verify_report *r, size_t i)
{
  return r && i < r->count ? &r->checks[i] : NULL;
}

const char *fp_verify_report_header(const fp_verify_report *r) { return r ? r->header : ""; }

const char *fp_verdict_name(fp_verdict v)
{
  return v == FP_VERDICT_PASS ? "PASS" : v == FP_VERDICT_FAIL ? "FAIL" : "INFO";
}

int fp_verify_report_write(const fp_verify_report *r, FILE *f, fp_error *err)
{
  if (!r || !f) return fp_fail(err, FP_ERR_ARG, "fp_verify_report_write: NULL argument");
  fprintf(f, "# %s\n", r->header);
  for (size_t i = 0; i < r->count; i++)
    fprintf(f, "%-4s  %-22s %s\n", fp_verdict_name(r->checks[i].verdict), r->checks[i].name,
            r->checks[i].detail);
  fprintf(f, "# %d checks, %d failed: %s\n", r->summary.checks, r->summary.failed,
          r->summary.failed ? "FAIL" : "PASS");
  if (fflush(f) != 0 || ferror(f))
    return fp_fail(err, FP_ERR_IO, "cannot write the verification report");
  return FP_OK;
}

static int verify_case_unguarded(const fp_case *c, const fp_run_options *options, FILE *out,
                                 fp_verify_summary *summary, fp_error *err)
{
  if (!summary || !out) return fp_fail(err, FP_ERR_ARG, "fp_verify_case: NULL argument");
  memset(summary, 0, sizeof *summary);
  fp_verify_report *rep = NULL;
  int rc = verify_run_unguarded(c, options, &rep, err);
  if (!rep) return rc;
  *summary = rep->summary;
  fp_error werr;
  int wrc = fp_verify_report_write(rep, out, &werr);
  fp_verify_report_destroy(&rep);
  if (rc == FP_OK && wrc != FP_OK) {
    if (err) *err = werr;
    return wrc;
  }
  return rc;
}

/* Public entry points: GSL's handler off for the call (core/gsl_guard_impl.h). */

int fp_verify_case(const fp_case *c, const fp_run_options *options, FILE *out,
                   fp_verify_summary *summary, fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = verify_case_unguarded(c, options, out, summary, err);
  fp_gsl_guard_end(guard);
  return rc;
}

int fp_verify_run(const fp_case *c, const fp_run_options *options, fp_verify_report **out,
                  fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = verify_run_unguarded(c, options, out, err);
  fp_gsl_guard_end(guard);
  return rc;
}
