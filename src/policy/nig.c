/* fpentropy: the normal-inverse-gamma posterior: conjugate update, Student-t
 * predictive log score and the exact KL divergence (nig.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/policy/nig.h>

#include <math.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>

#include "core/error_impl.h"

/* Fill the cached special-function values of post->a. */
static int nig_cache(fp_nig *post, fp_error *err)
{
  gsl_sf_result r1, r2, r3;
  int g1 = gsl_sf_lngamma_e(post->a, &r1);
  int g2 = gsl_sf_psi_e(post->a, &r2);
  int g3 = gsl_sf_lngamma_e(post->a + 0.5, &r3);
  if (g1 != GSL_SUCCESS || g2 != GSL_SUCCESS || g3 != GSL_SUCCESS)
    return fp_fail(err, FP_ERR_NUMERIC, "NIG: special functions failed at a = %g", post->a);
  post->lgamma_a = r1.val;
  post->digamma_a = r2.val;
  post->lgamma_a_half = r3.val;
  return FP_OK;
}

int fp_nig_init(double m, double k, double a, double b, fp_nig *out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_nig_init: out is NULL");
  if (!isfinite(m) || !(k > 0.0) || !(a > 0.0) || !(b > 0.0) || !isfinite(k) || !isfinite(a) ||
      !isfinite(b))
    return fp_fail(err, FP_ERR_ARG, "NIG(m = %g, k = %g, a = %g, b = %g): need finite m and "
                   "finite k, a, b > 0", m, k, a, b);
  fp_nig p = {.m = m, .k = k, .a = a, .b = b};
  int rc = nig_cache(&p, err);
  if (rc != FP_OK) return rc;
  *out = p;
  return FP_OK;
}

int fp_nig_update(fp_nig *post, const double *x, const double *y, size_t n, fp_error *err)
{
  if (!post) return fp_fail(err, FP_ERR_ARG, "fp_nig_update: post is NULL");
  if (n == 0) return FP_OK;
  if (!x || !y) return fp_fail(err, FP_ERR_ARG, "fp_nig_update: NULL data with n = %zu", n);
  double sxx = 0.0, sxy = 0.0, syy = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i]))
      return fp_fail(err, FP_ERR_ARG, "fp_nig_update: point %zu (%g, %g) is not finite", i, x[i],
                     y[i]);
    sxx += x[i] * x[i];
    sxy += x[i] * y[i];
    syy += y[i] * y[i];
  }
  double k1 = post->k + sxx;
  double m1 = (post->k * post->m + sxy) / k1;
  double a1 = post->a + 0.5 * (double)n;
  double b1 = post->b + 0.5 * (syy - k1 * m1 * m1 + post->k * post->m * post->m);
  if (!(b1 > 0.0) || !isfinite(b1))
    return fp_fail(err, FP_ERR_NUMERIC, "fp_nig_update: b' = %g is not positive", b1);
  fp_nig p = {.m = m1, .k = k1, .a = a1, .b = b1};
  int rc = nig_cache(&p, err);
  if (rc != FP_OK) return rc;
  *post = p;
  return FP_OK;
}

double fp_nig_log_score(const fp_nig *post, const double *x, const double *y, size_t n)
{
  double nu = 2.0 * post->a;
  /* ln t_nu(z) without its z term: lnG((nu+1)/2) - lnG(nu/2) - ln(nu pi)/2 */
  double c = post->lgamma_a_half - post->lgamma_a - 0.5 * log(nu * M_PI);
  double scale2 = post->b / post->a;
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    double s2 = scale2 * (1.0 + x[i] * x[i] / post->k);
    double r = y[i] - post->m * x[i];
    double z2 = r * r / s2;
    sum += c - 0.5 * (nu + 1.0) * log1p(z2 / nu) - 0.5 * log(s2);
  }
  return sum / (double)n;
}

double fp_nig_kl(const fp_nig *p, const fp_nig *q)
{
  /* Written in relative differences so that nearly equal posteriors lose no
   * digits: rb = b_q/b_p - 1, rk = k_q/k_p - 1, da = a_q - a_p,
   *   IG part = a_p (rb - ln(1 + rb)) - da ln(1 + rb)
   *             + [lnG(a_q) - lnG(a_p) - da psi(a_p)],
   * the bracket by lnpoch (GSL's ln Gamma(a+x)/Gamma(a), accurate for small
   * x) when a_q is near a_p, from the cached values otherwise. */
  double rb = (q->b - p->b) / p->b;
  double l1b = log1p(rb);
  double da = q->a - p->a;
  double lg = q->lgamma_a - p->lgamma_a;
  if (da != 0.0 && fabs(da) < 1.0) {
    gsl_sf_result r;
    if (gsl_sf_lnpoch_e(p->a, da, &r) == GSL_SUCCESS) lg = r.val;
  }
  double ig = p->a * (rb - l1b) - da * l1b + (lg - da * p->digamma_a);
  double dm = p->m - q->m;
  double rk = (q->k - p->k) / p->k;
  double normal = 0.5 * ((rk - log1p(rk)) + q->k * dm * dm * p->a / p->b);
  return ig + normal;
}
