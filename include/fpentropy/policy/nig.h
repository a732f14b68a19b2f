/* fpentropy: the normal-inverse-gamma posterior of a one-coefficient Bayesian
 * linear regression (the conjugate model of Katz 2026, Section 6).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_nig, NIG(m, k, a, b): sigma^2 ~ InvGamma(a, b),
 *     beta | sigma^2 ~ N(m, sigma^2 / k), with cached special-function
 *     values of a (they are needed every period and change only on update);
 *   - fp_nig_init() and fp_nig_update(), the conjugate update with n points
 *     of y = beta x + eps, eps ~ N(0, sigma^2), no intercept;
 *   - fp_nig_log_score(), the mean log density of holdout points under the
 *     Student-t posterior predictive;
 *   - fp_nig_kl(), the exact KL(NIG_p || NIG_q) in closed form.
 *
 * Formulas (docs/learning-debt.md, fact sheet section 3):
 *   update: k' = k + sum x^2,  m' = (k m + sum x y) / k',  a' = a + n/2,
 *           b' = b + (sum y^2 - k' m'^2 + k m^2) / 2;
 *   predictive of y at x: Student t with nu = 2a, location m x,
 *           scale s = sqrt((b/a)(1 + x^2/k));
 *   KL(p || q) = a_q ln(b_p/b_q) + lnG(a_q) - lnG(a_p) + (a_p - a_q) psi(a_p)
 *                + a_p (b_q/b_p - 1)
 *                + [ln(k_p/k_q) + k_q/k_p - 1 + k_q (m_p - m_q)^2 a_p/b_p] / 2
 *   (inverse-gamma KL plus the expected conditional-normal KL, with
 *   E_p[1/sigma^2] = a_p/b_p).
 *
 * Thread safety: pure functions of their arguments.  Special functions come
 * from GSL's _e variants: nothing here aborts or prints.
 */
#ifndef FPENTROPY_NIG_H
#define FPENTROPY_NIG_H

#include <fpentropy/export.h>

#include <stddef.h>

#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_nig {
  double m, k, a, b;
  double lgamma_a;      /* ln Gamma(a) */
  double digamma_a;     /* psi(a) */
  double lgamma_a_half; /* ln Gamma(a + 1/2) (the predictive's normaliser) */
} fp_nig;

/* Set *out to NIG(m, k, a, b) with its cached values.  Requires k, a, b > 0
 * and finite m.  Returns FP_OK, FP_ERR_ARG or FP_ERR_NUMERIC. */
FP_API int fp_nig_init(double m, double k, double a, double b, fp_nig *out, fp_error *err);

/* The conjugate update of *post with the n points (x[i], y[i]) (in place;
 * n = 0 leaves it unchanged).  Returns FP_OK, FP_ERR_ARG (NULL with n > 0,
 * non-finite data) or FP_ERR_NUMERIC (b' not positive: cannot happen with
 * exact arithmetic, guarded against rounding). */
FP_API int fp_nig_update(fp_nig *post, const double *x, const double *y, size_t n, fp_error *err);

/* mean_i ln f(y[i] | x[i]) under the posterior predictive of *post:
 *   ln f = ln t_nu(z) - ln s,  nu = 2a,  s^2 = (b/a)(1 + x^2/k),
 *   z = (y - m x)/s,
 *   ln t_nu(z) = lnG((nu+1)/2) - lnG(nu/2) - ln(nu pi)/2
 *                - (nu+1)/2 ln(1 + z^2/nu).
 * n >= 1; no checks (hot path). */
FP_API double fp_nig_log_score(const fp_nig *post, const double *x, const double *y, size_t n);

/* KL(p || q) in closed form (above), not clipped: rounding can leave it a
 * few ulps below 0 for p == q (the study clips with max(D, 0) as Katz). */
FP_API double fp_nig_kl(const fp_nig *p, const fp_nig *q);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_NIG_H */
