/* fpentropy: the densities a run starts from and compares with (what `run` does with [reference]).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * fp_reference holds, for one case on its grid:
 *   - p0, the initial density sampled at cell centres and normalised;
 *   - q, the reference density q_ref (an expression, the initial density,
 *     or the stationary density of the discrete dynamics at t = 0);
 *   - when the case is linear-Gaussian (drift -A x + c(t) with constant A,
 *     D independent of x, Gaussian initial and reference densities,
 *     reflecting walls), the closed-form solution, used for the *_exact
 *     columns of balance.csv.  Detection is symbolic: the derivatives of the
 *     case's expressions are checked to be constant at sample points.
 */
#ifndef FPENTROPY_REFERENCE_H
#define FPENTROPY_REFERENCE_H

#include <fpentropy/export.h>

#include <stdbool.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/balance/gaussian.h>
#include <fpentropy/fv/operator.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FP_REFERENCE_EXACT_COLUMNS 7

typedef struct fp_reference {
  const fp_case *c;
  double *p0;            /* ncells, owned */
  double *q;             /* ncells, owned */
  double Z_initial;      /* normalising constant of the initial expression */
  double Z_reference;    /* ... of the reference expression (0 otherwise) */
  char description[160];
  /* closed form (linear-Gaussian cases) */
  bool gaussian;
  char not_gaussian_reason[160];
  bool gaussian_split;   /* the frozen dynamics has a stationary density */
  fp_gaussian_model model;
  fp_gaussian q_gauss;
  fp_gaussian_ou *ou;
  double *work;          /* ncells, the exact density on the grid */
} fp_reference;

/* Sample p0 and q on the grid of `op` (assembled at t = 0) and detect the
 * closed form.  Errors: those of fp_density_sample() and
 * fp_stationary_solve(), with the case path in the message. */
FP_API int fp_reference_init(fp_reference *r, const fp_case *c, fp_operator *op, fp_error *err);

/* Release what fp_reference_init() allocated and zero *r (NULL-safe; also
 * after a failed init). */
FP_API void fp_reference_clear(fp_reference *r);

/* "expression", "initial density" or "stationary density (residual ...)". */
FP_API const char *fp_reference_describe(const fp_reference *r);

/* Names of the closed-form columns (0 when there is no closed form). */
FP_API size_t fp_reference_exact_column_names(const fp_reference *r, const char **names);

/* Append the closed-form values at time t, for the grid density p, to
 * values[*n ...] and advance *n. */
FP_API int fp_reference_exact_values(fp_reference *r, double t, const double *p, double *values,
                              size_t *n, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_REFERENCE_H */
