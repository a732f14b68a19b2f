/* fpentropy (internal): small dense symmetric positive definite matrices (dim <= 3).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One Cholesky factorisation and one definiteness rule for the whole library
 * (diffusion tensors, covariances): a matrix is positive definite when every
 * Cholesky pivot is finite and larger than FP_SPD_PIVOT_RTOL times the
 * largest diagonal entry, i.e. definite beyond the round-off of the
 * factorisation itself.  Matrices are given as double[3][3] (the leading
 * dim x dim block is used). */
#ifndef FPENTROPY_SPD_IMPL_H
#define FPENTROPY_SPD_IMPL_H

#define FP_SPD_MAX 3
/* ~1e3 ulps: pivots below this are indistinguishable from 0 after the
 * subtractions of a 3x3 factorisation. */
#define FP_SPD_PIVOT_RTOL 2.220446049250313e-13

typedef struct fp_spd {
  int dim;
  double L[FP_SPD_MAX][FP_SPD_MAX]; /* lower-triangular factor, A = L L^T (0 elsewhere) */
  double logdet;                    /* ln det A */
  int bad_pivot;                    /* on failure: the 1-based index of the first bad pivot */
  double bad_value;                 /* ... and its value (before the square root) */
} fp_spd;

/* Factor the symmetric matrix A (its lower triangle is read).  Returns 1 when
 * A is positive definite by the rule above, 0 otherwise (then bad_pivot and
 * bad_value say where). */
int fp_spd_factor(int dim, const double A[FP_SPD_MAX][FP_SPD_MAX], fp_spd *out);

/* v^T A^-1 v = |L^-1 v|^2. */
double fp_spd_inverse_quadratic(const fp_spd *f, const double *v);

/* x = A^-1 b (x and b may be the same array). */
void fp_spd_solve(const fp_spd *f, const double *b, double *x);

/* A^-1, symmetrised (zero beyond dim). */
void fp_spd_inverse(const fp_spd *f, double inv[FP_SPD_MAX][FP_SPD_MAX]);

#endif /* FPENTROPY_SPD_IMPL_H */
