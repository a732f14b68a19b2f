/* fpentropy (internal): Chebyshev expansion of exp(tau L) for the exponential
 * integrator.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * With rho >= the spectral extent of L (its eigenvalues in [-rho, 0], up to
 * small imaginary parts from the drift), A = (2 / rho) L + I has its spectrum
 * in [-1, 1] and, with z = rho tau / 2,
 *
 *     exp(tau L) = e^{-z} exp(z A) = c_0 I + 2 sum_{k>=1} c_k T_k(A),
 *     c_k = e^{-z} I_k(z)  (modified Bessel functions, scaled),
 *
 * the Chebyshev series of the exponential (Tal-Ezer and Kosloff 1984).  The
 * vectors T_k(A) p follow the three-term recurrence, one application of L
 * each and no inner products, so a step costs K operator applications with
 * K ~ sqrt(2 z log(1/tol)): cells^1.5 on a fixed interval in 2D, but at
 * memory-bandwidth speed, without the Arnoldi basis of a Krylov step.
 *
 * rho is the largest column sum of |L| (Gershgorin's discs by columns: the
 * columns of a conservative L sum to 0, so every eigenvalue lies in a disc
 * centred at L_jj < 0 of radius at most |L_jj|).  The series converges for
 * eigenvalues off the interval too, more slowly; the step measures the
 * largest |T_k(A) p| it met, and its error estimate includes it. */
#ifndef FPENTROPY_CHEBYSHEV_IMPL_H
#define FPENTROPY_CHEBYSHEV_IMPL_H

#include <stddef.h>

#include <fpentropy/fv/operator.h>

#include "fv/stencil_impl.h"

/* The largest column sum of |L| for the operator's current matrix. */
double fp_cheb_spectral_bound(const fp_operator *op);

/* c[0..K] = e^{-z} I_k(z) for the smallest K with 2 sum_{k>K} c_k <= tol
 * (Miller's backward recurrence, normalised by c_0 + 2 sum c_k = 1), and
 * *tail = that tail.  Returns K, or -1 when more than cap - 1 terms would be
 * needed, or when z < 1e-6 (a step that short is left to the caller's
 * other method) or the arguments are not usable. */
int fp_cheb_coefficients(double z, double tol, double *c, int cap, double *tail);

/* The terms of fp_cheb_coefficients for z, tol: an upper bound on K before
 * the coefficients are computed (for sizing c). */
int fp_cheb_terms_bound(double z);

/* The stencil of (4 / rho) L for the recurrence's 2 A v = (4 / rho) L v +
 * 2 v (fp_stencil_create_scaled), or *out = NULL where the operator has no
 * stencil (full tensors).  Ownership: fp_stencil_destroy(). */
int fp_cheb_stencil_create(const fp_operator *op, double rho, fp_stencil **out, fp_error *err);

/* The most outputs one series evaluation serves (fp_cheb_apply). */
#define FP_CHEB_MAX_OUTPUTS 8

/* Several series on the same vectors T_k(A) p, A = (2/rho) L + I: for
 * j < nout (1 <= nout <= FP_CHEB_MAX_OUTPUTS),
 *     out[j] = sum_{k <= K[j]} (k ? 2 : 1) c[j][k] T_k(A) p,
 * with K ascending (the outputs of a multi-output step, c[j] the
 * coefficients of its j-th time): one recurrence to K[nout-1], each level
 * added to every sum that reaches it while its rows are in cache.
 * growth[j] = the largest max-norm of the T_k(A) p with k <= K[j].
 * `scaled` from fp_cheb_stencil_create(op, rho) (the fused recurrence) or
 * NULL (the operator's own apply); work holds 3 n values. */
void fp_cheb_apply(fp_operator *op, const fp_stencil *scaled, double rho, int nout,
                   const double *const *c, const int *K, const double *p, double *const *out,
                   double *work, size_t n, double *growth);

#endif /* FPENTROPY_CHEBYSHEV_IMPL_H */
