/* fpentropy: drift and diffusion fields of a case, evaluated pointwise.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_fields, the coefficient fields of the Ito Fokker-Planck equation
 *         dp/dt = -div J,   J = a p - div(D p) = v p - D grad p,   v = a - div D,
 *     built from a case's expressions, with div D from exact symbolic
 *     derivatives;
 *   - fp_fields_eval(), which gives D, v and (with a potential) grad V at a point.
 *
 * With a potential V the case's drift is a = -D grad V + div D + f (f the
 * drift_* keys), so v = -D grad V + f and exp(-V) is stationary when f = 0.
 */
#ifndef FPENTROPY_FIELDS_H
#define FPENTROPY_FIELDS_H

#include <fpentropy/export.h>

#include <stdbool.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/problem/grid.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_fields fp_fields; /* opaque */

/* The value of every coefficient at one point. */
typedef struct fp_field_values {
  double D[FP_MAX_DIM][FP_MAX_DIM]; /* diffusion tensor (symmetric) */
  double v[FP_MAX_DIM];             /* effective velocity a - div D */
  double a[FP_MAX_DIM];             /* Ito drift */
  double div_D[FP_MAX_DIM];         /* (div D)_i = sum_j d_j D_ij */
  double extra[FP_MAX_DIM];         /* f: the drift_* keys when a potential is given */
  double grad_V[FP_MAX_DIM];        /* grad V (0 without a potential) */
} fp_field_values;

/* What the fields are made of: the coefficient expressions of one problem
 * (borrowed, never NULL within dim, except `potential`).  This, not the whole
 * case, is what the numerical modules take. */
typedef struct fp_field_spec {
  int dim;                                   /* 1, 2 or 3 */
  fp_expr *drift[FP_MAX_DIM];                /* Ito drift (or f with a potential) */
  fp_expr *diffusion[FP_MAX_DIM][FP_MAX_DIM]; /* D, symmetric; [i][j], [j][i] may be
                                                 the same object or separate ones */
  fp_expr *potential;                        /* NULL unless a potential is given */
} fp_field_spec;

/* The field spec of case (or problem) `c`: pointers into c, valid as long as c. */
FP_API void fp_case_field_spec(const fp_case *c, fp_field_spec *out);

/* Compile fields from their spec (the expressions stay the caller's and must
 * outlive the fields; *out holds derivatives of its own).  D is diagonal when
 * every off-diagonal entry simplifies to 0.
 * Errors: FP_ERR_ARG (NULL, dim out of range, a missing entry), FP_ERR_EXPR or
 * FP_ERR_UNSUPPORTED from differentiation, FP_ERR_NOMEM.
 * Ownership: fp_fields_destroy(). */
FP_API int fp_fields_create_spec(const fp_field_spec *spec, fp_fields **out, fp_error *err);

/* The same for the fields of case `c` (fp_case_field_spec + create_spec). */
FP_API int fp_fields_create(const fp_case *c, fp_fields **out, fp_error *err);
/* Release fields; NULL and *f == NULL are no-ops; sets *f to NULL. */
FP_API void fp_fields_destroy(fp_fields **f);

/* Whether any coefficient refers to t (then the operator is reassembled
 * whenever CVODE asks for a new time). */
FP_API bool fp_fields_time_dependent(const fp_fields *f);

/* Whether a potential V is part of the drift. */
FP_API bool fp_fields_has_potential(const fp_fields *f);

/* Whether D has no off-diagonal entries. */
FP_API bool fp_fields_diagonal(const fp_fields *f);

/* Coefficients at point x, time t. */
FP_API void fp_fields_eval(fp_fields *f, const double x[FP_MAX_DIM], double t, fp_field_values *out);

/* The potential V(x, t) (0 without a potential). */
FP_API double fp_fields_potential(fp_fields *f, const double x[FP_MAX_DIM], double t);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_FIELDS_H */
