/* fpentropy: a run with a grid-refinement estimate of its discretisation error (see estimate.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The coarse grids run first (nothing written, their rows kept here), then
 * the case's own grid, whose balance rows gain Q_err and Q_rich through the
 * run's extra-column hooks as they are written: the output times are the
 * case's on every grid, so row k of each grid is the same t. */
#define _POSIX_C_SOURCE 200809L
#include <fpentropy/time/estimate.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error_impl.h"

/* The columns with a continuum limit.  Left out: t; min_p (the location of
 * the minimum moves with h: not a smooth functional); the residuals (zero
 * to round-off on every grid); the closed forms and l1_error. */
static const char *const estimated_columns[] = {
    "mass",      "kl",   "dkl_dt",   "flux_form",   "dkl_dt_fd",
    "sigma_tot", "q_hk", "boundary", "sigma_hk_hs", "sigma_na"};
#define N_ESTIMATED (sizeof estimated_columns / sizeof estimated_columns[0])
_Static_assert(N_ESTIMATED <= FP_ESTIMATE_MAX_QUANTITIES, "quantity table");

/* Next to an absorbing wall p -> 0 and these two grow like ln N under
 * refinement (docs/balance.md): h^2 extrapolation of them is meaningless. */
static bool diverges_at_absorbing_wall(const char *name)
{
  return strcmp(name, "sigma_tot") == 0 || strcmp(name, "boundary") == 0;
}

/* Differences below this multiple of the column's scale are round-off. */
#define ROUNDOFF_RELATIVE (1024.0 * DBL_EPSILON)
/* ... and below this multiple of rtol times the scale, time-integration noise. */
#define TIME_NOISE_RTOL_FACTOR 10.0

typedef struct level_ctx {
  fp_estimate *e;
  int level;
  bool absorbing;
} level_ctx;

int fp_estimate_find(const fp_estimate *e, const char *name)
{
  for (size_t q = 0; q < e->n_quantities; q++)
    if (strcmp(e->name[q], name) == 0) return (int)q;
  return -1;
}

void fp_estimate_clear(fp_estimate *e)
{
  if (!e) return;
  for (int l = 0; l < FP_ESTIMATE_MAX_LEVELS; l++) {
    free(e->value[l]);
    free(e->coarse_names[l]);
    free(e->coarse_values[l]);
  }
  free(e->err);
  free(e->rich);
  free(e->exact);
  free(e->order);
  free(e->verdict);
  memset(e, 0, sizeof *e);
}

/* Index of `name` in a '\n'-joined list, or -1. */
static long find_joined(const char *joined, const char *name)
{
  size_t len = strlen(name);
  long idx = 0;
  for (const char *s = joined; s && *s; idx++) {
    const char *end = strchr(s, '\n');
    size_t n = end ? (size_t)(end - s) : strlen(s);
    if (n == len && strncmp(s, name, len) == 0) return idx;
    if (!end) break;
    s = end + 1;
  }
  return -1;
}

/* ---- coarse grids: keep every row ------------------------------------- */

static int coarse_columns(const char *const *names, size_t n, const char **extra_names,
                          size_t *n_extra, void *ctx, fp_error *err)
{
  (void)extra_names;
  level_ctx *lc = ctx;
  fp_estimate *e = lc->e;
  size_t len = 1;
  for (size_t k = 0; k < n; k++) len += strlen(names[k]) + 1;
  char *joined = malloc(len);
  if (!joined) return fp_fail(err, FP_ERR_NOMEM, "out of memory for column names");
  joined[0] = '\0';
  for (size_t k = 0; k < n; k++) {
    strcat(joined, names[k]);
    if (k + 1 < n) strcat(joined, "\n");
  }
  free(e->coarse_names[lc->level]);
  e->coarse_names[lc->level] = joined;
  e->coarse_columns[lc->level] = n;
  *n_extra = 0;
  return FP_OK;
}

static int coarse_values(const double *values, size_t n, double *extra, void *ctx, fp_error *err)
{
  (void)extra;
  level_ctx *lc = ctx;
  fp_estimate *e = lc->e;
  int l = lc->level;
  size_t rows = e->coarse_rows[l];
  double *grown = realloc(e->coarse_values[l], (rows + 1) * n * sizeof *grown);
  if (!grown) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the coarse-grid rows");
  memcpy(grown + rows * n, values, n * sizeof *values);
  e->coarse_values[l] = grown;
  e->coarse_rows[l] = rows + 1;
  return FP_OK;
}

/* ---- the case's grid: append Q_err and Q_rich -------------------------- */

static void note_left_out(fp_estimate *e, const char *name, const char *why)
{
  size_t used = strlen(e->not_estimated);
  snprintf(e->not_estimated + used, sizeof e->not_estimated - used, "%s%s (%s)",
           used ? "; " : "", name, why);
}

/* The closed-form column of a quantity (linear-Gaussian cases), or NULL. */
static const char *closed_form_of(const char *name)
{
  static const char *const pairs[][2] = {
      {"kl", "kl_exact"},           {"dkl_dt", "dkl_dt_exact"},       {"flux_form", "dkl_dt_exact"},
      {"dkl_dt_fd", "dkl_dt_exact"}, {"sigma_tot", "sigma_tot_exact"}, {"q_hk", "q_hk_exact"},
      {"sigma_hk_hs", "sigma_hk_exact"}, {"sigma_na", "sigma_na_exact"}};
  for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++)
    if (strcmp(pairs[k][0], name) == 0) return pairs[k][1];
  return NULL;
}

static int fine_columns(const char *const *names, size_t n, const char **extra_names,
                        size_t *n_extra, void *ctx, fp_error *err)
{
  (void)err;
  level_ctx *lc = ctx;
  fp_estimate *e = lc->e;
  e->n_quantities = 0;
  for (size_t j = 0; j < N_ESTIMATED; j++) {
    const char *name = estimated_columns[j];
    long fine = -1;
    for (size_t k = 0; k < n; k++)
      if (strcmp(names[k], name) == 0) fine = (long)k;
    if (fine < 0) continue;
    if (lc->absorbing && diverges_at_absorbing_wall(name)) {
      note_left_out(e, name, "grows like ln N next to an absorbing wall");
      continue;
    }
    bool everywhere = true;
    size_t q = e->n_quantities;
    for (int l = 1; l < e->levels; l++) {
      long idx = find_joined(e->coarse_names[l], name);
      if (idx < 0) everywhere = false;
      else e->coarse_index[l][q] = (size_t)idx;
    }
    if (!everywhere) {
      note_left_out(e, name, "not computed on a coarse grid");
      continue;
    }
    snprintf(e->name[q], sizeof e->name[q], "%s", name);
    e->fine_index[q] = (size_t)fine;
    const char *exact = closed_form_of(name);
    e->has_exact[q] = false;
    for (size_t k = 0; exact && k < n; k++)
      if (strcmp(names[k], exact) == 0) e->has_exact[q] = true, e->exact_index[q] = k;
    snprintf(e->extra_names[2 * q], sizeof e->extra_names[0], "%s_err", name);
    snprintf(e->extra_names[2 * q + 1], sizeof e->extra_names[0], "%s_rich", name);
    extra_names[2 * q] = e->extra_names[2 * q];
    extra_names[2 * q + 1] = e->extra_names[2 * q + 1];
    e->n_quantities++;
  }
  *n_extra = 2 * e->n_quantities;
  return FP_OK;
}

static int grow(double **a, size_t count)
{
  double *g = realloc(*a, count * sizeof *g);
  if (!g) return FP_ERR_NOMEM;
  *a = g;
  return FP_OK;
}

static int fine_values(const double *values, size_t n, double *extra, void *ctx, fp_error *err)
{
  (void)n;
  level_ctx *lc = ctx;
  fp_estimate *e = lc->e;
  size_t k = e->n_times, nq = e->n_quantities, count = (k + 1) * (nq ? nq : 1);
  int rc = FP_OK;
  for (int l = 0; l < e->levels && rc == FP_OK; l++) rc = grow(&e->value[l], count);
  if (rc == FP_OK) rc = grow(&e->err, count);
  if (rc == FP_OK) rc = grow(&e->rich, count);
  if (rc == FP_OK) rc = grow(&e->exact, count);
  if (rc != FP_OK) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the error estimate");
  for (int l = 1; l < e->levels; l++) {
    if (e->coarse_rows[l] <= k)
      return fp_fail(err, FP_ERR_ARG, "error estimate: the %zu-cell grid has %zu rows, row %zu "
                     "was asked for", e->cells[l], e->coarse_rows[l], k + 1);
    /* column 0 is t on every grid */
    double tc = e->coarse_values[l][k * e->coarse_columns[l]];
    if (tc != values[0])
      return fp_fail(err, FP_ERR_ARG, "error estimate: output time %.17g on the %zu-cell grid "
                     "against %.17g on the case's grid", tc, e->cells[l], values[0]);
  }
  for (size_t q = 0; q < nq; q++) {
    double v0 = values[e->fine_index[q]];
    e->value[0][k * nq + q] = v0;
    for (int l = 1; l < e->levels; l++)
      e->value[l][k * nq + q] = e->coarse_values[l][k * e->coarse_columns[l] + e->coarse_index[l][q]];
    double v1 = e->value[1][k * nq + q];
    e->err[k * nq + q] = fp_richardson_error(v0, v1, FP_ESTIMATE_RATIO, FP_ESTIMATE_ORDER);
    e->rich[k * nq + q] = fp_richardson_value(v0, v1, FP_ESTIMATE_RATIO, FP_ESTIMATE_ORDER);
    e->exact[k * nq + q] = e->has_exact[q] ? values[e->exact_index[q]] : NAN;
    extra[2 * q] = e->err[k * nq + q];
    extra[2 * q + 1] = e->rich[k * nq + q];
  }
  e->n_times = k + 1;
  return FP_OK;
}

static bool is_rate(const char *name)
{
  return strcmp(name, "mass") != 0 && strcmp(name, "kl") != 0;
}

/* Scales, noise levels and (verify) observed orders, once all rows are in. */
static void finalise(fp_estimate *e)
{
  if (e->finalised || e->levels < 2) return;
  e->finalised = true;
  size_t nq = e->n_quantities, nt = e->n_times;
  double rate_scale = 0.0;
  for (size_t q = 0; q < nq; q++) {
    double s = 0.0;
    for (size_t k = 0; k < nt; k++)
      for (int l = 0; l < e->levels; l++) s = fmax(s, fabs(e->value[l][k * nq + q]));
    e->scale[q] = s;
    if (is_rate(e->name[q])) rate_scale = fmax(rate_scale, s);
  }
  /* The rates are sums of terms of the size of the largest rate, so their
   * round-off is relative to that (q_hk of an equilibrium case is 1e-16 of
   * sigma_tot, all of it round-off). */
  for (size_t q = 0; q < nq; q++)
    e->noise[q] = fmax(ROUNDOFF_RELATIVE, TIME_NOISE_RTOL_FACTOR * e->fine_rtol) *
                  (is_rate(e->name[q]) ? rate_scale : e->scale[q]);
  if (e->levels < 3 || nt == 0 || nq == 0) return;
  e->order = malloc(nt * nq * sizeof *e->order);
  e->verdict = malloc(nt * nq * sizeof *e->verdict);
  if (!e->order || !e->verdict) {
    free(e->order), free(e->verdict);
    e->order = NULL, e->verdict = NULL;
    return;
  }
  for (size_t k = 0; k < nt; k++)
    for (size_t q = 0; q < nq; q++) {
      size_t i = k * nq + q;
      e->verdict[i] = fp_richardson_assess(e->value[0][i], e->value[1][i], e->value[2][i],
                                           FP_ESTIMATE_RATIO, FP_ESTIMATE_ORDER,
                                           FP_ESTIMATE_ORDER_TOLERANCE, e->noise[q], &e->order[i]);
    }
}

static double now_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void print_summary(FILE *s, void *ctx)
{
  level_ctx *lc = ctx;
  fp_estimate *e = lc->e;
  finalise(e);
  size_t nq = e->n_quantities, nt = e->n_times;
  fprintf(s, "error_estimate: %s (order %g assumed, refinement ratio %g)\n",
          e->mode == FP_ERROR_ESTIMATE_VERIFY ? "verify" : "on", FP_ESTIMATE_ORDER, FP_ESTIMATE_RATIO);
  fprintf(s, "error_estimate_cells:");
  for (int l = 0; l < e->levels; l++) fprintf(s, " %zu", e->cells[l]);
  fprintf(s, "\nerror_estimate_coarse_rtol: %.17g\nerror_estimate_coarse_atol: %.17g\n", e->rtol[1],
          e->atol[1]);
  /* the fine run's own time is measured up to here (its files are not yet
   * committed: a negligible difference) */
  double fine = now_seconds() - e->fine_start_seconds;
  double coarse = 0.0;
  long coarse_steps = 0;
  for (int l = 1; l < e->levels; l++) coarse += e->seconds[l], coarse_steps += e->steps[l];
  fprintf(s, "error_estimate_seconds: case grid %.3f, coarse grids %.3f", fine, coarse);
  for (int l = 1; l < e->levels; l++) fprintf(s, " (%zu cells: %.3f s, %ld steps)", e->cells[l], e->seconds[l], e->steps[l]);
  fprintf(s, "\nerror_estimate_cost: %.3f (wall time of all grids / the case's grid alone)\n",
          fine > 0.0 ? (fine + coarse) / fine : NAN);
  if (e->not_estimated[0]) fprintf(s, "error_estimate_not_estimated: %s\n", e->not_estimated);
  if (lc->absorbing && e->levels < 3)
    fprintf(s, "error_estimate_warning: absorbing walls: some columns converge at another order "
               "than 2 (q_hk at 1 in absorbing_1d); the estimates are unverified, run "
               "error_estimate = verify (docs/error-estimate.md)\n");
  fprintf(s, "# largest estimated error over the output times, absolute and relative to max |Q|\n");
  for (size_t q = 0; q < nq; q++) {
    double worst = 0.0;
    for (size_t k = 0; k < nt; k++) worst = fmax(worst, fabs(e->err[k * nq + q]));
    bool noise = worst <= e->noise[q];
    fprintf(s, "error_estimate %s: max |err| %.3e (%.2e of max |%s| = %.3e)%s\n", e->name[q], worst,
            e->scale[q] > 0.0 ? worst / e->scale[q] : 0.0, e->name[q], e->scale[q],
            noise ? " at the noise level (round-off or time tolerance)" : "");
  }
  if (!e->order) return;
  fprintf(s, "# observed order per column (3 grids); verdicts: ok = within %g of %g, order = "
             "farther, oscillating = the grid differences change sign, noise = no order (the "
             "differences are round-off or time error)\n",
          FP_ESTIMATE_ORDER_TOLERANCE, FP_ESTIMATE_ORDER);
  double *orders = malloc((nt ? nt : 1) * sizeof *orders);
  for (size_t q = 0; q < nq && orders; q++) {
    size_t count[4] = {0, 0, 0, 0}, m = 0;
    for (size_t k = 0; k < nt; k++) {
      size_t i = k * nq + q;
      count[e->verdict[i]]++;
      if (isfinite(e->order[i])) orders[m++] = e->order[i];
    }
    fprintf(s, "error_order %s: ", e->name[q]);
    if (m) {
      qsort(orders, m, sizeof *orders, compare_double);
      fprintf(s, "median %.3f, range [%.3f, %.3f]; ", orders[m / 2], orders[0], orders[m - 1]);
    }
    fprintf(s, "%zu ok, %zu order, %zu oscillating, %zu noise of %zu outputs%s\n", count[0],
            count[2], count[3], count[1], nt,
            count[2] + count[3] ? ": UNRELIABLE where flagged" : "");
  }
  free(orders);
  fprintf(s, "# observed order at each output time ('-' noise, '*' flagged)\n# error_orders t");
  for (size_t q = 0; q < nq; q++) fprintf(s, " %s", e->name[q]);
  fputc('\n', s);
  for (size_t k = 0; k < nt; k++) {
    fprintf(s, "error_orders %.6g", e->coarse_values[1] ? e->coarse_values[1][k * e->coarse_columns[1]] : 0.0);
    for (size_t q = 0; q < nq; q++) {
      size_t i = k * nq + q;
      if (e->verdict[i] == FP_RICHARDSON_NOISE) fprintf(s, " -");
      else fprintf(s, " %.3f%s", e->order[i], e->verdict[i] == FP_RICHARDSON_RELIABLE ? "" : "*");
    }
    fputc('\n', s);
  }
}

/* ---- the whole estimated run ------------------------------------------- */

int fp_run_case_estimated(const fp_case *c, const fp_run_options *options, fp_run_result *result,
                          fp_estimate *estimate, fp_error *err)
{
  fp_estimate local;
  fp_estimate *e = estimate ? estimate : &local;
  memset(e, 0, sizeof *e);
  fp_run_result local_result;
  fp_run_result *res = result ? result : &local_result;
  /* a coarse grid that fails leaves the case's result empty, not undefined */
  memset(res, 0, sizeof *res);
  if (!c || !options) return fp_fail(err, FP_ERR_ARG, "fp_run_case_estimated: NULL argument");
  e->mode = c->error_estimate;
  e->levels = e->mode == FP_ERROR_ESTIMATE_OFF ? 1 : e->mode == FP_ERROR_ESTIMATE_ON ? 2 : 3;
  e->cells[0] = c->grid.ncells;
  e->rtol[0] = c->rtol, e->atol[0] = c->atol;
  e->fine_rtol = c->rtol;
  int rc = FP_OK;
  if (e->levels == 1) {
    rc = fp_run_case(c, options, res, err);
    e->seconds[0] = res->wall_seconds, e->steps[0] = res->stats.steps;
    if (!estimate) fp_estimate_clear(e);
    return rc;
  }
  if (options->extra_columns || options->extra_values || options->extra_summary)
    return fp_fail(err, FP_ERR_ARG, "fp_run_case_estimated: the extra_* hooks are the estimate's");
  const size_t divisor = (size_t)1 << (e->levels - 1), min_cells = 4;
  for (int k = 0; k < c->grid.dim; k++)
    if (c->grid.n[k] % divisor != 0 || c->grid.n[k] / divisor < min_cells)
      return fp_fail(err, FP_ERR_CASE,
                     "[output] error_estimate = %s needs a number of cells per axis divisible by "
                     "%zu, with at least %zu cells on the coarsest grid; axis %d has %zu",
                     e->mode == FP_ERROR_ESTIMATE_ON ? "on" : "verify", divisor, min_cells, k + 1,
                     c->grid.n[k]);
  bool absorbing = false;
  for (int k = 0; k < c->grid.dim; k++) absorbing |= c->grid.bc[k] == FP_BC_ABSORBING;
  level_ctx lc[FP_ESTIMATE_MAX_LEVELS];
  for (int l = 0; l < FP_ESTIMATE_MAX_LEVELS; l++) lc[l] = (level_ctx){e, l, absorbing};

  /* coarsest first, so that the progress shown last is the case's grid */
  for (int l = e->levels - 1; l >= 1 && rc == FP_OK; l--) {
    fp_case coarse = *c; /* shares the case's expressions; only read, never destroyed */
    for (int k = 0; k < c->grid.dim; k++) coarse.grid.n[k] = c->grid.n[k] >> l;
    rc = fp_grid_init(&coarse.grid, err);
    if (rc != FP_OK) break;
    coarse.rtol = c->rtol / FP_ESTIMATE_TIME_TIGHTENING;
    coarse.atol = c->atol / FP_ESTIMATE_TIME_TIGHTENING;
    coarse.n_snapshot_times = 0;
    coarse.snapshot_times = NULL;
    coarse.error_estimate = FP_ERROR_ESTIMATE_OFF;
    e->cells[l] = coarse.grid.ncells;
    e->rtol[l] = coarse.rtol, e->atol[l] = coarse.atol;
    fp_run_options co = {.interrupted = options->interrupted,
                         .write_files = false,
                         .extra_columns = coarse_columns,
                         .extra_values = coarse_values,
                         .extra_ctx = &lc[l]};
    fp_run_result cr;
    rc = fp_run_case(&coarse, &co, &cr, err);
    e->seconds[l] = cr.wall_seconds, e->steps[l] = cr.stats.steps;
    if (rc != FP_OK && rc != FP_ERR_INTERRUPTED)
      rc = fp_fail_context(err, rc, "error estimate, run on the coarse grid of %zu cells",
                           coarse.grid.ncells);
  }
  if (rc == FP_OK) {
    fp_run_options fo = *options;
    fo.extra_columns = fine_columns;
    fo.extra_values = fine_values;
    fo.extra_summary = print_summary;
    fo.extra_ctx = &lc[0];
    e->fine_start_seconds = now_seconds();
    rc = fp_run_case(c, &fo, res, err);
    e->seconds[0] = res->wall_seconds, e->steps[0] = res->stats.steps;
    finalise(e);
  }
  if (!estimate) fp_estimate_clear(e);
  return rc;
}
