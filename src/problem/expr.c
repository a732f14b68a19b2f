/* fpentropy: compiled scalar expressions (a thin, checked layer over libmatheval).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libmatheval parses into a tree and differentiates symbolically, which gives
 * the exact Ito divergence of D.  Its evaluate call looks every variable up by
 * name, so each fp_expr keeps only the variables the simplified expression
 * actually uses, with constants' values filled in once at creation. */
#include <fpentropy/problem/expr.h>

#include <ctype.h>
#include <math.h>
#include <matheval.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

enum { SLOT_X = 0, SLOT_Y, SLOT_Z, SLOT_T, SLOT_CONSTANT };

/* A C callback in place of a parsed text (fp_expr_create_fn), or the
 * central-difference derivative of one along `fd_axis`. */
typedef struct fn_source {
  fp_scalar_fn fn;
  void *ctx;
  unsigned depends;    /* FP_FN_DEPENDS_* */
  int fd_axis;         /* -2: the function itself; else the axis (or FP_EXPR_TIME)
                          of a central difference */
  fp_scalar_fn dfn[FP_MAX_DIM + 1]; /* caller's exact derivatives (index axis, or
                                       FP_MAX_DIM for t); NULL: differences */
  void *dctx[FP_MAX_DIM + 1];
} fn_source;

struct fp_expr {
  fn_source *fn;       /* non-NULL for callbacks; then evaluator is NULL */
  void *evaluator;     /* libmatheval object */
  char *text;          /* as given by the caller */
  int dim;
  int count;           /* variables used */
  char **names;        /* owned copies, count entries */
  double *values;      /* count entries; constants preset */
  int *slot;           /* SLOT_X..SLOT_T, or SLOT_CONSTANT */
  fp_constants constants; /* copy, for derivatives */
};

static const char *const coordinate_names[FP_MAX_DIM] = {"x", "y", "z"};

static char *duplicate(const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static bool is_identifier(const char *s)
{
  if (!s || !(isalpha((unsigned char)*s) || *s == '_')) return false;
  for (const char *p = s + 1; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_')) return false;
  return true;
}

int fp_constants_set(fp_constants *c, const char *name, double value, fp_error *err)
{
  if (!c || !name) return fp_fail(err, FP_ERR_ARG, "fp_constants_set: NULL argument");
  if (!is_identifier(name))
    return fp_fail(err, FP_ERR_ARG, "constant name '%s' is not an identifier", name);
  static const char *const reserved[] = {"x", "y", "z", "t", "e", "pi"};
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(name, reserved[i]) == 0)
      return fp_fail(err, FP_ERR_ARG, "'%s' is reserved and cannot name a constant", name);
  for (size_t i = 0; i < c->count; i++)
    if (strcmp(c->names[i], name) == 0) {
      c->values[i] = value;
      return FP_OK;
    }
  char **names = realloc(c->names, (c->count + 1) * sizeof *names);
  if (!names) return fp_fail(err, FP_ERR_NOMEM, "out of memory adding constant '%s'", name);
  c->names = names;
  double *values = realloc(c->values, (c->count + 1) * sizeof *values);
  if (!values) return fp_fail(err, FP_ERR_NOMEM, "out of memory adding constant '%s'", name);
  c->values = values;
  char *copy = duplicate(name);
  if (!copy) return fp_fail(err, FP_ERR_NOMEM, "out of memory adding constant '%s'", name);
  c->names[c->count] = copy;
  c->values[c->count] = value;
  c->count++;
  return FP_OK;
}

bool fp_constants_get(const fp_constants *c, const char *name, double *value)
{
  if (!c || !name) return false;
  for (size_t i = 0; i < c->count; i++)
    if (strcmp(c->names[i], name) == 0) {
      if (value) *value = c->values[i];
      return true;
    }
  return false;
}

void fp_constants_clear(fp_constants *c)
{
  if (!c) return;
  for (size_t i = 0; i < c->count; i++) free(c->names[i]);
  free(c->names);
  free(c->values);
  c->names = NULL;
  c->values = NULL;
  c->count = 0;
}

static int copy_constants(fp_constants *dst, const fp_constants *src, fp_error *err)
{
  if (!src) return FP_OK;
  for (size_t i = 0; i < src->count; i++) {
    int rc = fp_constants_set(dst, src->names[i], src->values[i], err);
    if (rc != FP_OK) return rc;
  }
  return FP_OK;
}

void fp_expr_destroy(fp_expr **e)
{
  if (!e || !*e) return;
  fp_expr *x = *e;
  free(x->fn);
  if (x->evaluator) evaluator_destroy(x->evaluator);
  free(x->text);
  if (x->names)
    for (int i = 0; i < x->count; i++) free(x->names[i]);
  free(x->names);
  free(x->values);
  free(x->slot);
  fp_constants_clear(&x->constants);
  free(x);
  *e = NULL;
}

/* Resolve each variable the simplified tree uses to a coordinate, t, or a
 * constant; anything else is an error that lists what is allowed. */
static int bind_variables(fp_expr *x, fp_error *err)
{
  char **used = NULL;
  int count = 0;
  evaluator_get_variables(x->evaluator, &used, &count);
  x->count = count;
  if (count == 0) return FP_OK;
  x->names = calloc((size_t)count, sizeof *x->names);
  x->values = calloc((size_t)count, sizeof *x->values);
  x->slot = calloc((size_t)count, sizeof *x->slot);
  if (!x->names || !x->values || !x->slot)
    return fp_fail(err, FP_ERR_NOMEM, "out of memory compiling '%s'", x->text);
  for (int i = 0; i < count; i++) {
    x->names[i] = duplicate(used[i]);
    if (!x->names[i]) return fp_fail(err, FP_ERR_NOMEM, "out of memory compiling '%s'", x->text);
    int slot = -1;
    for (int a = 0; a < x->dim; a++)
      if (strcmp(used[i], coordinate_names[a]) == 0) slot = a;
    if (strcmp(used[i], "t") == 0) slot = SLOT_T;
    double value = 0.0;
    if (slot < 0 && fp_constants_get(&x->constants, used[i], &value)) slot = SLOT_CONSTANT;
    if (slot < 0) {
      char allowed[512];
      size_t len = 0;
      for (int a = 0; a < x->dim; a++)
        len += (size_t)snprintf(allowed + len, sizeof allowed - len, "%s, ", coordinate_names[a]);
      len += (size_t)snprintf(allowed + len, sizeof allowed - len, "t");
      for (size_t k = 0; k < x->constants.count && len < sizeof allowed; k++)
        len += (size_t)snprintf(allowed + len, sizeof allowed - len, ", %s", x->constants.names[k]);
      return fp_fail(err, FP_ERR_EXPR, "unknown name '%s' in '%s' (allowed: %s, e, pi)", used[i],
                     x->text, allowed);
    }
    x->slot[i] = slot;
    x->values[i] = value;
  }
  return FP_OK;
}

static int finish_create(fp_expr *x, const fp_constants *constants, fp_expr **out, fp_error *err)
{
  int rc = copy_constants(&x->constants, constants, err);
  if (rc == FP_OK) rc = bind_variables(x, err);
  if (rc != FP_OK) {
    fp_expr_destroy(&x);
    return rc;
  }
  *out = x;
  return FP_OK;
}

int fp_expr_create(const char *text, int dim, const fp_constants *constants, fp_expr **out,
                   fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_expr_create: out is NULL");
  *out = NULL;
  if (!text) return fp_fail(err, FP_ERR_ARG, "fp_expr_create: text is NULL");
  if (dim < 1 || dim > FP_MAX_DIM)
    return fp_fail(err, FP_ERR_ARG, "fp_expr_create: dimension %d is not 1, 2 or 3", dim);
  const char *p = text;
  while (isspace((unsigned char)*p)) p++;
  if (*p == '\0') return fp_fail(err, FP_ERR_EXPR, "empty expression");

  fp_expr *x = calloc(1, sizeof *x);
  if (!x) return fp_fail(err, FP_ERR_NOMEM, "out of memory compiling '%s'", text);
  x->dim = dim;
  x->text = duplicate(text);
  if (!x->text) {
    fp_expr_destroy(&x);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory compiling '%s'", text);
  }
  /* libmatheval takes a writable string and keeps no reference to it. */
  char *scratch = duplicate(text);
  if (!scratch) {
    fp_expr_destroy(&x);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory compiling '%s'", text);
  }
  x->evaluator = evaluator_create(scratch);
  free(scratch);
  if (!x->evaluator) {
    fp_expr_destroy(&x);
    return fp_fail(err, FP_ERR_EXPR, "cannot parse '%s' as an expression", text);
  }
  return finish_create(x, constants, out, err);
}

/* Central difference of a callback along one axis.  The step balances the
 * O(h^2) truncation against the O(eps/h) cancellation: h = eps^(1/3) scaled
 * by the coordinate, which leaves a relative error of about 1e-10 on smooth
 * functions (and exactly 0 on functions that do not depend on the axis). */
static double fn_central_difference(const fn_source *f, const double x[FP_MAX_DIM], double t)
{
  const double cbrt_eps = 6.0554544523933395e-06; /* DBL_EPSILON^(1/3) */
  double xp[FP_MAX_DIM], xm[FP_MAX_DIM];
  for (int i = 0; i < FP_MAX_DIM; i++) xp[i] = xm[i] = x[i];
  double tp = t, tm = t, h;
  if (f->fd_axis == FP_EXPR_TIME) {
    h = cbrt_eps * fmax(1.0, fabs(t));
    tp = t + h;
    tm = t - h;
    h = tp - tm;
  } else {
    int a = f->fd_axis;
    h = cbrt_eps * fmax(1.0, fabs(x[a]));
    xp[a] = x[a] + h;
    xm[a] = x[a] - h;
    h = xp[a] - xm[a]; /* the step actually taken, after rounding */
  }
  return (f->fn(xp, tp, f->ctx) - f->fn(xm, tm, f->ctx)) / h;
}

double fp_expr_eval(fp_expr *e, const double x[FP_MAX_DIM], double t)
{
  if (e->fn) return e->fn->fd_axis == -2 ? e->fn->fn(x, t, e->fn->ctx) : fn_central_difference(e->fn, x, t);
  for (int i = 0; i < e->count; i++) {
    int s = e->slot[i];
    if (s == SLOT_T)
      e->values[i] = t;
    else if (s != SLOT_CONSTANT)
      e->values[i] = x[s];
  }
  return evaluator_evaluate(e->evaluator, e->count, e->names, e->values);
}

static unsigned depends_bit(int axis)
{
  return axis == FP_EXPR_TIME ? FP_FN_DEPENDS_T : (1u << axis);
}

static int make_fn_expr(const fn_source *src, int dim, const char *text, fp_expr **out, fp_error *err)
{
  fp_expr *x = calloc(1, sizeof *x);
  if (!x) return fp_fail(err, FP_ERR_NOMEM, "out of memory creating '%s'", text);
  x->dim = dim;
  x->fn = malloc(sizeof *x->fn);
  x->text = duplicate(text);
  if (!x->fn || !x->text) {
    fp_expr_destroy(&x);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory creating '%s'", text);
  }
  *x->fn = *src;
  *out = x;
  return FP_OK;
}

int fp_expr_create_fn(fp_scalar_fn fn, void *ctx, int dim, unsigned depends, const char *name,
                      fp_expr **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_expr_create_fn: out is NULL");
  *out = NULL;
  if (!fn) return fp_fail(err, FP_ERR_ARG, "fp_expr_create_fn: the function is NULL");
  if (dim < 1 || dim > FP_MAX_DIM)
    return fp_fail(err, FP_ERR_ARG, "fp_expr_create_fn: dimension %d is not 1, 2 or 3", dim);
  if (depends & ~(unsigned)(FP_FN_DEPENDS_SPACE | FP_FN_DEPENDS_T))
    return fp_fail(err, FP_ERR_ARG, "fp_expr_create_fn: unknown bits 0x%x in `depends`", depends);
  /* Coordinates beyond the dimension do not exist. */
  depends &= ((1u << dim) - 1u) | FP_FN_DEPENDS_T;
  fn_source src = {.fn = fn, .ctx = ctx, .depends = depends, .fd_axis = -2};
  char text[96];
  snprintf(text, sizeof text, "%s", name && *name ? name : "<C function>");
  return make_fn_expr(&src, dim, text, out, err);
}

int fp_expr_set_derivative_fn(fp_expr *e, int axis, fp_scalar_fn dfn, void *ctx, fp_error *err)
{
  if (!e || !e->fn || e->fn->fd_axis != -2)
    return fp_fail(err, FP_ERR_ARG, "fp_expr_set_derivative_fn: not an expression made by "
                                    "fp_expr_create_fn");
  if (axis != FP_EXPR_TIME && (axis < 0 || axis >= e->dim))
    return fp_fail(err, FP_ERR_ARG, "fp_expr_set_derivative_fn: axis %d out of range", axis);
  int slot = axis == FP_EXPR_TIME ? FP_MAX_DIM : axis;
  e->fn->dfn[slot] = dfn;
  e->fn->dctx[slot] = ctx;
  return FP_OK;
}

/* Derivative of a callback: the caller's exact one when given, 0 when the
 * function does not depend on the axis, else a central difference. */
static int fn_derivative(const fp_expr *e, int axis, fp_expr **out, fp_error *err)
{
  const fn_source *f = e->fn;
  const char *var = axis == FP_EXPR_TIME ? "t" : coordinate_names[axis];
  char text[160];
  snprintf(text, sizeof text, "d(%s)/d%s", e->text, var);
  if (f->fd_axis != -2)
    return fp_fail(err, FP_ERR_UNSUPPORTED, "second derivatives of C functions are not "
                                            "available ('%s')", e->text);
  int slot = axis == FP_EXPR_TIME ? FP_MAX_DIM : axis;
  if (f->dfn[slot]) {
    fn_source d = {.fn = f->dfn[slot], .ctx = f->dctx[slot], .depends = f->depends, .fd_axis = -2};
    return make_fn_expr(&d, e->dim, text, out, err);
  }
  if (!(f->depends & depends_bit(axis))) return fp_expr_create("0", e->dim, NULL, out, err);
  fn_source d = *f;
  d.fd_axis = axis;
  for (int i = 0; i <= FP_MAX_DIM; i++) d.dfn[i] = NULL;
  return make_fn_expr(&d, e->dim, text, out, err);
}

int fp_expr_derivative(const fp_expr *e, int axis, fp_expr **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_expr_derivative: out is NULL");
  *out = NULL;
  if (!e) return fp_fail(err, FP_ERR_ARG, "fp_expr_derivative: expression is NULL");
  if (axis != FP_EXPR_TIME && (axis < 0 || axis >= e->dim))
    return fp_fail(err, FP_ERR_ARG, "fp_expr_derivative: axis %d out of range", axis);
  if (e->fn) return fn_derivative(e, axis, out, err);
  const char *var = axis == FP_EXPR_TIME ? "t" : coordinate_names[axis];
  fp_expr *x = calloc(1, sizeof *x);
  if (!x) return fp_fail(err, FP_ERR_NOMEM, "out of memory differentiating '%s'", e->text);
  x->dim = e->dim;
  char varbuf[2] = {var[0], '\0'};
  x->evaluator = evaluator_derivative(e->evaluator, varbuf);
  if (!x->evaluator) {
    fp_expr_destroy(&x);
    return fp_fail(err, FP_ERR_EXPR, "cannot differentiate '%s' with respect to %s", e->text, var);
  }
  const char *derived = evaluator_get_string(x->evaluator);
  x->text = duplicate(derived ? derived : "?");
  if (!x->text) {
    fp_expr_destroy(&x);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory differentiating '%s'", e->text);
  }
  return finish_create(x, &e->constants, out, err);
}

bool fp_expr_depends_on(const fp_expr *e, int axis)
{
  if (e->fn)
    return (axis == FP_EXPR_TIME || (axis >= 0 && axis < e->dim)) && (e->fn->depends & depends_bit(axis));
  const char *var = axis == FP_EXPR_TIME ? "t" : (axis >= 0 && axis < FP_MAX_DIM ? coordinate_names[axis] : "");
  for (int i = 0; i < e->count; i++)
    if (strcmp(e->names[i], var) == 0) return true;
  return false;
}

bool fp_expr_is_symbolic(const fp_expr *e) { return e && !e->fn; }

bool fp_expr_is_zero(const fp_expr *e)
{
  if (e->fn) return false; /* a callback is never known to vanish everywhere */
  /* With no variables left after simplification the value is a constant. */
  return e->count == 0 && evaluator_evaluate(e->evaluator, 0, NULL, NULL) == 0.0;
}

const char *fp_expr_text(const fp_expr *e) { return e ? e->text : NULL; }
