/* fpentropy (internal): restarted GMRES with right preconditioning, for the iterative solves.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FPENTROPY_GMRES_IMPL_H
#define FPENTROPY_GMRES_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <fpentropy/core/status.h>

/* The operator A and the preconditioner M^-1 (out must not alias in). */
typedef struct fp_gmres_ops {
  void (*apply)(void *ctx, const double *in, double *out);
  void (*precond)(void *ctx, const double *in, double *out);
  void *ctx;
} fp_gmres_ops;

typedef struct fp_gmres fp_gmres; /* workspace for n unknowns, restart length m */

int fp_gmres_create(size_t n, int m, fp_gmres **out, fp_error *err);
void fp_gmres_destroy(fp_gmres **g);

/* Solve A x = b (b NULL: 0) from the initial guess in x by GMRES(m) on
 * A M^-1, x += M^-1 V y at each restart.  Converged when the residual
 * ||b - A x||_2 is at most atol + xscale ||x||_2 (both evaluated at the
 * start of each restart; inside a cycle GMRES's own residual estimate is
 * compared with the same bound), or gives up after max_iter applications of
 * A.  Returns whether it converged; *iters and *residual (the last true
 * residual) may be NULL. */
bool fp_gmres_solve(fp_gmres *g, const fp_gmres_ops *ops, const double *b, double *x, double atol,
                    double xscale, int max_iter, int *iters, double *residual);

#endif /* FPENTROPY_GMRES_IMPL_H */
