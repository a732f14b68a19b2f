/* fpentropy: verification of Appendix A on a case (see verify.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Tolerances.  Discrete identities are checked against round-off:
 * ROUNDOFF_ULPS ulps of `scale`, the summed magnitude of the terms that
 * cancel (balance.h).  Conservation is the 1e-12 relative.  The
 * dense-output derivative is a time-integration estimate: it must agree to
 * a multiple of rtol. */
#include <fpentropy/balance/verify.h>

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

#define ROUNDOFF_ULPS 1024.0
#define MASS_TOLERANCE 1e-12
#define DENSE_OUTPUT_RTOL_FACTOR 100.0
/* Negative values a full-tensor run may show before positivity fails:
 * relative to the largest density (cross diffusion is not monotone). */
#define FULL_TENSOR_NEGATIVE_TOLERANCE 1e-6

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

typedef struct report {
  FILE *f;
  fp_verify_summary *summary;
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
  t.sigma = u * u * smax;
  return t;
}

static void line(report *r, const char *verdict, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void line(report *r, const char *verdict, const char *name, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(r->f, "%-4s  %-22s ", verdict, name);
  vfprintf(r->f, fmt, ap);
  fputc('\n', r->f);
  va_end(ap);
  if (strcmp(verdict, "INFO") != 0) r->summary->checks++;
  if (strcmp(verdict, "FAIL") == 0) r->summary->failed++;
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
  double minp = INFINITY, at = 0.0;
  size_t floored = 0;
  double floored_mass = 0.0;
  for (size_t k = 0; k < l->count; k++) {
    if (l->rows[k].min_p < minp) minp = l->rows[k].min_p, at = l->rows[k].t;
    if (l->rows[k].floored_cells > floored) floored = l->rows[k].floored_cells;
    if (fabs(l->rows[k].floored_mass) > fabs(floored_mass)) floored_mass = l->rows[k].floored_mass;
  }
  if (res->two_point) {
    line(r, verdict(minp >= 0.0), "positivity", "min p = %.3e at t = %g  (two-point fluxes: p >= 0 required)", minp, at);
  } else {
    double maxp = 0.0;
    for (size_t k = 0; k < l->count; k++) maxp = fmax(maxp, l->rows[k].max_p);
    bool ok = minp >= -FULL_TENSOR_NEGATIVE_TOLERANCE * maxp;
    line(r, verdict(ok), "positivity (tensor D)",
         "min p = %.3e at t = %g = %.1e max p  (cross diffusion is not monotone: negatives "
         "down to %.0e max p are reported, not hidden)",
         minp, at, minp / maxp, FULL_TENSOR_NEGATIVE_TOLERANCE);
  }
  if (floored > 0)
    line(r, "INFO", "underflow",
         "up to %zu cells hold p <= %.0e (mass %.2e): log p is taken at the floor there, the identities "
         "still close, but sigma_tot in those cells is not meaningful",
         floored, FP_BALANCE_FLOOR, floored_mass);
}

static void check_identities(report *r, const row_list *l, const fp_run_result *res)
{
  double worst7 = 0.0, worst13 = 0.0;
  for (size_t k = 0; k < l->count; k++) {
    const fp_balance_row *w = &l->rows[k];
    double s = w->scale > 0.0 ? w->scale : DBL_MIN;
    worst7 = fmax(worst7, fabs(w->residual_a7) / s);
    worst13 = fmax(worst13, fabs(w->residual) / s);
  }
  double tol = ROUNDOFF_ULPS * DBL_EPSILON;
  line(r, verdict(worst7 <= tol), "A.7 (discrete)",
       "max |dkl_dt - flux_form| / scale = %.2e  (tol %.1e: round-off)", worst7, tol);
  if (res->two_point)
    line(r, verdict(worst13 <= tol), "A.13 (discrete)",
         "max |dkl_dt + sigma_tot - q_hk - boundary| / scale = %.2e  (tol %.1e)", worst13, tol);
  else
    line(r, "INFO", "A.13 (discrete)",
         "full-tensor D: q_hk is the remainder of A.13, so its residual (%.1e) is not an "
         "independent check; sigma_tot is the cell quadrature of J^T D^-1 J / p",
         worst13);
}

static void check_a15(report *r, const row_list *l, const fp_run_result *res)
{
  double min_sigma = INFINITY, min_face = INFINITY;
  bool equality_consistent = true;
  size_t zero_rows = 0;
  for (size_t k = 0; k < l->count; k++) {
    const fp_balance_row *w = &l->rows[k];
    min_sigma = fmin(min_sigma, w->sigma_tot);
    if (res->two_point) min_face = fmin(min_face, w->min_face_sigma);
    /* sigma_tot = 0 exactly when the current vanishes: both at round-off
     * or both not. */
    bool sigma_zero = w->sigma_tot <= r->tol.sigma;
    bool current_zero = w->current_l1 <= r->tol.current;
    if (sigma_zero) zero_rows++;
    if (res->two_point && sigma_zero != current_zero && w->scale > 0.0) equality_consistent = false;
  }
  double tol = -ROUNDOFF_ULPS * DBL_EPSILON;
  bool ok = min_sigma >= tol * fmax(1.0, fabs(min_sigma));
  if (res->two_point) {
    ok = ok && min_face >= -r->tol.sigma;
    line(r, verdict(ok), "A.15 sigma_tot >= 0",
         "min sigma_tot = %.3e, min face term F_f X_f |f| = %.3e (>= 0 face by face)", min_sigma, min_face);
    line(r, verdict(equality_consistent), "A.15 equality",
         "sigma_tot = 0 exactly where J = 0 (at %zu of %zu outputs)", zero_rows, l->count);
  } else {
    line(r, verdict(ok), "A.15 sigma_tot >= 0", "min sigma_tot = %.3e (cell by cell)", min_sigma);
  }
}

static void check_dense_output(report *r, const row_list *l, const fp_run_result *res)
{
  double worst = 0.0, size = 0.0;
  for (size_t k = 0; k < l->count; k++) size = fmax(size, fabs(l->rows[k].dkl_dt));
  for (size_t k = 0; k < l->count; k++) worst = fmax(worst, fabs(l->rows[k].dkl_dt_fd - l->rows[k].dkl_dt));
  double rel = worst / fmax(size, DBL_MIN), tol = DENSE_OUTPUT_RTOL_FACTOR * res->rtol;
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
    double tol = ROUNDOFF_ULPS * DBL_EPSILON * fmax(fabs(l->rows[k - 1].kl), DBL_MIN);
    if (rise > tol) monotone = false;
    worst_rise = fmax(worst_rise, rise);
  }
  if (res->reference_stationary && !res->time_dependent && res->split) {
    double worst = 0.0;
    for (size_t k = 0; k < l->count; k++)
      worst = fmax(worst, fabs(l->rows[k].dkl_dt + l->rows[k].sigma_na) / fmax(l->rows[k].scale, DBL_MIN));
    double tol = ROUNDOFF_ULPS * DBL_EPSILON;
    line(r, verdict(monotone && worst <= tol), "Remark 1 (q_ref=p_ss)",
         "kl non-increasing (largest rise %.2e); max |dkl_dt + sigma_na| / scale = %.2e (tol %.1e)",
         worst_rise, worst, tol);
  } else if (res->split && !res->time_dependent && res->reference_to_stationary < 1e-3) {
    line(r, verdict(monotone), "Remark 1 (q_ref~p_ss)",
         "q_ref is within L1 %.1e of the discrete p_ss: kl non-increasing (largest rise %.2e); "
         "dkl_dt = -sigma_na holds up to that distance",
         res->reference_to_stationary, worst_rise);
  } else {
    line(r, "INFO", "Remark 1",
         "not applicable: q_ref is not the stationary density of the dynamics%s; kl %s",
         res->time_dependent ? " (the fields depend on t)" : "",
         monotone ? "happens to be non-increasing" : "rises at some outputs (allowed: see docs/balance.md)");
  }
}

static void check_split(report *r, const row_list *l, const fp_run_result *res)
{
  if (!res->split) {
    line(r, "INFO", "Hatano-Sasa split",
         "not available: %s", res->absorbing ? "no stationary density with an absorbing wall"
                              : !res->two_point ? "full-tensor D (the split needs two-point fluxes)"
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

int fp_verify_case(const fp_case *c, const fp_run_options *options, FILE *out,
                   fp_verify_summary *summary, fp_error *err)
{
  memset(summary, 0, sizeof *summary);
  if (!c || !options || !out) return fp_fail(err, FP_ERR_ARG, "fp_verify_case: NULL argument");
  if (options->on_row) return fp_fail(err, FP_ERR_ARG, "fp_verify_case: on_row must be NULL");
  row_list list = {0};
  fp_run_options opt = *options;
  opt.on_row = collect_row;
  opt.row_ctx = &list;
  fp_run_result res;
  int rc = fp_run_case(c, &opt, &res, err);
  if (list.failed_alloc) rc = fp_fail(err, FP_ERR_NOMEM, "out of memory collecting balance rows");
  report r = {out, summary, derive_tolerances(c, &list)};
  fprintf(out, "# fpentropy verify %s: %zu output times, %zu cells, %s fluxes%s\n", c->path,
          list.count, c->grid.ncells, res.two_point ? "two-point" : "full-tensor",
          res.time_dependent ? ", time-dependent fields" : "");
  if (rc != FP_OK || list.count == 0) {
    line(&r, "FAIL", "run", "the run did not complete: %s", err ? err->message : fp_strerror(rc));
    free(list.rows);
    return rc;
  }
  check_conservation(&r, &list, &res);
  check_positivity(&r, &list, &res);
  check_identities(&r, &list, &res);
  check_a15(&r, &list, &res);
  check_dense_output(&r, &list, &res);
  check_remark1(&r, &list, &res);
  check_split(&r, &list, &res);
  report_boundary(&r, &list, &res);
  fprintf(out, "# %d checks, %d failed: %s\n", summary->checks, summary->failed,
          summary->failed ? "FAIL" : "PASS");
  free(list.rows);
  return FP_OK;
}
