/* fpentropy: the stationary density of the frozen discrete dynamics.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains fp_stationary_solve(): the normalised null vector of
 * the assembled operator L(t) (reflecting and periodic boundaries; with an
 * absorbing wall L is invertible and there is no stationary density).
 *
 * Method: one equation of L p = 0 is redundant (the columns of L sum to zero
 * because the scheme conserves mass), so it is replaced by p_r = 1 for a cell
 * r in the bulk of `hint`; the resulting sparse system is solved directly
 * with KLU and the solution normalised to unit mass.  The residual
 * ||L p_ss||_inf / (||L||_inf ||p_ss||_inf) is returned for the caller to
 * check and report.  fp_stationary_solve_iterative() finds the same vector by
 * GMRES preconditioned with the FFT diffusion pseudo-inverse, and
 * fp_stationary_solve_auto() picks (run.c uses it for the split).
 *
 * On 3D grids above FP_STATIONARY_DIRECT_MAX_3D cells the direct solve is
 * replaced by inverse iteration x <- (I - tau L)^-1 x (tau = 1e3) with
 * FFT-preconditioned GMRES, stopped at a relative residual of 1e-13: KLU's
 * fill-in on 3D stencils makes the direct solve cost minutes there.
 */
#ifndef FPENTROPY_STATIONARY_H
#define FPENTROPY_STATIONARY_H

#define FP_STATIONARY_DIRECT_MAX_3D 4096

#include <fpentropy/export.h>

#include <fpentropy/fv/operator.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* p_ss (ncells) receives the stationary density of L at the operator's
 * assembled time; `hint` (ncells, may be NULL) picks the pinned cell (its
 * maximum).  Errors: FP_ERR_UNSUPPORTED with an absorbing boundary,
 * FP_ERR_NUMERIC if KLU finds the system singular or the solution has a
 * negative entry beyond round-off (the message says where). */
FP_API int fp_stationary_solve(fp_operator *op, const double *hint, double *p_ss,
                        double *residual, fp_error *err);

/* Iterative solve: GMRES on the zero-mass subspace, preconditioned by the
 * FFT pseudo-inverse of the mean diffusion operator, from `hint` (NULL: the
 * uniform density) to the round-off level of L p; then the same
 * normalisation and checks as fp_stationary_solve.  `iterations` (may be
 * NULL) receives the operator applications.  Errors: as above, and
 * FP_ERR_NUMERIC when GMRES does not converge. */
FP_API int fp_stationary_solve_iterative(fp_operator *op, const double *hint, double *p_ss,
                                  double *residual, int *iterations, fp_error *err);

typedef enum fp_stationary_method {
  FP_STATIONARY_KLU,
  FP_STATIONARY_GMRES_FFT
} fp_stationary_method;

/* From this many cells (2D and 3D) the iterative solve is tried first: it
 * beat KLU from 64^2 up on ou2d_rotating (docs/scheme.md). */
#define FP_STATIONARY_ITERATIVE_MIN_CELLS 4096

/* The iterative solve where it beats KLU (diagonal D, from
 * FP_STATIONARY_ITERATIVE_MIN_CELLS cells), KLU otherwise - full tensors
 * included, whose GMRES answer was not accurate enough in p_ss's far tail -
 * and whenever the iterative one fails its checks; `used` (may be NULL)
 * says which. */
FP_API int fp_stationary_solve_auto(fp_operator *op, const double *hint, double *p_ss, double *residual,
                             fp_stationary_method *used, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_STATIONARY_H */
