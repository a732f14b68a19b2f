/* fpentropy: "gauss", the moment-matched Gaussian KL estimator.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * p is replaced by N(mean, S) fitted to the sample (S with the n-1
 * divisor), q by N(ref->mean, ref->cov) when the reference knows its moments
 * or else by the same fit to the reference sample, and D is the closed form
 * fp_gaussian_kl().  With bc=1 the Wishart bias of the p-side is removed, so
 * that for Gaussian p and known q the estimator is exactly unbiased:
 *   E[tr(A S)] = tr(A Sp),  E[(mq - m^)^T A (mq - m^)] = delta^T A delta + tr(A Sp)/n,
 *   E[ln det S] = ln det Sp + sum_{i=1..d} psi((n-i)/2) + d ln(2/(n-1)),
 * with A = Sq^-1, hence  D_bc = D^ + (1/2)[b - tr(A S)/n],
 * b = sum_i psi((n-i)/2) + d ln(2/(n-1)). */
#include <float.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_psi.h>

#include <fpentropy/balance/gaussian.h>

#include "core/error_impl.h"
#include "core/spd_impl.h"
#include "streams/estimator_impl.h"

static void fit(const fp_samples *s, fp_gaussian *g)
{
  const int d = s->dim;
  memset(g, 0, sizeof *g);
  g->dim = d;
  for (size_t i = 0; i < s->n; i++)
    for (int a = 0; a < d; a++) g->mean[a] += s->x[i * (size_t)d + (size_t)a];
  for (int a = 0; a < d; a++) g->mean[a] /= (double)s->n;
  for (size_t i = 0; i < s->n; i++) {
    const double *x = s->x + i * (size_t)d;
    for (int a = 0; a < d; a++)
      for (int b = 0; b <= a; b++) g->cov[a][b] += (x[a] - g->mean[a]) * (x[b] - g->mean[b]);
  }
  for (int a = 0; a < d; a++)
    for (int b = 0; b <= a; b++) {
      g->cov[a][b] /= (double)(s->n - 1);
      g->cov[b][a] = g->cov[a][b];
    }
}

/* tr(Q^-1 S) for Q symmetric positive definite: solve Q x_c = s_c for every
 * column c of S and sum the diagonal entries x_c[c]. */
static double trace_solve(int d, double Q[3][3], double S[3][3])
{
  fp_spd f;
  fp_spd_factor(d, (const double(*)[3])Q, &f);
  double tr = 0.0;
  for (int c = 0; c < d; c++) {
    double col[3], x[3];
    for (int i = 0; i < d; i++) col[i] = S[i][c];
    fp_spd_solve(&f, col, x);
    tr += x[c];
  }
  return tr;
}

static int gauss_estimate(fp_estimator *e, const fp_samples *p, const fp_kl_reference *ref,
                          double *kl, fp_estimator_report *rep, fp_error *err)
{
  const int d = p->dim;
  const size_t n = p->n;
  const int bc = e->value[0].num != 0.0;
  if (n < (size_t)d + 2)
    return fp_fail(err, FP_ERR_ARG, "estimator '%s' needs at least dim+2 = %d points, got %zu",
                   e->spec, d + 2, n);
  fp_gaussian gp, gq;
  fit(p, &gp);
  if (ref->has_moments) {
    memset(&gq, 0, sizeof gq);
    gq.dim = d;
    for (int a = 0; a < d; a++) {
      gq.mean[a] = ref->mean[a];
      for (int b = 0; b < d; b++) gq.cov[a][b] = ref->cov[a][b];
    }
  } else {
    if (ref->sample.n < (size_t)d + 2)
      return fp_fail(err, FP_ERR_ARG,
                     "estimator '%s' needs at least dim+2 = %d reference points, got %zu",
                     e->spec, d + 2, ref->sample.n);
    fit(&ref->sample, &gq);
    rep->m = ref->sample.n;
  }
  fp_spd f;
  if (!fp_spd_factor(d, (const double(*)[3])gp.cov, &f))
    return fp_fail(err, FP_ERR_NUMERIC,
                   "estimator '%s': the sample covariance of p is singular (degenerate sample)",
                   e->spec);
  if (!ref->has_moments && !fp_spd_factor(d, (const double(*)[3])gq.cov, &f))
    return fp_fail(err, FP_ERR_NUMERIC,
                   "estimator '%s': the covariance of the reference sample is singular", e->spec);
  double value;
  int rc = fp_gaussian_kl(&gp, &gq, &value, err);
  if (rc != FP_OK) return fp_fail_context(err, rc, "estimator '%s'", e->spec);
  if (bc) {
    double b = (double)d * log(2.0 / (double)(n - 1));
    for (int i = 1; i <= d; i++) {
      gsl_sf_result r;
      int grc = gsl_sf_psi_e(0.5 * (double)(n - (size_t)i), &r); /* argument >= 1 */
      if (grc != GSL_SUCCESS)
        return fp_fail(err, FP_ERR_NUMERIC, "estimator '%s': digamma failed (%s)", e->spec,
                       gsl_strerror(grc));
      b += r.val;
    }
    rep->correction = 0.5 * (b - trace_solve(d, gq.cov, gp.cov) / (double)n);
    value += rep->correction;
  }
  *kl = value;
  return FP_OK;
}

static const fp_est_param gauss_params[] = {
    {"bc", FP_EST_BOOL, NULL, "1", 0, 1, 0,
     "remove the Wishart bias of the fitted p (exactly unbiased for Gaussian p, known q)"},
};

const fp_estimator_type fp_est_gauss_type = {
    .name = "gauss",
    .summary = "Gaussian fit: closed-form KL between N(mean, cov) of p and of q",
    .params = gauss_params,
    .nparams = sizeof gauss_params / sizeof gauss_params[0],
    .needs_all = 0,
    .needs_any = FP_EST_NEED_MOMENTS | FP_EST_NEED_SAMPLE,
    .estimate = gauss_estimate,
    .free_work = NULL,
};
