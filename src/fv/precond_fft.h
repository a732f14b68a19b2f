/* fpentropy (internal): fast-transform preconditioner for I - gamma L.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Solves (I - gamma sum_k Dbar_k Delta_k) z = r exactly, where Delta_k is the
 * cell-centred second difference along axis k with the grid's boundary
 * conditions: reflecting (Neumann, DCT-II/III), periodic (real DFT in
 * half-complex form) and absorbing (p = 0 on the wall, DST-II/III).  The
 * eigenvalues are known in closed form, so one forward transform, a diagonal
 * scaling and one inverse transform solve the system: O(N log N).  Dbar_k is
 * the mean of D_kk; the drift is left out, which is why this is a
 * preconditioner and not a solver. */
#ifndef FPENTROPY_PRECOND_FFT_H
#define FPENTROPY_PRECOND_FFT_H

#include <stdbool.h>

#include <fpentropy/problem/grid.h>
#include <fpentropy/core/status.h>

typedef struct fp_precond_fft fp_precond_fft;

/* Plans are made here: FFTW_ESTIMATE by default (fast setup, the same plan
 * on every run, so bitwise-reproducible results), FFTW_MEASURE with
 * `measure` (transforms 2-3x faster on large grids; planning costs ~0.1 s at
 * 256^2 and may pick different algorithms from run to run). */
int fp_precond_fft_create(const fp_grid *g, bool measure, fp_precond_fft **out, fp_error *err);
void fp_precond_fft_destroy(fp_precond_fft **p);

/* z = (I - gamma sum_k D_k Delta_k)^{-1} r; r and z may alias. */
void fp_precond_fft_solve(fp_precond_fft *p, double gamma, const double D[FP_MAX_DIM],
                          const double *r, double *z);

/* z = (sum_k D_k Delta_k)^+ r: the pseudo-inverse of the constant-coefficient
 * diffusion operator (the constant mode of reflecting/periodic grids, its
 * null space, is mapped to 0); r and z may alias.  Preconditioner of the
 * stationary problem L p = 0 (stationary.c).  On 2D grids with a reflecting
 * y axis, -(sigma - sum D_k Delta_k)^{-1} with sigma = 1e-3 of the smallest
 * nonzero decay rate and the constant mode removed (cheaper transforms; the
 * same preconditioner to 0.1 %). */
void fp_precond_fft_solve_diffusion(fp_precond_fft *p, const double D[FP_MAX_DIM], const double *r,
                                    double *z);

#endif /* FPENTROPY_PRECOND_FFT_H */
