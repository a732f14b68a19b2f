/* fpentropy: "hist", the histogram plug-in estimator with exact bin masses.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   D^ = sum_j p^_j ln(p^_j / Q_j) - [mm] (K^ - 1)/(2n)
 * over a regular grid of the support box; p^_j = n_j/n; Q_j = the mass of q
 * in bin j by Gauss-Legendre (gl points per axis, log-sum-exp so that tail
 * bins do not underflow), or, with only a reference sample, the smoothed
 * reference histogram (m_j + alpha)/(m + alpha K).  Only the occupied bins
 * enter the sum, so the cost is O(n + K^ gl^d) log q calls, not O(K gl^d).
 * See docs/estimators.md for the bin rule and the bias. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_integration.h>

#include "core/error_impl.h"
#include "streams/estimator_impl.h"

#define HIST_MAX_BINS ((size_t)1 << 22) /* total bins (16 MiB of counts) */
#define HIST_MAX_GL 8
#define HIST_SCOTT 3.49                  /* Scott (1979/1992) normal-reference width */

enum { P_BINS, P_MM, P_GL, P_ALPHA };

typedef struct hist_work {
  uint32_t *count;   /* per bin, all zero between calls */
  uint32_t *rcount;  /* reference counts per bin, all zero between calls */
  size_t count_cap, rcount_cap;
  size_t *occupied;  /* bins with count > 0, in order of first use */
  size_t *rtouched;  /* bins with rcount > 0 */
  size_t occupied_cap, rtouched_cap;
  int gl;            /* number of Gauss-Legendre nodes below (0: none yet) */
  double node[HIST_MAX_GL], weight[HIST_MAX_GL]; /* on [-1, 1] */
} hist_work;

static void hist_free(void *w)
{
  hist_work *hw = w;
  if (!hw) return;
  free(hw->count);
  free(hw->rcount);
  free(hw->occupied);
  free(hw->rtouched);
  free(hw);
}

/* Gauss-Legendre nodes and weights on [-1, 1] from GSL's fixed-order tables.
 * Returns FP_OK or FP_ERR_NOMEM. */
static int gauss_legendre(int n, double *x, double *w, fp_error *err)
{
  gsl_integration_glfixed_table *t = gsl_integration_glfixed_table_alloc((size_t)n);
  if (!t) return fp_fail(err, FP_ERR_NOMEM, "out of memory for %d Gauss-Legendre nodes", n);
  for (int i = 0; i < n; i++) gsl_integration_glfixed_point(-1.0, 1.0, (size_t)i, &x[i], &w[i], t);
  gsl_integration_glfixed_table_free(t);
  return FP_OK;
}

/* Bin of point x, or SIZE_MAX when it is outside the box.  A point on the
 * upper wall belongs to the last bin. */
static size_t bin_of(const double *x, int d, const fp_kl_reference *ref, const size_t *b)
{
  size_t idx = 0, stride = 1;
  for (int a = 0; a < d; a++) {
    if (!(x[a] >= ref->lower[a] && x[a] <= ref->upper[a])) return SIZE_MAX;
    double t = (x[a] - ref->lower[a]) / (ref->upper[a] - ref->lower[a]) * (double)b[a];
    size_t j = (size_t)t;
    if (j >= b[a]) j = b[a] - 1;
    idx += j * stride;
    stride *= b[a];
  }
  return idx;
}

static int outside(const fp_estimator *e, const char *what, size_t i, const double *x, int d,
                   const fp_kl_reference *ref, fp_error *err)
{
  char where[160], lo[160], hi[160];
  double y[FP_MAX_DIM] = {0}, l[FP_MAX_DIM] = {0}, u[FP_MAX_DIM] = {0};
  for (int a = 0; a < d; a++) y[a] = x[a], l[a] = ref->lower[a], u[a] = ref->upper[a];
  fp_format_point(where, sizeof where, d, y);
  fp_format_point(lo, sizeof lo, d, l);
  fp_format_point(hi, sizeof hi, d, u);
  return fp_fail(err, FP_ERR_ARG,
                 "estimator '%s': %s point %zu, %s, is outside the support box [%s, %s]",
                 e->spec, what, i, where, lo, hi);
}

/* log of the q-mass of bin idx by tensor Gauss-Legendre (log-sum-exp). */
static double log_bin_mass(const hist_work *w, const fp_kl_reference *ref, int d, const size_t *b,
                           size_t idx)
{
  double a0[FP_MAX_DIM], hw[FP_MAX_DIM];
  double log_vol = 0.0;
  for (int a = 0; a < d; a++) {
    double width = (ref->upper[a] - ref->lower[a]) / (double)b[a];
    size_t j = idx % b[a];
    idx /= b[a];
    a0[a] = ref->lower[a] + (double)j * width;
    hw[a] = 0.5 * width;
    log_vol += log(hw[a]);
  }
  const int g = w->gl;
  int npts = 1;
  for (int a = 0; a < d; a++) npts *= g;
  double v[HIST_MAX_GL * HIST_MAX_GL * HIST_MAX_GL];
  double vmax = -INFINITY;
  for (int p = 0; p < npts; p++) {
    double x[FP_MAX_DIM] = {0.0, 0.0, 0.0}, lw = 0.0;
    int r = p;
    for (int a = 0; a < d; a++) {
      int i = r % g;
      r /= g;
      x[a] = a0[a] + hw[a] * (1.0 + w->node[i]);
      lw += log(w->weight[i]);
    }
    v[p] = ref->log_q(x, ref->ctx) + lw;
    if (isnan(v[p]) || v[p] == INFINITY) return NAN;
    if (v[p] > vmax) vmax = v[p];
  }
  if (vmax == -INFINITY) return -INFINITY;
  double s = 0.0;
  for (int p = 0; p < npts; p++) s += exp(v[p] - vmax);
  return vmax + log(s) + log_vol;
}

static int hist_estimate(fp_estimator *e, const fp_samples *p, const fp_kl_reference *ref,
                         double *kl, fp_estimator_report *rep, fp_error *err)
{
  const int d = p->dim;
  const size_t n = p->n;
  const int use_q = ref->log_q != NULL;
  if (n >= UINT32_MAX || ref->sample.n >= UINT32_MAX)
    return fp_fail(err, FP_ERR_ARG, "estimator '%s': sample too large", e->spec);

  /* bins per axis */
  size_t b[FP_MAX_DIM] = {1, 1, 1};
  size_t cap_axis = (size_t)floor(pow((double)HIST_MAX_BINS, 1.0 / d) + 1e-9);
  size_t K = 1;
  for (int a = 0; a < d; a++) {
    double len = ref->upper[a] - ref->lower[a];
    if (e->value[P_BINS].word >= 0) {
      double mean, sd;
      fp_est_mean_sd(p, a, &mean, &sd);
      if (!(sd > 0.0))
        return fp_fail(err, FP_ERR_NUMERIC,
                       "estimator '%s': the sample has zero spread along axis %d", e->spec, a);
      double width = HIST_SCOTT * sd * pow((double)n, -1.0 / (d + 2));
      double nb = ceil(len / width);
      b[a] = nb > (double)cap_axis ? cap_axis : (size_t)nb;
      if (b[a] < 1) b[a] = 1;
    } else {
      b[a] = (size_t)e->value[P_BINS].num;
    }
    if (b[a] > HIST_MAX_BINS / K)
      return fp_fail(err, FP_ERR_ARG, "estimator '%s': more than %zu bins in total", e->spec,
                     HIST_MAX_BINS);
    K *= b[a];
  }

  /* workspace */
  if (!e->work) {
    e->work = calloc(1, sizeof(hist_work));
    if (!e->work) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the histogram workspace");
  }
  hist_work *w = e->work;
  if (w->count_cap < K) { /* new zeroed counts */
    free(w->count);
    w->count_cap = 0;
    w->count = calloc(K, sizeof *w->count);
    if (!w->count) return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu histogram bins", K);
    w->count_cap = K;
  }
  size_t *occ = fp_est_grow(w->occupied, &w->occupied_cap, n, sizeof *w->occupied);
  if (!occ) return fp_fail(err, FP_ERR_NOMEM, "out of memory for a histogram of %zu points", n);
  w->occupied = occ;
  int rc = FP_OK;
  int gl = (int)e->value[P_GL].num;
  if (w->gl != gl) {
    rc = gauss_legendre(gl, w->node, w->weight, err);
    if (rc != FP_OK) return rc;
    w->gl = gl;
  }

  /* count p; every early return below must clear the counts first */
  size_t nocc = 0;
  for (size_t i = 0; i < n; i++) {
    const double *x = p->x + i * (size_t)d;
    size_t idx = bin_of(x, d, ref, b);
    if (idx == SIZE_MAX) {
      for (size_t j = 0; j < nocc; j++) w->count[w->occupied[j]] = 0;
      return outside(e, "sample", i, x, d, ref, err);
    }
    if (w->count[idx]++ == 0) w->occupied[nocc++] = idx;
  }

  /* reference counts, when q is known only by its sample */
  size_t m = ref->sample.n, ntouched = 0;
  const double alpha = e->value[P_ALPHA].num;
  if (!use_q) {
    if (w->rcount_cap < K) {
      free(w->rcount);
      w->rcount_cap = 0;
      w->rcount = calloc(K, sizeof *w->rcount);
      if (!w->rcount) rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu histogram bins", K);
      else w->rcount_cap = K;
    }
    if (rc == FP_OK) {
      size_t *t = fp_est_grow(w->rtouched, &w->rtouched_cap, m, sizeof *w->rtouched);
      if (t) w->rtouched = t;
      else rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for a histogram of %zu points", m);
    }
    for (size_t i = 0; rc == FP_OK && i < m; i++) {
      const double *y = ref->sample.x + i * (size_t)d;
      size_t idx = bin_of(y, d, ref, b);
      if (idx == SIZE_MAX) {
        rc = outside(e, "reference sample", i, y, d, ref, err);
        break;
      }
      if (w->rcount[idx]++ == 0) w->rtouched[ntouched++] = idx;
    }
    rep->m = m;
  }

  /* the plug-in sum over occupied bins */
  double sum = 0.0;
  const double log_n = log((double)n);
  const double log_ref_total = log((double)m + alpha * (double)K);
  for (size_t j = 0; rc == FP_OK && j < nocc; j++) {
    size_t idx = w->occupied[j];
    double c = (double)w->count[idx];
    double log_Q;
    if (use_q) {
      log_Q = log_bin_mass(w, ref, d, b, idx);
      if (!isfinite(log_Q)) {
        rc = fp_fail(err, FP_ERR_NUMERIC,
                     "estimator '%s': log of q's mass in occupied bin %zu is %g (D is infinite "
                     "or log q is broken)",
                     e->spec, idx, log_Q);
        break;
      }
    } else {
      log_Q = log((double)w->rcount[idx] + alpha) - log_ref_total;
    }
    sum += c * (log(c) - log_n - log_Q);
  }
  for (size_t j = 0; j < nocc; j++) w->count[w->occupied[j]] = 0;
  for (size_t j = 0; j < ntouched; j++) w->rcount[w->rtouched[j]] = 0;
  if (rc != FP_OK) return rc;

  double value = sum / (double)n;
  if (e->value[P_MM].num != 0.0) {
    rep->correction = (double)(nocc - 1) / (2.0 * (double)n);
    value -= rep->correction;
  }
  for (int a = 0; a < d; a++) rep->bins[a] = b[a];
  rep->occupied = nocc;
  *kl = value;
  return FP_OK;
}

static const char *const hist_bins_words[] = {"auto", NULL};

static const fp_est_param hist_params[] = {
    {"bins", FP_EST_INT, hist_bins_words, "auto", 1, 65536, 0,
     "bins per axis over the support box; auto: ceil(L/w), w = 3.49 sd n^(-1/(d+2))"},
    {"mm", FP_EST_BOOL, NULL, "1", 0, 1, 0, "subtract the Miller-Madow term (K^-1)/(2n)"},
    {"gl", FP_EST_INT, NULL, "4", 1, HIST_MAX_GL, 0,
     "Gauss-Legendre points per axis for the bin masses of q"},
    {"alpha", FP_EST_REAL, NULL, "0.5", 0, 100, 1,
     "pseudo-count per bin of the reference histogram (only without log_q)"},
};

const fp_estimator_type fp_est_hist_type = {
    .name = "hist",
    .summary = "histogram plug-in sum p_j ln(p_j/Q_j), Q_j exact bin masses of q, Miller-Madow",
    .params = hist_params,
    .nparams = sizeof hist_params / sizeof hist_params[0],
    .needs_all = FP_EST_NEED_BOX,
    .needs_any = FP_EST_NEED_LOG_Q | FP_EST_NEED_SAMPLE,
    .estimate = hist_estimate,
    .free_work = hist_free,
};
