/* fpentropy: build a problem in code (no case file), with expressions or C callbacks.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A new problem is read from the smallest case file of its dimension, so its
 * defaults are the schema's own (case.c holds the one table of defaults);
 * the setters then replace parts of it the way the case reader fills them. */
#include <fpentropy/problem/problem.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

static const char *const axis_letter[FP_MAX_DIM] = {"x", "y", "z"};

/* Record `section.key = value` (source "api"), replacing an earlier entry of
 * the same key, so that fp_case_print() and summary.txt show what was set. */
static int set_entry(fp_problem *p, const char *section, const char *key, const char *value,
                     fp_error *err)
{
  char *v = strdup(value);
  if (!v) return fp_fail(err, FP_ERR_NOMEM, "out of memory recording %s.%s", section, key);
  for (size_t i = 0; i < p->n_entries; i++) {
    fp_case_entry *e = &p->entries[i];
    if (strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0) {
      char *src = strdup("api");
      if (!src) {
        free(v);
        return fp_fail(err, FP_ERR_NOMEM, "out of memory recording %s.%s", section, key);
      }
      free(e->value);
      free(e->source);
      e->value = v;
      e->source = src;
      return FP_OK;
    }
  }
  fp_case_entry *entries = realloc(p->entries, (p->n_entries + 1) * sizeof *entries);
  if (!entries) {
    free(v);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory recording %s.%s", section, key);
  }
  p->entries = entries;
  fp_case_entry e = {strdup(section), strdup(key), v, strdup("api")};
  if (!e.section || !e.key || !e.source) {
    free(e.section);
    free(e.key);
    free(e.value);
    free(e.source);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory recording %s.%s", section, key);
  }
  p->entries[p->n_entries++] = e;
  return FP_OK;
}

int fp_problem_create(int dim, const char *name, fp_problem **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_problem_create: out is NULL");
  *out = NULL;
  if (dim < 1 || dim > FP_MAX_DIM)
    return fp_fail(err, FP_ERR_ARG, "fp_problem_create: dimension %d is not 1, 2 or 3", dim);
  static const char *const lists[FP_MAX_DIM][3] = {
      {"0", "1", "16"}, {"0, 0", "1, 1", "16, 16"}, {"0, 0, 0", "1, 1, 1", "16, 16, 16"}};
  static const char *const identity[FP_MAX_DIM] = {
      "diffusion_xx = 1\n", "diffusion_xx = 1\ndiffusion_yy = 1\n",
      "diffusion_xx = 1\ndiffusion_yy = 1\ndiffusion_zz = 1\n"};
  char text[512];
  snprintf(text, sizeof text,
           "[domain]\ndimension = %d\nlower = %s\nupper = %s\ncells = %s\n"
           "[dynamics]\n%s[initial]\ndensity = 1\n[time]\nend = 1\n",
           dim, lists[dim - 1][0], lists[dim - 1][1], lists[dim - 1][2], identity[dim - 1]);
  char label[128];
  snprintf(label, sizeof label, "%s", name && *name ? name : "problem");
  fp_error inner;
  fp_error_clear(&inner);
  int rc = fp_case_load_string(text, label, NULL, 0, out, &inner);
  if (rc != FP_OK)
    return fp_fail(err, rc, "fp_problem_create: the default problem did not load: %s",
                   inner.message);
  return FP_OK;
}

void fp_problem_destroy(fp_problem **p) { fp_case_destroy(p); }

static int check_problem(const fp_problem *p, const char *fn, fp_error *err)
{
  if (!p) return fp_fail(err, FP_ERR_ARG, "%s: the problem is NULL", fn);
  return FP_OK;
}

static int check_index(const fp_problem *p, const char *fn, int i, fp_error *err)
{
  if (i < 0 || i >= p->grid.dim)
    return fp_fail(err, FP_ERR_ARG, "%s: index %d is not an axis of a %d-dimensional problem", fn,
                   i, p->grid.dim);
  return FP_OK;
}

int fp_problem_set_axis(fp_problem *p, int axis, double lower, double upper, size_t cells,
                        fp_boundary bc, fp_error *err)
{
  int rc = check_problem(p, "fp_problem_set_axis", err);
  if (rc == FP_OK) rc = check_index(p, "fp_problem_set_axis", axis, err);
  if (rc != FP_OK) return rc;
  if (!(isfinite(lower) && isfinite(upper) && lower < upper))
    return fp_fail(err, FP_ERR_ARG, "fp_problem_set_axis: axis %s: need finite lower < upper, got "
                   "[%g, %g]", axis_letter[axis], lower, upper);
  if (cells < 1)
    return fp_fail(err, FP_ERR_ARG, "fp_problem_set_axis: axis %s: need at least 1 cell",
                   axis_letter[axis]);
  if (bc != FP_BC_REFLECTING && bc != FP_BC_PERIODIC && bc != FP_BC_ABSORBING)
    return fp_fail(err, FP_ERR_ARG, "fp_problem_set_axis: axis %s: unknown boundary %d",
                   axis_letter[axis], (int)bc);
  fp_grid g = p->grid;
  g.lower[axis] = lower;
  g.upper[axis] = upper;
  g.n[axis] = cells;
  g.bc[axis] = bc;
  rc = fp_grid_init(&g, err);
  if (rc != FP_OK) return rc;
  p->grid = g;
  /* The entries hold the whole lists, as a case file writes them. */
  char lo[160] = "", up[160] = "", nc[160] = "", bcs[160] = "";
  for (int a = 0; a < g.dim; a++) {
    const char *sep = a ? ", " : "";
    size_t l = strlen(lo), u = strlen(up), n = strlen(nc), b = strlen(bcs);
    snprintf(lo + l, sizeof lo - l, "%s%.17g", sep, g.lower[a]);
    snprintf(up + u, sizeof up - u, "%s%.17g", sep, g.upper[a]);
    snprintf(nc + n, sizeof nc - n, "%s%zu", sep, g.n[a]);
    snprintf(bcs + b, sizeof bcs - b, "%s%s", sep, fp_boundary_name(g.bc[a]));
  }
  rc = set_entry(p, "domain", "lower", lo, err);
  if (rc == FP_OK) rc = set_entry(p, "domain", "upper", up, err);
  if (rc == FP_OK) rc = set_entry(p, "domain", "cells", nc, err);
  if (rc == FP_OK) rc = set_entry(p, "domain", "boundary", bcs, err);
  return rc;
}

int fp_problem_set_constant(fp_problem *p, const char *name, double value, fp_error *err)
{
  int rc = check_problem(p, "fp_problem_set_constant", err);
  if (rc != FP_OK) return rc;
  if (!isfinite(value))
    return fp_fail(err, FP_ERR_ARG, "fp_problem_set_constant: '%s' is not finite", name ? name : "?");
  rc = fp_constants_set(&p->constants, name, value, err);
  if (rc != FP_OK) return rc;
  char v[32];
  snprintf(v, sizeof v, "%.17g", value);
  return set_entry(p, "constants", name, v, err);
}

/* Make an expression from text (with the problem's constants) or from a C
 * function; `what` names it in messages. */
static int make_expr(const fp_problem *p, const char *text, fp_scalar_fn fn, void *ctx,
                     unsigned depends, const char *what, fp_expr **out, fp_error *err)
{
  if (text) {
    fp_error inner;
    fp_error_clear(&inner);
    int rc = fp_expr_create(text, p->grid.dim, &p->constants, out, &inner);
    if (rc != FP_OK) return fp_fail(err, rc, "%s: %s", what, inner.message);
    return FP_OK;
  }
  if (!fn) return fp_fail(err, FP_ERR_ARG, "%s: neither an expression nor a function", what);
  return fp_expr_create_fn(fn, ctx, p->grid.dim, depends, what, out, err);
}

static void replace_expr(fp_expr **slot, fp_expr *e)
{
  fp_expr_destroy(slot);
  *slot = e;
}

static void update_diagonal(fp_problem *p)
{
  p->diagonal_diffusion = true;
  for (int a = 0; a < p->grid.dim; a++)
    for (int b = 0; b < p->grid.dim; b++)
      if (a != b && !fp_expr_is_zero(p->diffusion[a][b])) p->diagonal_diffusion = false;
}

static int set_drift(fp_problem *p, int i, const char *text, fp_scalar_fn fn, void *ctx,
                     unsigned depends, fp_error *err)
{
  int rc = check_problem(p, "fp_problem_set_drift", err);
  if (rc == FP_OK) rc = check_index(p, "fp_problem_set_drift", i, err);
  if (rc != FP_OK) return rc;
  char key[16];
  snprintf(key, sizeof key, "drift_%s", axis_letter[i]);
  fp_expr *e = NULL;
  rc = make_expr(p, text, fn, ctx, depends, key, &e, err);
  if (rc == FP_OK) rc = set_entry(p, "dynamics", key, fp_expr_text(e), err);
  if (rc != FP_OK) {
    fp_expr_destroy(&e);
    return rc;
  }
  replace_expr(&p->drift[i], e);
  return FP_OK;
}

int fp_problem_set_drift(fp_problem *p, int i, const char *expression, fp_error *err)
{
  if (!expression) return fp_fail(err, FP_ERR_ARG, "fp_problem_set_drift: expression is NULL");
  return set_drift(p, i, expression, NULL, NULL, 0, err);
}

int fp_problem_set_drift_fn(fp_problem *p, int i, fp_scalar_fn fn, void *ctx, unsigned depends,
                            fp_error *err)
{
  return set_drift(p, i, NULL, fn, ctx, depends, err);
}

static int set_diffusion(fp_problem *p, int i, int j, const char *text, fp_scalar_fn fn, void *ctx,
                         unsigned depends, fp_error *err)
{
  int rc = check_problem(p, "fp_problem_set_diffusion", err);
  if (rc == FP_OK) rc = check_index(p, "fp_problem_set_diffusion", i, err);
  if (rc == FP_OK) rc = check_index(p, "fp_problem_set_diffusion", j, err);
  if (rc != FP_OK) return rc;
  int a = i < j ? i : j, b = i < j ? j : i;
  char key[24];
  snprintf(key, sizeof key, "diffusion_%s%s", axis_letter[a], axis_letter[b]);
  /* The two triangles hold separate objects (case.h), with the same meaning. */
  fp_expr *upper = NULL, *lower = NULL;
  rc = make_expr(p, text, fn, ctx, depends, key, &upper, err);
  if (rc == FP_OK && a != b) rc = make_expr(p, text, fn, ctx, depends, key, &lower, err);
  if (rc == FP_OK) rc = set_entry(p, "dynamics", key, fp_expr_text(upper), err);
  if (rc != FP_OK) {
    fp_expr_destroy(&upper);
    fp_expr_destroy(&lower);
    return rc;
  }
  replace_expr(&p->diffusion[a][b], upper);
  if (a != b) replace_expr(&p->diffusion[b][a], lower);
  update_diagonal(p);
  return FP_OK;
}

int fp_problem_set_diffusion(fp_problem *p, int i, int j, const char *expression, fp_error *err)
{
  if (!expression) return fp_fail(err, FP_ERR_ARG, "fp_problem_set_diffusion: expression is NULL");
  return set_diffusion(p, i, j, expression, NULL, NULL, 0, err);
}

int fp_problem_set_diffusion_fn(fp_problem *p, int i, int j, fp_scalar_fn fn, void *ctx,
                                unsigned depends, fp_error *err)
{
  return set_diffusion(p, i, j, NULL, fn, ctx, depends, err);
}

static int set_potential(fp_problem *p, const char *text, fp_scalar_fn fn, void *ctx,
                         unsigned depends, fp_error *err)
{
  int rc = check_problem(p, "fp_problem_set_potential", err);
  if (rc != FP_OK) return rc;
  fp_expr *e = NULL;
  if (text || fn) {
    rc = make_expr(p, text, fn, ctx, depends, "potential", &e, err);
    if (rc == FP_OK) rc = set_entry(p, "dynamics", "potential", fp_expr_text(e), err);
    if (rc != FP_OK) {
      fp_expr_destroy(&e);
      return rc;
    }
  }
  replace_expr(&p->potential, e);
  return FP_OK;
}

int fp_problem_set_potential(fp_problem *p, const char *expression, fp_error *err)
{
  return set_potential(p, expression, NULL, NULL, 0, err);
}

int fp_problem_set_potential_fn(fp_problem *p, fp_scalar_fn fn, void *ctx, unsigned depends,
                                fp_error *err)
{
  if (!fn) return fp_fail(err, FP_ERR_ARG, "fp_problem_set_potential_fn: the function is NULL");
  return set_potential(p, NULL, fn, ctx, depends, err);
}

/* A density: text or function, not depending on t (the case reader's rule). */
static int make_density(fp_problem *p, const char *section, const char *text, fp_scalar_fn fn,
                        void *ctx, unsigned depends, fp_expr **out, fp_error *err)
{
  int rc = check_problem(p, "fp_problem_set_density", err);
  if (rc != FP_OK) return rc;
  char what[48];
  snprintf(what, sizeof what, "[%s] density", section);
  rc = make_expr(p, text, fn, ctx, depends, what, out, err);
  if (rc != FP_OK) return rc;
  if (fp_expr_depends_on(*out, FP_EXPR_TIME)) {
    fp_expr_destroy(out);
    return fp_fail(err, FP_ERR_ARG, "%s: a density must not depend on t", what);
  }
  rc = set_entry(p, section, "density", fp_expr_text(*out), err);
  if (rc != FP_OK) fp_expr_destroy(out);
  return rc;
}

int fp_problem_set_initial(fp_problem *p, const char *expression, fp_error *err)
{
  if (!expression) return fp_fail(err, FP_ERR_ARG, "fp_problem_set_initial: expression is NULL");
  fp_expr *e = NULL;
  int rc = make_density(p, "initial", expression, NULL, NULL, 0, &e, err);
  if (rc == FP_OK) replace_expr(&p->initial, e);
  return rc;
}

int fp_problem_set_initial_fn(fp_problem *p, fp_scalar_fn fn, void *ctx, unsigned depends,
                              fp_error *err)
{
  fp_expr *e = NULL;
  int rc = make_density(p, "initial", NULL, fn, ctx, depends, &e, err);
  if (rc == FP_OK) replace_expr(&p->initial, e);
  return rc;
}

int fp_problem_set_reference(fp_problem *p, const char *expression, fp_error *err)
{
  if (!expression) return fp_fail(err, FP_ERR_ARG, "fp_problem_set_reference: expression is NULL");
  fp_expr *e = NULL;
  int rc = make_density(p, "reference", expression, NULL, NULL, 0, &e, err);
  if (rc != FP_OK) return rc;
  replace_expr(&p->reference, e);
  p->reference_kind = FP_REFERENCE_EXPRESSION;
  return FP_OK;
}

int fp_problem_set_reference_fn(fp_problem *p, fp_scalar_fn fn, void *ctx, unsigned depends,
                                fp_error *err)
{
  fp_expr *e = NULL;
  int rc = make_density(p, "reference", NULL, fn, ctx, depends, &e, err);
  if (rc != FP_OK) return rc;
  replace_expr(&p->reference, e);
  p->reference_kind = FP_REFERENCE_EXPRESSION;
  return FP_OK;
}

int fp_problem_set_reference_kind(fp_problem *p, fp_reference_kind kind, fp_error *err)
{
  int rc = check_problem(p, "fp_problem_set_reference_kind", err);
  if (rc != FP_OK) return rc;
  if (kind != FP_REFERENCE_INITIAL && kind != FP_REFERENCE_STATIONARY)
    return fp_fail(err, FP_ERR_ARG, "fp_problem_set_reference_kind: give FP_REFERENCE_INITIAL or "
                   "FP_REFERENCE_STATIONARY (an expression goes through fp_problem_set_reference)");
  rc = set_entry(p, "reference", "density",
                 kind == FP_REFERENCE_INITIAL ? "initial" : "stationary", err);
  if (rc != FP_OK) return rc;
  fp_expr_destroy(&p->reference);
  p->reference_kind = kind;
  return FP_OK;
}

/* n equally spaced times in [0, t_end], the last exactly t_end (as the case
 * reader's `outputs` and `snapshots` counts). */
static double *spaced_times(size_t n, double t_end)
{
  double *t = malloc((n ? n : 1) * sizeof *t);
  if (!t) return NULL;
  for (size_t i = 0; i < n; i++) t[i] = n == 1 ? t_end : t_end * (double)i / (double)(n - 1);
  if (n) t[n - 1] = t_end;
  return t;
}

int fp_problem_set_times(fp_problem *p, double t_end, size_t n_outputs, fp_error *err)
{
  int rc = check_problem(p, "fp_problem_set_times", err);
  if (rc != FP_OK) return rc;
  if (!(isfinite(t_end) && t_end > 0))
    return fp_fail(err, FP_ERR_ARG, "fp_problem_set_times: t_end must be finite and > 0, got %g",
                   t_end);
  if (n_outputs < 2 || n_outputs > 1000000)
    return fp_fail(err, FP_ERR_ARG, "fp_problem_set_times: need 2 to 1000000 output times, got %zu",
                   n_outputs);
  double *out = spaced_times(n_outputs, t_end);
  double *snap = spaced_times(p->n_snapshot_times, t_end);
  if (!out || !snap) {
    free(out);
    free(snap);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory setting the output times");
  }
  char end[32], count[32];
  snprintf(end, sizeof end, "%.17g", t_end);
  snprintf(count, sizeof count, "%zu", n_outputs);
  rc = set_entry(p, "time", "end", end, err);
  if (rc == FP_OK) rc = set_entry(p, "time", "outputs", count, err);
  if (rc != FP_OK) {
    free(out);
    free(snap);
    return rc;
  }
  free(p->output_times);
  free(p->snapshot_times);
  p->t_end = t_end;
  p->output_times = out;
  p->n_output_times = n_outputs;
  p->snapshot_times = snap;
  return FP_OK;
}

int fp_problem_set_tolerances(fp_problem *p, double rtol, double atol, fp_error *err)
{
  int rc = check_problem(p, "fp_problem_set_tolerances", err);
  if (rc != FP_OK) return rc;
  if (!(rtol > 0 && rtol < 1) || !(atol > 0 && isfinite(atol)))
    return fp_fail(err, FP_ERR_ARG, "fp_problem_set_tolerances: need 0 < rtol < 1 and atol > 0, "
                   "got rtol %g, atol %g", rtol, atol);
  char r[32], a[32];
  snprintf(r, sizeof r, "%.17g", rtol);
  snprintf(a, sizeof a, "%.17g", atol);
  rc = set_entry(p, "time", "rtol", r, err);
  if (rc == FP_OK) rc = set_entry(p, "time", "atol", a, err);
  if (rc != FP_OK) return rc;
  p->rtol = rtol;
  p->atol = atol;
  return FP_OK;
}

int fp_problem_set_snapshots(fp_problem *p, size_t count, fp_error *err)
{
  int rc = check_problem(p, "fp_problem_set_snapshots", err);
  if (rc != FP_OK) return rc;
  if (count > 100000)
    return fp_fail(err, FP_ERR_ARG, "fp_problem_set_snapshots: at most 100000 snapshots, got %zu",
                   count);
  double *snap = spaced_times(count, p->t_end);
  if (!snap) return fp_fail(err, FP_ERR_NOMEM, "out of memory setting the snapshot times");
  char v[32];
  snprintf(v, sizeof v, "%zu", count);
  rc = set_entry(p, "output", "snapshots", v, err);
  if (rc != FP_OK) {
    free(snap);
    return rc;
  }
  free(p->snapshot_times);
  p->snapshot_times = snap;
  p->n_snapshot_times = count;
  return FP_OK;
}

int fp_problem_set_output_dir(fp_problem *p, const char *directory, fp_error *err)
{
  int rc = check_problem(p, "fp_problem_set_output_dir", err);
  if (rc != FP_OK) return rc;
  if (!directory || !*directory)
    return fp_fail(err, FP_ERR_ARG, "fp_problem_set_output_dir: empty directory");
  char *d = strdup(directory);
  if (!d) return fp_fail(err, FP_ERR_NOMEM, "out of memory setting the output directory");
  rc = set_entry(p, "output", "directory", directory, err);
  if (rc != FP_OK) {
    free(d);
    return rc;
  }
  free(p->output_dir);
  p->output_dir = d;
  return FP_OK;
}

fp_expr *fp_problem_coefficient(fp_problem *p, fp_problem_part part, int i, int j)
{
  if (!p) return NULL;
  bool ok_i = i >= 0 && i < p->grid.dim, ok_j = j >= 0 && j < p->grid.dim;
  switch (part) {
  case FP_PART_DRIFT: return ok_i ? p->drift[i] : NULL;
  case FP_PART_DIFFUSION: return ok_i && ok_j ? p->diffusion[i][j] : NULL;
  case FP_PART_POTENTIAL: return p->potential;
  case FP_PART_INITIAL: return p->initial;
  case FP_PART_REFERENCE: return p->reference;
  }
  return NULL;
}

int fp_problem_solve(const fp_problem *p, const fp_run_options *options, fp_run_result *result,
                     fp_error *err)
{
  if (!p) return fp_fail(err, FP_ERR_ARG, "fp_problem_solve: the problem is NULL");
  return fp_run_case(p, options, result, err);
}
