/* fpentropy: compiled scalar expressions of the coordinates and time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_constants, a list of named constants (name -> value);
 *   - fp_expr, an expression in x, y, z (the first `dim` of them), t and named
 *     constants, parsed once and evaluated many times;
 *   - symbolic derivatives (used for the exact Ito divergence of D and for
 *     drifts given as a potential).
 *
 * Syntax: + - * / ^ (right-associative, binding tighter than a sign: -x^2 is
 * -(x^2)), parentheses, decimal numbers, and the one-argument functions exp
 * log sqrt sin cos tan cot sec csc asin acos atan acot asec acsc sinh cosh
 * tanh coth sech csch asinh acosh atanh acoth asech acsch abs step delta
 * nandelta erf.  The constants e and pi are predefined.  Only ASCII letters,
 * digits, _ . + - * / ^ ( ) and white space may appear: any other character
 * (a Unicode minus, x²) is an error naming it and its column.  Sums and
 * products are evaluated left to right, as written.
 *
 * Thread safety: an fp_expr keeps its variable values inside, so one object
 * must not be evaluated by two threads at once.
 */
#ifndef FPENTROPY_EXPR_H
#define FPENTROPY_EXPR_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>

#include <fpentropy/problem/grid.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_constants {
  size_t count;
  char **names;   /* owned; count entries */
  double *values; /* owned; count entries */
  size_t capacity;  /* allocated entries of names and values */
  size_t *index;    /* private hash index (position + 1; 0 = empty) */
  size_t index_cap; /* a power of two, or 0 */
} fp_constants;

/* Longest expression text (bytes) and deepest nesting (parentheses,
 * functions, signs and powers) fp_expr_create accepts. */
#define FP_EXPR_MAX_LENGTH 1048576
#define FP_EXPR_MAX_DEPTH 200

/* Whether `name` is one of the functions above. */
FP_API bool fp_expr_is_function_name(const char *name);

/* Add or replace a named constant.  Names must be identifiers that are not
 * x, y, z, t, e or pi.  Returns FP_OK, FP_ERR_ARG or FP_ERR_NOMEM. */
FP_API int fp_constants_set(fp_constants *c, const char *name, double value, fp_error *err);

/* Value of a constant by name; returns false if absent. */
FP_API bool fp_constants_get(const fp_constants *c, const char *name, double *value);

/* Free the names and values and zero *c.  NULL is a no-op. */
FP_API void fp_constants_clear(fp_constants *c);

typedef struct fp_expr fp_expr; /* opaque */

/* Parse `text` as an expression in the first `dim` coordinates (x, y, z), t,
 * and the names in `constants` (which may be NULL).  The constants' values
 * are copied: later changes to `constants` do not affect *out.
 * Errors: FP_ERR_EXPR when the text holds a character outside the set above,
 * is too long or too deeply nested, does not parse ("cannot parse ... at
 * column N") or uses a name that is not allowed (the message lists the
 * allowed names).
 * Ownership: the caller destroys *out with fp_expr_destroy(). */
FP_API int fp_expr_create(const char *text, int dim, const fp_constants *constants,
                   fp_expr **out, fp_error *err);

/* A scalar coefficient as a C function of the coordinates x[0..dim-1] and
 * time t; ctx is the caller's, passed through unchanged. */
typedef double (*fp_scalar_fn)(const double *x, double t, void *ctx);

/* What a C function depends on (fp_expr_create_fn's `depends`). */
#define FP_FN_DEPENDS_X 0x1u
#define FP_FN_DEPENDS_Y 0x2u
#define FP_FN_DEPENDS_Z 0x4u
#define FP_FN_DEPENDS_SPACE 0x7u /* x, y and z */
#define FP_FN_DEPENDS_T 0x8u

/* Wrap a C function as an expression, so that every module that takes
 * expressions (fields, densities, the operator) takes it too.
 *   fn, ctx   the function and its context (ctx may be NULL; the caller
 *             keeps it alive as long as the expression);
 *   dim       1, 2 or 3;
 *   depends   FP_FN_DEPENDS_* bits: what fn depends on.  It is a promise:
 *             the solver reassembles the operator in time only when some
 *             coefficient has FP_FN_DEPENDS_T, and a derivative along an
 *             axis that is not declared is exactly 0;
 *   name      shown in messages and summaries (may be NULL).
 * Derivatives (fp_expr_derivative) are the ones given with
 * fp_expr_set_derivative_fn(), else central differences with a step of
 * eps^(1/3) (relative error ~1e-10 on smooth functions).  A C function is not
 * symbolic: fp_expr_is_symbolic() is false and closed-form detection treats
 * it as not linear-Gaussian.  fn is called from the thread that evaluates
 * the expression; it must be safe to call concurrently only if the caller
 * evaluates concurrently.
 * Returns FP_OK, FP_ERR_ARG (NULL fn or out, bad dim or bits), FP_ERR_NOMEM.
 * Ownership: the caller destroys *out with fp_expr_destroy(). */
FP_API int fp_expr_create_fn(fp_scalar_fn fn, void *ctx, int dim, unsigned depends, const char *name,
                      fp_expr **out, fp_error *err);

/* Give the exact derivative of a C-function expression along `axis`
 * (0..dim-1, or FP_EXPR_TIME).  Returns FP_OK or FP_ERR_ARG (e not made by
 * fp_expr_create_fn, axis out of range). */
FP_API int fp_expr_set_derivative_fn(fp_expr *e, int axis, fp_scalar_fn dfn, void *ctx, fp_error *err);

/* Whether e was parsed from text (true) or wraps a C function (false). */
FP_API bool fp_expr_is_symbolic(const fp_expr *e);

/* Evaluate at coordinates x[0..dim-1] and time t. */
FP_API double fp_expr_eval(fp_expr *e, const double x[FP_MAX_DIM], double t);

#define FP_EXPR_TIME (-1)

/* d e / d x_axis (axis 0..dim-1) or d e / d t (axis == FP_EXPR_TIME), as a new
 * expression owned by the caller (symbolic for text, exact or central
 * differences for C functions: fp_expr_create_fn).  Errors: FP_ERR_ARG,
 * FP_ERR_EXPR, FP_ERR_UNSUPPORTED (second derivative of a C function),
 * FP_ERR_NOMEM. */
FP_API int fp_expr_derivative(const fp_expr *e, int axis, fp_expr **out, fp_error *err);

/* Whether the (simplified) expression refers to coordinate `axis` or, with
 * FP_EXPR_TIME, to t. */
FP_API bool fp_expr_depends_on(const fp_expr *e, int axis);

/* Whether the expression is the constant 0 after simplification. */
FP_API bool fp_expr_is_zero(const fp_expr *e);

/* The text the expression was created from (owned by e). */
FP_API const char *fp_expr_text(const fp_expr *e);

/* Destroy *e and set it to NULL.  NULL or *e == NULL is a no-op. */
FP_API void fp_expr_destroy(fp_expr **e);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_EXPR_H */
