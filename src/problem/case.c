/* fpentropy: phase 2 of loading a case (the semantics): entries turned into a validated fp_case.
 * (Phase 1, reading, is case_reader.c; the schema is case_schema.c.)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Loading runs in two phases, so that the user sees the first real problem
 * before anything is computed:
 *
 *   1. Structure.  Our own line reader feeds libinih one line at a time.  It
 *      counts lines (Debian's libinih 55 passes no line number to the
 *      handler), rejects lines that do not fit libinih's fixed buffer instead
 *      of letting it cut them silently, strips comments, knows the current
 *      section and tells continuation lines from keys.  The handler collects
 *      every (section, key, value, source) entry.  Syntax errors, unknown
 *      sections and keys and duplicate keys stop the read at the first one.
 *      The --set overrides then replace or add entries, so a constant set on
 *      the command line is seen by everything that depends on it.
 *
 *   2. Values.  The entries are interpreted section by section (domain,
 *      constants, dynamics, initial, reference, time, solver, output: the
 *      order of their dependencies).  A check runs only when what it depends
 *      on is valid, so no error is a consequence of another one, and the error
 *      reported is the one that comes first in the file (overrides count as
 *      coming after the file, missing keys after everything).
 *
 * libinih's global settings are left alone: other code in the process may
 * rely on them. */
#include <fpentropy/problem/case.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"
#include "core/spd_impl.h"
#include "problem/case_impl.h"

/* ------------------------------------------------------------------------ */
/* value parsers                                                             */

static bool parse_double(const char *s, size_t len, double *out)
{
  char buf[128];
  if (len == 0 || len >= sizeof buf || isspace((unsigned char)s[0])) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *end = NULL;
  double v = strtod(buf, &end);
  /* inf, nan and overflow are rejected; underflow to a tiny value is fine. */
  if (end != buf + len || !isfinite(v)) return false;
  *out = v;
  return true;
}

static bool parse_long(const char *s, size_t len, long *out)
{
  char buf[64];
  if (len == 0 || len >= sizeof buf) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  size_t digit = buf[0] == '+' || buf[0] == '-';
  if (!isdigit((unsigned char)buf[digit])) return false;
  errno = 0;
  char *end = NULL;
  long v = strtol(buf, &end, 10);
  if (errno == ERANGE || end != buf + len) return false;
  *out = v;
  return true;
}

static bool parse_number(const char *text, double *out)
{
  return parse_double(text, strlen(text), out);
}

static bool parse_integer(const char *text, long *out)
{
  return parse_long(text, strlen(text), out);
}

static bool parse_boundary(const char *s, size_t len, fp_boundary *out)
{
  static const fp_boundary all[] = {FP_BC_REFLECTING, FP_BC_PERIODIC, FP_BC_ABSORBING};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    const char *name = fp_boundary_name(all[i]);
    if (strlen(name) == len && strncmp(name, s, len) == 0) {
      *out = all[i];
      return true;
    }
  }
  return false;
}

/* Comma lists: items are trimmed; "a,,b" has an empty item. */
typedef struct item_iter {
  const char *next;
  bool done;
} item_iter;

static bool next_item(item_iter *it, const char **start, size_t *len)
{
  if (it->done) return false;
  const char *p = it->next;
  const char *comma = strchr(p, ',');
  const char *end = comma ? comma : p + strlen(p);
  while (p < end && isspace((unsigned char)*p)) p++;
  while (end > p && isspace((unsigned char)end[-1])) end--;
  *start = p;
  *len = (size_t)(end - p);
  if (comma)
    it->next = comma + 1;
  else
    it->done = true;
  return true;
}

static size_t count_items(const char *s)
{
  size_t n = 1;
  for (; *s; s++) n += *s == ',';
  return n;
}

enum axis_kind { AXIS_NUMBER = 0, AXIS_CELLS, AXIS_BOUNDARY };

static int constant_expression(fp_loader *ld, const char *s, size_t len, double *out);

/* A [domain] list: one item per axis, or one item for all axes. */
static int parse_axis_list(fp_loader *ld, const field *f, int dim, enum axis_kind kind,
                           double number[FP_MAX_DIM], long count[FP_MAX_DIM],
                           fp_boundary bc[FP_MAX_DIM])
{
  static const char *const one[] = {"a number or an expression of constants (e.g. 2*pi)",
                                    "a positive integer",
                                    "one of reflecting, periodic, absorbing"};
  static const char *const many[] = {"numbers", "positive integers",
                                     "boundary names (reflecting, periodic, absorbing)"};
  char expected[160];
  if (dim == 1)
    snprintf(expected, sizeof expected, "%s", one[kind]);
  else
    snprintf(expected, sizeof expected, "%d %s (one per axis) or 1 for all axes", dim, many[kind]);
  size_t n = count_items(f->text);
  if (n != 1 && n != (size_t)dim)
    return fpc_fail(ld, f, FP_ERR_CASE, "expected %s, got '%s' (%zu values)", expected, f->text, n);
  item_iter it = {f->text, false};
  const char *s;
  size_t len;
  for (size_t i = 0; next_item(&it, &s, &len); i++) {
    bool ok = false;
    if (kind == AXIS_NUMBER) {
      /* a number, or an expression of constants such as 2*pi */
      ok = parse_double(s, len, &number[i]);
      if (!ok) {
        int rc = constant_expression(ld, s, len, &number[i]);
        if (rc == FP_ERR_NOMEM) return rc;
        ok = rc == FP_OK;
      }
    }
    else if (kind == AXIS_CELLS)
      ok = parse_long(s, len, &count[i]) && count[i] > 0;
    else
      ok = parse_boundary(s, len, &bc[i]);
    if (ok) continue;
    if (n == 1) return fpc_fail(ld, f, FP_ERR_CASE, "expected %s, got '%s'", expected, f->text);
    if (len == 0)
      return fpc_fail(ld, f, FP_ERR_CASE, "expected %s, got '%s' (item %zu is empty)", expected,
                  f->text, i + 1);
    return fpc_fail(ld, f, FP_ERR_CASE, "expected %s, got '%s' ('%.*s' is not %s)", expected, f->text,
                (int)len, s, one[kind]);
  }
  for (int a = 1; n == 1 && a < dim; a++) {
    if (kind == AXIS_NUMBER) number[a] = number[0];
    if (kind == AXIS_CELLS) count[a] = count[0];
    if (kind == AXIS_BOUNDARY) bc[a] = bc[0];
  }
  return FP_OK;
}

/* Equally spaced times 0..t_end (just t_end when n == 1). */
static double *equally_spaced(size_t n, double t_end)
{
  double *t = malloc(n * sizeof *t);
  if (!t) return NULL;
  for (size_t i = 0; i < n; i++) t[i] = n == 1 ? t_end : t_end * (double)i / (double)(n - 1);
  t[n - 1] = t_end; /* exactly, whatever the rounding */
  return t;
}

/* A list of times, strictly increasing, within [0, t_end]; with append_end,
 * t_end is added when the list stops short of it. */
static int parse_times(fp_loader *ld, const field *f, bool append_end, double **out, size_t *n_out)
{
  double t_end = ld->c->t_end;
  size_t n = count_items(f->text);
  double *t = malloc((n + 1) * sizeof *t);
  if (!t) return fpc_nomem(ld);
  item_iter it = {f->text, false};
  const char *s;
  size_t len;
  int rc = FP_OK;
  for (size_t i = 0; next_item(&it, &s, &len); i++) {
    if (!parse_double(s, len, &t[i])) {
      rc = fpc_fail(ld, f, FP_ERR_CASE, "expected a comma list of times, got '%s' ('%.*s' is not a number)",
                f->text, (int)len, s);
      goto free_times;
    }
    if (t[i] < 0.0 || t[i] > t_end) {
      rc = fpc_fail(ld, f, FP_ERR_CASE, "time %g is outside [0, end] = [0, %g]", t[i], t_end);
      goto free_times;
    }
    if (i > 0 && !(t[i] > t[i - 1])) {
      rc = fpc_fail(ld, f, FP_ERR_CASE, "times must be strictly increasing, but %g follows %g", t[i],
                t[i - 1]);
      goto free_times;
    }
  }
  if (append_end && t[n - 1] < t_end) t[n++] = t_end;
  *out = t;
  *n_out = n;
  return FP_OK;
free_times:
  free(t);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* phase 2: interpretation, one function per section                        */

static int load_domain(fp_loader *ld)
{
  fp_grid *g = &ld->c->grid;
  field fd = fpc_get_field(ld, SEC_DOMAIN, "dimension");
  long dim = 0;
  if (!fd.text) {
    fpc_missing(ld, &fd, "");
    return FP_OK;
  }
  if (!parse_integer(fd.text, &dim) || dim < 1 || dim > FP_MAX_DIM) {
    fpc_fail(ld, &fd, FP_ERR_CASE, "expected 1, 2 or 3, got '%s'", fd.text);
    return FP_OK;
  }
  g->dim = (int)dim;
  ld->dim_ok = true;

  double lower[FP_MAX_DIM] = {0}, upper[FP_MAX_DIM] = {0};
  long cells[FP_MAX_DIM] = {0};
  fp_boundary bc[FP_MAX_DIM] = {FP_BC_REFLECTING, FP_BC_REFLECTING, FP_BC_REFLECTING};
  field fl = fpc_get_field(ld, SEC_DOMAIN, "lower");
  field fu = fpc_get_field(ld, SEC_DOMAIN, "upper");
  field fc = fpc_get_field(ld, SEC_DOMAIN, "cells");
  field fb = fpc_get_field(ld, SEC_DOMAIN, "boundary");
  /* Every list is checked even after a failure: the first error in the
   * file may be a later key. */
  bool ok = true;
  if (!fl.text) {
    fpc_missing(ld, &fl, "");
    ok = false;
  } else if (parse_axis_list(ld, &fl, g->dim, AXIS_NUMBER, lower, NULL, NULL) != FP_OK) {
    ok = false;
  }
  if (!fu.text) {
    fpc_missing(ld, &fu, "");
    ok = false;
  } else if (parse_axis_list(ld, &fu, g->dim, AXIS_NUMBER, upper, NULL, NULL) != FP_OK) {
    ok = false;
  }
  if (!fc.text) {
    fpc_missing(ld, &fc, "");
    ok = false;
  } else if (parse_axis_list(ld, &fc, g->dim, AXIS_CELLS, NULL, cells, NULL) != FP_OK) {
    ok = false;
  } else {
    for (int a = 0; a < g->dim; a++)
      if (cells[a] < 2) {
        fpc_fail(ld, &fc, FP_ERR_CASE, "axis %s needs at least 2 cells, got %ld", fpc_axis_names[a],
             cells[a]);
        ok = false;
        break;
      }
  }
  if (parse_axis_list(ld, &fb, g->dim, AXIS_BOUNDARY, NULL, NULL, bc) != FP_OK) ok = false;
  if (!ok) return FP_OK;

  for (int a = 0; a < g->dim; a++) {
    if (!(upper[a] > lower[a])) {
      fpc_fail(ld, fpc_later(ld, &fl, &fu), FP_ERR_CASE,
           "axis %s: upper (%g) must be greater than lower (%g)", fpc_axis_names[a], upper[a],
           lower[a]);
      return FP_OK;
    }
    g->lower[a] = lower[a];
    g->upper[a] = upper[a];
    g->n[a] = (size_t)cells[a];
    g->bc[a] = bc[a];
  }
  fp_error e;
  fp_error_clear(&e);
  if (fp_grid_init(g, &e) != FP_OK) fpc_fail(ld, &fc, FP_ERR_CASE, "%s", e.message);
  return FP_OK;
}

/* A constant named like a function could never be referred to: the parser
 * reads the name as the function. */
static bool is_function_name(const char *name) { return fp_expr_is_function_name(name); }

/* Report an expression error in [constants].  The expr module lists x, y, z
 * and t as allowed, which is wrong here, so its list is replaced. */
static int fail_constant_expr(fp_loader *ld, const field *f, const char *message)
{
  const fp_constants *k = &ld->c->constants;
  char text[FP_ERROR_MESSAGE_SIZE];
  snprintf(text, sizeof text, "%s", message);
  char *allowed = strstr(text, " (allowed: ");
  if (allowed) {
    size_t len = (size_t)(allowed - text);
    len += (size_t)snprintf(text + len, sizeof text - len, " (allowed in [constants]: e, pi");
    for (size_t i = 0; i < k->count && len < sizeof text; i++)
      len += (size_t)snprintf(text + len, sizeof text - len, ", %s", k->names[i]);
    if (len < sizeof text) snprintf(text + len, sizeof text - len, ")");
  }
  return fpc_fail(ld, f, FP_ERR_EXPR, "%s", text);
}

/* One constant: check the name, compile with the constants above it,
 * evaluate once. */
static int load_constant(fp_loader *ld, size_t idx)
{
  fp_case *c = ld->c;
  const char *name = c->entries[idx].key;
  field f = {SEC_CONSTANTS, name, idx, c->entries[idx].value};
  static const char *const reserved[] = {"x", "y", "z", "t", "e", "pi"};
  if (!fpc_is_identifier(name))
    return fpc_fail(ld, &f, FP_ERR_CASE,
                "'%s' is not a valid constant name (letters, digits and '_', not starting "
                "with a digit)",
                name);
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(name, reserved[i]) == 0)
      return fpc_fail(ld, &f, FP_ERR_CASE,
                  "'%s' is reserved (x, y, z, t, e and pi cannot name constants)", name);
  if (is_function_name(name))
    return fpc_fail(ld, &f, FP_ERR_CASE, "'%s' is a function name and cannot name a constant", name);

  fp_expr *e = NULL;
  fp_error ee;
  fp_error_clear(&ee);
  int rc = fp_expr_create(f.text, FP_MAX_DIM, &c->constants, &e, &ee);
  if (rc == FP_ERR_NOMEM) return fpc_nomem(ld);
  if (rc != FP_OK) return fail_constant_expr(ld, &f, ee.message);
  for (int a = FP_EXPR_TIME; a < FP_MAX_DIM; a++)
    if (fp_expr_depends_on(e, a)) {
      fp_expr_destroy(&e);
      return fpc_fail(ld, &f, FP_ERR_EXPR, "'%s' depends on %s, but a constant cannot", f.text,
                  a == FP_EXPR_TIME ? "t" : fpc_axis_names[a]);
    }
  const double origin[FP_MAX_DIM] = {0.0, 0.0, 0.0};
  double value = fp_expr_eval(e, origin, 0.0);
  fp_expr_destroy(&e);
  if (!isfinite(value))
    return fpc_fail(ld, &f, FP_ERR_EXPR, "'%s' evaluates to %g", f.text, value);
  rc = fp_constants_set(&c->constants, name, value, &ee);
  if (rc == FP_ERR_NOMEM) return fpc_nomem(ld);
  if (rc != FP_OK) return fpc_fail(ld, &f, FP_ERR_CASE, "%s", ee.message);
  return FP_OK;
}

static int load_constants(fp_loader *ld)
{
  fp_case *c = ld->c;
  ld->constants_ok = true;
  for (size_t i = 0; i < c->n_entries; i++) {
    if (strcmp(c->entries[i].section, fpc_section_names[SEC_CONSTANTS]) != 0) continue;
    int rc = load_constant(ld, i);
    if (rc == FP_ERR_NOMEM) return rc;
    if (rc != FP_OK) {
      /* Later constants and every expression may use this one: stop here
       * rather than report errors that are only consequences. */
      ld->constants_ok = false;
      return FP_OK;
    }
  }
  return FP_OK;
}

/* The value of an expression of the case's constants (e, pi, [constants]),
 * such as a domain bound `2*pi`: FP_OK, FP_ERR_NOMEM, or FP_ERR_EXPR when it
 * is not one (the caller reports what was expected). */
static int constant_expression(fp_loader *ld, const char *s, size_t len, double *out)
{
  if (!ld->constants_ok || len == 0 || len >= 512) return FP_ERR_EXPR;
  char text[512];
  memcpy(text, s, len);
  text[len] = '\0';
  fp_expr *e = NULL;
  fp_error ee;
  fp_error_clear(&ee);
  int rc = fp_expr_create(text, FP_MAX_DIM, &ld->c->constants, &e, &ee);
  if (rc != FP_OK) return rc == FP_ERR_NOMEM ? fpc_nomem(ld) : FP_ERR_EXPR;
  bool constant = true;
  for (int a = FP_EXPR_TIME; a < FP_MAX_DIM; a++) constant &= !fp_expr_depends_on(e, a);
  const double origin[FP_MAX_DIM] = {0.0, 0.0, 0.0};
  double v = constant ? fp_expr_eval(e, origin, 0.0) : NAN;
  fp_expr_destroy(&e);
  if (!isfinite(v)) return FP_ERR_EXPR;
  *out = v;
  return FP_OK;
}

/* Compile an expression in the case's coordinates and constants. */
static int compile(fp_loader *ld, const field *f, const char *text, fp_expr **out)
{
  fp_error e;
  fp_error_clear(&e);
  int rc = fp_expr_create(text, ld->c->grid.dim, &ld->c->constants, out, &e);
  if (rc == FP_OK) return FP_OK;
  if (rc == FP_ERR_NOMEM) return fpc_nomem(ld);
  return fpc_fail(ld, f, FP_ERR_EXPR, "%s", e.message);
}

static bool depends_on_anything(const fp_expr *e, int dim)
{
  if (fp_expr_depends_on(e, FP_EXPR_TIME)) return true;
  for (int a = 0; a < dim; a++)
    if (fp_expr_depends_on(e, a)) return true;
  return false;
}

/* A constant D that is not positive definite is a typo, and cheap to catch
 * before the solver starts; a variable D is the solver's to check. */
static void check_constant_diffusion(fp_loader *ld, const field *f, bool isotropic)
{
  fp_case *c = ld->c;
  int dim = c->grid.dim;
  double m[FP_MAX_DIM][FP_MAX_DIM];
  const double origin[FP_MAX_DIM] = {0.0, 0.0, 0.0};
  for (int a = 0; a < dim; a++)
    for (int b = 0; b < dim; b++) {
      if (depends_on_anything(c->diffusion[a][b], dim)) return;
      m[a][b] = fp_expr_eval(c->diffusion[a][b], origin, 0.0);
      if (!isfinite(m[a][b])) {
        fpc_fail(ld, f, FP_ERR_CASE, "the diffusion matrix has the non-finite entry %g", m[a][b]);
        return;
      }
    }
  if (isotropic) {
    if (!(m[0][0] > 0.0))
      fpc_fail(ld, f, FP_ERR_CASE, "D = %g * identity is not positive definite (need a value > 0)",
           m[0][0]);
    return;
  }
  double minor[FP_MAX_DIM] = {m[0][0], 0.0, 0.0};
  if (dim >= 2) minor[1] = m[0][0] * m[1][1] - m[0][1] * m[1][0];
  if (dim == 3)
    minor[2] = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
               m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
               m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  for (int k = 0; k < dim; k++)
    if (!(minor[k] > 0.0)) {
      fpc_fail(ld, f, FP_ERR_CASE,
           "the constant diffusion matrix is not positive definite (leading minor %d is %g)",
           k + 1, minor[k]);
      return;
    }
}

static int load_drift(fp_loader *ld)
{
  fp_case *c = ld->c;
  int dim = c->grid.dim;
  static const char *const keys[FP_MAX_DIM] = {"drift_x", "drift_y", "drift_z"};
  field synonym = fpc_get_field(ld, SEC_DYNAMICS, "drift");
  field comp[FP_MAX_DIM];
  bool ok = true;
  for (int a = 0; a < FP_MAX_DIM; a++) comp[a] = fpc_get_field(ld, SEC_DYNAMICS, keys[a]);
  if (synonym.idx != NONE && dim > 1) {
    fpc_fail(ld, &synonym, FP_ERR_CASE, "'drift' is the 1D name of drift_x; in %dD give drift_x, %s",
         dim, dim == 2 ? "drift_y" : "drift_y, drift_z");
    ok = false;
  } else if (synonym.idx != NONE && comp[0].idx != NONE) {
    const field *f = fpc_later(ld, &synonym, &comp[0]);
    const field *other = f == &synonym ? &comp[0] : &synonym;
    char where[FP_ERROR_MESSAGE_SIZE / 2];
    fpc_field_location(ld, other, where, sizeof where);
    fpc_fail(ld, f, FP_ERR_CASE, "give either 'drift' or 'drift_x', not both ('%s' is set at %s)",
         other->key, where);
    ok = false;
  }
  for (int a = dim; a < FP_MAX_DIM; a++)
    if (comp[a].idx != NONE) {
      fpc_fail(ld, &comp[a], FP_ERR_CASE, "a %dD case has no %s axis; its drift is %s", dim,
           fpc_axis_names[a], dim == 1 ? "drift_x (or drift)" : "drift_x, drift_y");
      ok = false;
    }
  for (int a = 0; ok && a < dim; a++) {
    const field *f = a == 0 && synonym.idx != NONE ? &synonym : &comp[a];
    if (compile(ld, f, f->text, &c->drift[a]) == FP_ERR_NOMEM) return FP_ERR_NOMEM;
  }
  return FP_OK;
}

static int load_diffusion(fp_loader *ld)
{
  fp_case *c = ld->c;
  int dim = c->grid.dim;
  /* components in the order xx, yy, zz, xy, xz, yz */
  static const char *const keys[6] = {"diffusion_xx", "diffusion_yy", "diffusion_zz",
                                      "diffusion_xy", "diffusion_xz", "diffusion_yz"};
  static const int pair[6][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {0, 2}, {1, 2}};
  static const char *const entries_of[FP_MAX_DIM] = {
      "diffusion_xx", "diffusion_xx, diffusion_yy, diffusion_xy",
      "diffusion_xx, diffusion_yy, diffusion_zz, diffusion_xy, diffusion_xz, diffusion_yz"};
  static const char *const diagonal_of[FP_MAX_DIM] = {
      "diffusion_xx", "diffusion_xx, diffusion_yy", "diffusion_xx, diffusion_yy, diffusion_zz"};
  field iso = fpc_get_field(ld, SEC_DYNAMICS, "diffusion");
  field comp[6];
  const field *first = NULL, *last = NULL; /* components given, by position */
  bool ok = true;
  for (int k = 0; k < 6; k++) {
    comp[k] = fpc_get_field(ld, SEC_DYNAMICS, keys[k]);
    if (comp[k].idx == NONE) continue;
    if (!first || fpc_field_order(ld, &comp[k]) < fpc_field_order(ld, first)) first = &comp[k];
    if (!last || fpc_field_order(ld, &comp[k]) > fpc_field_order(ld, last)) last = &comp[k];
    if (pair[k][1] >= dim) {
      fpc_fail(ld, &comp[k], FP_ERR_CASE, "a %dD case has no %s axis; its diffusion entries are %s",
           dim, fpc_axis_names[pair[k][1]], entries_of[dim - 1]);
      ok = false;
    }
  }
  if (iso.idx != NONE && first) {
    const field *f = fpc_later(ld, &iso, first);
    const field *other = f == &iso ? first : &iso;
    char where[FP_ERROR_MESSAGE_SIZE / 2];
    fpc_field_location(ld, other, where, sizeof where);
    fpc_fail(ld, f, FP_ERR_CASE,
         "give either 'diffusion' (D = value * identity) or the entries %s, not both ('%s' is "
         "set at %s)",
         entries_of[dim - 1], other->key, where);
    return FP_OK;
  }
  if (iso.idx == NONE && !first) {
    char hint[256];
    snprintf(hint, sizeof hint,
             " (give 'diffusion' for D = value * identity, or the matrix entries %s)",
             entries_of[dim - 1]);
    fpc_missing(ld, &iso, hint);
    return FP_OK;
  }
  if (first)
    for (int a = 0; a < dim; a++)
      if (comp[a].idx == NONE) {
        char hint[256];
        snprintf(hint, sizeof hint,
                 " (D is given by entries, so every diagonal entry is needed: %s)",
                 diagonal_of[dim - 1]);
        fpc_missing(ld, &comp[a], hint);
        ok = false;
      }
  if (!ok) return FP_OK;

  /* diffusion[a][b] and diffusion[b][a] are separate objects from one text. */
  static const int component_of[FP_MAX_DIM][FP_MAX_DIM] = {{0, 3, 4}, {3, 1, 5}, {4, 5, 2}};
  bool compiled = true;
  for (int a = 0; a < dim; a++)
    for (int b = 0; b < dim; b++) {
      const field *f = first ? &comp[component_of[a][b]] : &iso;
      const char *text = first || a == b ? f->text : "0";
      int rc = compile(ld, f, text, &c->diffusion[a][b]);
      if (rc == FP_ERR_NOMEM) return rc;
      compiled = compiled && rc == FP_OK;
    }
  if (!compiled) return FP_OK;
  c->diagonal_diffusion = true;
  for (int a = 0; a < dim; a++)
    for (int b = 0; b < dim; b++)
      if (a != b && !fp_expr_is_zero(c->diffusion[a][b])) c->diagonal_diffusion = false;
  check_constant_diffusion(ld, first ? last : &iso, !first);
  return FP_OK;
}

static int load_dynamics(fp_loader *ld)
{
  fp_case *c = ld->c;
  field conv = fpc_get_field(ld, SEC_DYNAMICS, "convention");
  if (strcmp(conv.text, "ito") != 0)
    fpc_fail(ld, &conv, FP_ERR_CASE,
         "only the Ito convention is supported, got '%s'; convert the drift first, "
         "a_Ito = a_Strat + 1/2 sum_k (B_k . grad) B_k with B_k the columns of B "
         "(D = B B^T / 2), then set convention = ito",
         conv.text);
  if (!ld->dim_ok || !ld->constants_ok) return FP_OK;
  int rc = load_drift(ld);
  if (rc == FP_OK) rc = load_diffusion(ld);
  if (rc != FP_OK) return rc;
  field fp = fpc_get_field(ld, SEC_DYNAMICS, "potential");
  if (fp.idx != NONE && compile(ld, &fp, fp.text, &c->potential) == FP_ERR_NOMEM)
    return FP_ERR_NOMEM;
  return FP_OK;
}

/* Up to `max` numbers (or expressions of constants) of a comma list. */
static int number_list(fp_loader *ld, const field *f, double *out, size_t max, size_t *n)
{
  *n = 0;
  item_iter it = {f->text, false};
  const char *s;
  size_t len;
  while (next_item(&it, &s, &len)) {
    if (*n == max) return fpc_fail(ld, f, FP_ERR_CASE, "at most %zu values, got '%s'", max, f->text);
    double v;
    if (!parse_double(s, len, &v)) {
      int rc = constant_expression(ld, s, len, &v);
      if (rc == FP_ERR_NOMEM) return rc;
      if (rc != FP_OK)
        return fpc_fail(ld, f, FP_ERR_CASE, "'%.*s' is not a number or an expression of constants",
                    (int)len, s);
    }
    out[(*n)++] = v;
  }
  return FP_OK;
}

/* density = gaussian with `mean` (dim values, or one for every axis;
 * default 0) and `covariance` (dim values: a diagonal; or dim x dim values,
 * row by row, symmetric positive definite).  The density is written as the
 * expression of the normalised normal density, exp(-Q/2) / sqrt((2 pi)^d
 * det S), with the inverse and determinant computed here (Cholesky). */
static int gaussian_density(fp_loader *ld, int section, const field *fd, char **text)
{
  *text = NULL;
  int dim = ld->c->grid.dim;
  field fm = fpc_get_field(ld, section, "mean"), fc = fpc_get_field(ld, section, "covariance");
  double m[FP_MAX_DIM] = {0.0, 0.0, 0.0}, sv[FP_MAX_DIM * FP_MAX_DIM];
  size_t nm = 0, nc = 0;
  if (fm.text) {
    int rc = number_list(ld, &fm, m, FP_MAX_DIM, &nm);
    if (rc != FP_OK) return rc;
    if (nm != 1 && nm != (size_t)dim)
      return fpc_fail(ld, &fm, FP_ERR_CASE, "expected %d values (or 1 for every axis), got %zu", dim, nm);
    for (int a = 1; nm == 1 && a < dim; a++) m[a] = m[0];
  }
  if (!fc.text)
    return fpc_fail(ld, fd, FP_ERR_CASE,
                "density = gaussian needs 'covariance' (%d values for a diagonal, or %d row by row)",
                dim, dim * dim);
  int rc = number_list(ld, &fc, sv, FP_MAX_DIM * FP_MAX_DIM, &nc);
  if (rc != FP_OK) return rc;
  double S[FP_MAX_DIM][FP_MAX_DIM] = {{0}};
  if (nc == (size_t)dim) {
    for (int a = 0; a < dim; a++) S[a][a] = sv[a];
  } else if (nc == (size_t)(dim * dim)) {
    for (int a = 0; a < dim; a++)
      for (int b = 0; b < dim; b++) S[a][b] = sv[a * dim + b];
    for (int a = 0; a < dim; a++)
      for (int b = 0; b < a; b++)
        if (S[a][b] != S[b][a])
          return fpc_fail(ld, &fc, FP_ERR_CASE, "the covariance is not symmetric (entries %d,%d and %d,%d)",
                      a + 1, b + 1, b + 1, a + 1);
  } else {
    return fpc_fail(ld, &fc, FP_ERR_CASE,
                "expected %d values (a diagonal) or %d (the matrix row by row), got %zu", dim,
                dim * dim, nc);
  }
  /* P = S^-1 and log det S from the one SPD helper (core/spd_impl.h). */
  fp_spd f;
  if (!fp_spd_factor(dim, (const double(*)[FP_SPD_MAX])S, &f))
    return fpc_fail(ld, &fc, FP_ERR_CASE, "the covariance '%s' is not positive definite", fc.text);
  double Pm[FP_MAX_DIM][FP_MAX_DIM], logdet = f.logdet;
  fp_spd_inverse(&f, Pm);
  static const char *const var[] = {"x", "y", "z"};
  size_t cap = 2048, len = 0;
  char *t = malloc(cap);
  if (!t) return fpc_nomem(ld);
  len += (size_t)snprintf(t + len, cap - len, "exp(-0.5*(0");
  for (int a = 0; a < dim; a++)
    for (int b = 0; b < dim; b++) {
      double P = Pm[a][b];
      len += (size_t)snprintf(t + len, cap - len, " + (%.17g)*(%s - (%.17g))*(%s - (%.17g))", P,
                              var[a], m[a], var[b], m[b]);
    }
  double logZ = 0.5 * ((double)dim * log(6.283185307179586476925286766559) + logdet);
  snprintf(t + len, cap - len, ") - (%.17g))", logZ);
  *text = t;
  return FP_OK;
}

/* A density key: an expression, or `gaussian` with mean and covariance
 * (which are rejected without it). */
static int load_density_expression(fp_loader *ld, int section, const field *f, fp_expr **out)
{
  field fm = fpc_get_field(ld, section, "mean"), fc = fpc_get_field(ld, section, "covariance");
  if (strcmp(f->text, "gaussian") != 0) {
    if (fm.idx != NONE || fc.idx != NONE)
      return fpc_fail(ld, fm.idx != NONE ? &fm : &fc, FP_ERR_CASE,
                  "'%s' is only used with density = gaussian", fm.idx != NONE ? "mean" : "covariance");
    return compile(ld, f, f->text, out);
  }
  char *text = NULL;
  int rc = gaussian_density(ld, section, f, &text);
  if (rc == FP_OK && text) rc = compile(ld, f, text, out);
  free(text);
  return rc;
}

static int load_densities(fp_loader *ld)
{
  fp_case *c = ld->c;
  bool can_compile = ld->dim_ok && ld->constants_ok;
  field fi = fpc_get_field(ld, SEC_INITIAL, "density");
  if (!fi.text)
    fpc_missing(ld, &fi, " (an expression, or gaussian with mean and covariance; it need not be normalised)");
  else if (can_compile && load_density_expression(ld, SEC_INITIAL, &fi, &c->initial) == FP_ERR_NOMEM)
    return FP_ERR_NOMEM;

  /* The keywords win over constants that happen to have the same name. */
  field fr = fpc_get_field(ld, SEC_REFERENCE, "density");
  field fn = fpc_get_field(ld, SEC_REFERENCE, "normalise");
  if (strcmp(fn.text, "yes") == 0)
    c->reference_normalise = true;
  else if (strcmp(fn.text, "no") == 0)
    c->reference_normalise = false;
  else
    return fpc_fail(ld, &fn, FP_ERR_CASE, "expected yes or no, got '%s'", fn.text);
  if (strcmp(fr.text, "initial") == 0) {
    c->reference_kind = FP_REFERENCE_INITIAL;
  } else if (strcmp(fr.text, "stationary") == 0) {
    c->reference_kind = FP_REFERENCE_STATIONARY;
  } else {
    c->reference_kind = FP_REFERENCE_EXPRESSION;
    if (can_compile && load_density_expression(ld, SEC_REFERENCE, &fr, &c->reference) == FP_ERR_NOMEM)
      return FP_ERR_NOMEM;
  }
  if (c->reference_kind != FP_REFERENCE_EXPRESSION && !c->reference_normalise)
    return fpc_fail(ld, &fn, FP_ERR_CASE,
                "normalise = no applies to a reference given by an expression or gaussian, "
                "not to density = %s (which is a density on the grid already)", fr.text);
  return FP_OK;
}

/* A count of equally spaced times from 0 to t_end, or an explicit list. */
static int load_time_list(fp_loader *ld, int section, const char *count_key,
                          const char *list_key, long min_count, bool append_end, double **times,
                          size_t *n_times)
{
  field fn = fpc_get_field(ld, section, count_key);
  field fl = fpc_get_field(ld, section, list_key);
  if (fn.idx != NONE && fl.idx != NONE) {
    const field *f = fpc_later(ld, &fn, &fl);
    const field *other = f == &fn ? &fl : &fn;
    char where[FP_ERROR_MESSAGE_SIZE / 2];
    fpc_field_location(ld, other, where, sizeof where);
    return fpc_fail(ld, f, FP_ERR_CASE,
                "give either '%s' (a count) or '%s' (a list), not both ('%s' is set at %s)",
                count_key, list_key, other->key, where);
  }
  if (fl.idx != NONE) {
    if (!ld->t_end_ok) return FP_OK;
    return parse_times(ld, &fl, append_end, times, n_times);
  }
  long n = 0;
  if (!parse_integer(fn.text, &n) || n < min_count || n > MAX_TIME_COUNT)
    return fpc_fail(ld, &fn, FP_ERR_CASE, "expected an integer from %ld to %ld, got '%s'", min_count,
                MAX_TIME_COUNT, fn.text);
  if (n == 0 || !ld->t_end_ok) return FP_OK;
  *times = equally_spaced((size_t)n, ld->c->t_end);
  if (!*times) return fpc_nomem(ld);
  *n_times = (size_t)n;
  return FP_OK;
}

/* A number checked against (lo, hi] or [lo, hi]; hi may be INFINITY. */
static int load_number(fp_loader *ld, int section, const char *key, double lo, bool lo_open,
                       double hi, double *out)
{
  field f = fpc_get_field(ld, section, key);
  double v = 0.0;
  bool ok = parse_number(f.text, &v) && (lo_open ? v > lo : v >= lo) && v <= hi;
  if (!ok) {
    if (isinf(hi))
      return fpc_fail(ld, &f, FP_ERR_CASE, "expected a number %s %g, got '%s'", lo_open ? ">" : ">=",
                  lo, f.text);
    return fpc_fail(ld, &f, FP_ERR_CASE, "expected a number in %c%g, %g], got '%s'",
                lo_open ? '(' : '[', lo, hi, f.text);
  }
  *out = v;
  return FP_OK;
}

static int load_time(fp_loader *ld)
{
  fp_case *c = ld->c;
  field fe = fpc_get_field(ld, SEC_TIME, "end");
  if (!fe.text)
    fpc_missing(ld, &fe, " (a positive number)");
  else if (!parse_number(fe.text, &c->t_end) || !(c->t_end > 0.0))
    fpc_fail(ld, &fe, FP_ERR_CASE, "expected a positive number, got '%s'", fe.text);
  else
    ld->t_end_ok = true;
  int rc = load_time_list(ld, SEC_TIME, "outputs", "output_times", 2, true, &c->output_times,
                          &c->n_output_times);
  if (rc == FP_ERR_NOMEM) return rc;
  field fr = fpc_get_field(ld, SEC_TIME, "rtol");
  if (fr.text && strcmp(fr.text, "auto") == 0)
    c->rtol = FP_RTOL_AUTO; /* resolved by the solver from the grid and p(0) */
  else
    load_number(ld, SEC_TIME, "rtol", 0.0, true, 0.1, &c->rtol);
  load_number(ld, SEC_TIME, "atol", 0.0, true, INFINITY, &c->atol);
  load_number(ld, SEC_TIME, "max_step", 0.0, false, INFINITY, &c->max_step);
  load_number(ld, SEC_TIME, "initial_step", 0.0, false, INFINITY, &c->initial_step);
  field fi = fpc_get_field(ld, SEC_TIME, "integrator");
  if (strcmp(fi.text, "auto") == 0)
    c->integrator = FP_INTEGRATOR_AUTO;
  else if (strcmp(fi.text, "cvode") == 0)
    c->integrator = FP_INTEGRATOR_CVODE;
  else if (strcmp(fi.text, "exponential") == 0)
    c->integrator = FP_INTEGRATOR_EXPONENTIAL;
  else
    fpc_fail(ld, &fi, FP_ERR_CASE, "expected auto, cvode or exponential, got '%s'", fi.text);
  field fm = fpc_get_field(ld, SEC_TIME, "max_steps");
  if (!parse_integer(fm.text, &c->max_steps) || c->max_steps <= 0)
    fpc_fail(ld, &fm, FP_ERR_CASE, "expected a positive integer, got '%s'", fm.text);
  return FP_OK;
}

static int load_solver(fp_loader *ld)
{
  fp_case *c = ld->c;
  static const fp_linear_solver_kind solvers[] = {FP_LINSOL_AUTO, FP_LINSOL_BAND, FP_LINSOL_DENSE,
                                                  FP_LINSOL_KLU, FP_LINSOL_GMRES};
  static const fp_preconditioner_kind preconditioners[] = {FP_PREC_AUTO, FP_PREC_NONE,
                                                           FP_PREC_FFT};
  field fs = fpc_get_field(ld, SEC_SOLVER, "linear_solver");
  field fp = fpc_get_field(ld, SEC_SOLVER, "preconditioner");
  bool solver_ok = false, prec_ok = false;
  for (size_t i = 0; i < sizeof solvers / sizeof solvers[0]; i++)
    if (strcmp(fs.text, fp_linear_solver_name(solvers[i])) == 0) {
      c->linear_solver = solvers[i];
      solver_ok = true;
    }
  if (!solver_ok)
    fpc_fail(ld, &fs, FP_ERR_CASE, "expected auto, band, dense, klu or gmres, got '%s'", fs.text);
  for (size_t i = 0; i < sizeof preconditioners / sizeof preconditioners[0]; i++)
    if (strcmp(fp.text, fp_preconditioner_name(preconditioners[i])) == 0) {
      c->preconditioner = preconditioners[i];
      prec_ok = true;
    }
  if (!prec_ok) fpc_fail(ld, &fp, FP_ERR_CASE, "expected auto, none or fft, got '%s'", fp.text);
  if (solver_ok && prec_ok && c->preconditioner == FP_PREC_FFT &&
      c->linear_solver != FP_LINSOL_AUTO && c->linear_solver != FP_LINSOL_GMRES)
    fpc_fail(ld, fpc_later(ld, &fs, &fp), FP_ERR_CASE,
         "preconditioner 'fft' needs linear_solver = gmres (or auto), not '%s'",
         fp_linear_solver_name(c->linear_solver));
  field fw = fpc_get_field(ld, SEC_SOLVER, "fft_planning");
  if (strcmp(fw.text, "estimate") == 0)
    c->fft_measure = false;
  else if (strcmp(fw.text, "measure") == 0)
    c->fft_measure = true;
  else
    fpc_fail(ld, &fw, FP_ERR_CASE, "expected estimate or measure, got '%s'", fw.text);
  field fk = fpc_get_field(ld, SEC_SOLVER, "krylov_dim");
  long k = 0;
  if (!parse_integer(fk.text, &k) || k < 1 || k > 500)
    fpc_fail(ld, &fk, FP_ERR_CASE, "expected an integer from 1 to 500, got '%s'", fk.text);
  else
    c->krylov_dim = (int)k;
  return FP_OK;
}

static int load_output(fp_loader *ld)
{
  fp_case *c = ld->c;
  field fd = fpc_get_field(ld, SEC_OUTPUT, "directory");
  if (fd.idx == NONE) {
    c->output_dir = fpc_format_alloc("out/%s", c->name);
    if (!c->output_dir) return fpc_nomem(ld);
  } else if (fd.text[0] == '\0') {
    fpc_fail(ld, &fd, FP_ERR_CASE, "expected a directory path, got an empty value");
  } else {
    c->output_dir = fpc_duplicate(fd.text);
    if (!c->output_dir) return fpc_nomem(ld);
  }
  int rc = load_time_list(ld, SEC_OUTPUT, "snapshots", "snapshot_times", 0, false,
                          &c->snapshot_times, &c->n_snapshot_times);
  if (rc == FP_ERR_NOMEM) return rc;

  field ff = fpc_get_field(ld, SEC_OUTPUT, "snapshot_format");
  item_iter it = {ff.text, false};
  const char *s;
  size_t len;
  unsigned format = 0;
  while (next_item(&it, &s, &len)) {
    if (len == 3 && strncmp(s, "vtk", 3) == 0)
      format |= FP_SNAPSHOT_VTK;
    else if (len == 3 && strncmp(s, "dat", 3) == 0)
      format |= FP_SNAPSHOT_DAT;
    else if (len == 3 && strncmp(s, "vti", 3) == 0)
      format |= FP_SNAPSHOT_VTI;
    else
      return fpc_fail(ld, &ff, FP_ERR_CASE, "expected a comma list of vti, vtk, dat, got '%s'", ff.text);
  }
  c->snapshot_format = format;
  field fsp = fpc_get_field(ld, SEC_OUTPUT, "split");
  if (strcmp(fsp.text, "auto") == 0)
    c->split = FP_SPLIT_AUTO;
  else if (strcmp(fsp.text, "on") == 0)
    c->split = FP_SPLIT_ON;
  else if (strcmp(fsp.text, "off") == 0)
    c->split = FP_SPLIT_OFF;
  else
    return fpc_fail(ld, &fsp, FP_ERR_CASE, "expected auto, on or off, got '%s'", fsp.text);
  field fee = fpc_get_field(ld, SEC_OUTPUT, "error_estimate");
  if (strcmp(fee.text, "off") == 0)
    c->error_estimate = FP_ERROR_ESTIMATE_OFF;
  else if (strcmp(fee.text, "on") == 0)
    c->error_estimate = FP_ERROR_ESTIMATE_ON;
  else if (strcmp(fee.text, "verify") == 0)
    c->error_estimate = FP_ERROR_ESTIMATE_VERIFY;
  else
    return fpc_fail(ld, &fee, FP_ERR_CASE, "expected off, on or verify, got '%s'", fee.text);
  return FP_OK;
}

static int load_count(fp_loader *ld, int section, const char *key, long max, size_t *out)
{
  field f = fpc_get_field(ld, section, key);
  long v = 0;
  if (!parse_integer(f.text, &v) || v < 1 || v > max)
    return fpc_fail(ld, &f, FP_ERR_CASE, "expected an integer from 1 to %ld, got '%s'", max, f.text);
  *out = (size_t)v;
  return FP_OK;
}

/* A whitespace-separated list of specs, kept as text (each spec is checked
 * by the module that parses it, before any computation). */
static int load_specs(fp_loader *ld, int section, const char *key, char **out)
{
  field f = fpc_get_field(ld, section, key);
  if (f.text[0] == '\0') return fpc_fail(ld, &f, FP_ERR_CASE, "expected at least one spec, got an empty value");
  *out = fpc_duplicate(f.text);
  return *out ? FP_OK : fpc_nomem(ld);
}

static int load_sample(fp_loader *ld)
{
  fp_case *c = ld->c;
  load_count(ld, SEC_SAMPLE, "particles", 100000000L, &c->sample_particles);
  load_count(ld, SEC_SAMPLE, "replicas", 100000L, &c->sample_replicas);
  field fs = fpc_get_field(ld, SEC_SAMPLE, "seed");
  long seed = 0;
  if (!parse_integer(fs.text, &seed) || seed < 0)
    fpc_fail(ld, &fs, FP_ERR_CASE, "expected a non-negative integer, got '%s'", fs.text);
  else
    c->sample_seed = (unsigned long)seed;
  load_number(ld, SEC_SAMPLE, "dt", 0.0, false, INFINITY, &c->sample_dt);
  field fz = fpc_get_field(ld, SEC_SAMPLE, "sizes");
  size_t n = count_items(fz.text);
  c->sample_sizes = calloc(n ? n : 1, sizeof *c->sample_sizes);
  if (!c->sample_sizes) return fpc_nomem(ld);
  item_iter it = {fz.text, false};
  const char *s;
  size_t len;
  while (next_item(&it, &s, &len)) {
    long v = 0;
    if (!parse_long(s, len, &v) || v < 2 || v > 100000000L)
      return fpc_fail(ld, &fz, FP_ERR_CASE, "expected a comma list of sample sizes >= 2, got '%s'", fz.text);
    c->sample_sizes[c->n_sample_sizes++] = (size_t)v;
  }
  if (c->n_sample_sizes == 0) return fpc_fail(ld, &fz, FP_ERR_CASE, "expected at least one sample size");
  return load_specs(ld, SEC_SAMPLE, "estimators", &c->estimators);
}

static int load_policy(fp_loader *ld)
{
  fp_case *c = ld->c;
  load_number(ld, SEC_POLICY, "cost", 0.0, false, INFINITY, &c->retrain_cost);
  load_number(ld, SEC_POLICY, "kappa", 0.0, true, INFINITY, &c->kappa);
  load_number(ld, SEC_POLICY, "stale_threshold", 0.0, false, INFINITY, &c->stale_threshold);
  return load_specs(ld, SEC_POLICY, "policies", &c->policies);
}

/* Read a case from `text` (a string) or, when text is NULL, from the file
 * `path`; `path` names the source in every message either way. */

/* Phase 2 for the whole case, in the order of the sections' dependencies
 * (constants first: domain bounds may be expressions of them). */
int fpc_interpret(fp_loader *ld)
{
  int (*const sections[])(fp_loader *) = {load_constants, load_domain,    load_dynamics,
                                          load_densities, load_time,      load_solver,
                                          load_output,    load_sample,    load_policy};
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
    int rc = sections[i](ld);
    if (rc != FP_OK) return rc;
  }
  return FP_OK;
}
