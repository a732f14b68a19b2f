/* fpentropy: labelled streams: [labels]/[model] settings, population fits and the exact
 * performance matrix (see labels.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/streams/labels.h>

#include <errno.h>
#include <fpentropy/problem/density.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

/* ------------------------------------------------------------------------ */
/* settings                                                                  */

typedef struct labels_default {
  const char *section, *key, *value;
} labels_default;

/* Defaults as a user would write them (docs/case-files.md lists the same). */
static const labels_default defaults[] = {
    {"labels", "features", "pde"},
    {"labels", "batch", "500"},
    {"labels", "policies", "none daily weekly"},
    {"model", "window", "1"},
    {"model", "ridge", "1e-4"},
    {"model", "max_iter", "100"},
    {"model", "tol", "1e-10"},
    {"model", "estimator", "gauss"},
};

/* The value of section.key and where it came from ("default" when unset). */
static const char *value_of(const fp_case *c, const char *section, const char *key,
                            const char **source)
{
  for (size_t i = c->n_entries; i-- > 0;)
    if (strcmp(c->entries[i].section, section) == 0 && strcmp(c->entries[i].key, key) == 0) {
      *source = c->entries[i].source;
      return c->entries[i].value;
    }
  *source = c->path;
  for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
    if (strcmp(defaults[i].section, section) == 0 && strcmp(defaults[i].key, key) == 0)
      return defaults[i].value;
  return NULL;
}

static int bad(fp_error *err, int code, const char *source, const char *section, const char *key,
               const char *what, const char *text)
{
  return fp_fail(err, code, "%s: [%s] %s: %s, got '%s'", source, section, key, what, text ? text : "");
}

static int get_real(const fp_case *c, const char *sec, const char *key, double lo, double *out,
                    fp_error *err)
{
  const char *src, *text = value_of(c, sec, key, &src);
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  while (end && (*end == ' ' || *end == '\t')) end++;
  if (errno || end == text || *end != '\0' || !isfinite(v) || v < lo) {
    char what[64];
    snprintf(what, sizeof what, "expected a number >= %g", lo);
    return bad(err, FP_ERR_CASE, src, sec, key, what, text);
  }
  *out = v;
  return FP_OK;
}

static int get_count(const fp_case *c, const char *sec, const char *key, size_t max, size_t *out,
                     fp_error *err)
{
  const char *src, *text = value_of(c, sec, key, &src);
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  while (end && (*end == ' ' || *end == '\t')) end++;
  if (errno || end == text || *end != '\0' || v < 1 || (size_t)v > max) {
    char what[64];
    snprintf(what, sizeof what, "expected an integer from 1 to %zu", max);
    return bad(err, FP_ERR_CASE, src, sec, key, what, text);
  }
  *out = (size_t)v;
  return FP_OK;
}

static int get_text(const fp_case *c, const char *sec, const char *key, char **out, fp_error *err)
{
  const char *src, *text = value_of(c, sec, key, &src);
  size_t n = strlen(text);
  *out = malloc(n + 1);
  if (!*out) return fp_fail(err, FP_ERR_NOMEM, "out of memory");
  memcpy(*out, text, n + 1);
  if (strspn(text, " \t") == n) return bad(err, FP_ERR_CASE, src, sec, key, "expected a value", text);
  return FP_OK;
}

/* An expression of t only (w, b): x, y, z are rejected. */
static int time_expr(const fp_case *c, const char *source, const char *key, const char *text,
                     fp_expr **out, fp_error *err)
{
  int dim = c->grid.dim;
  fp_error e2;
  fp_error_clear(&e2);
  int rc = fp_expr_create(text, dim, &c->constants, out, &e2);
  if (rc != FP_OK)
    return fp_fail(err, rc, "%s: [labels] %s: %s", source, key, e2.message);
  for (int a = 0; a < dim; a++)
    if (fp_expr_depends_on(*out, a))
      return bad(err, FP_ERR_CASE, source, "labels", key,
                 "expected an expression of t and constants only (the rule is linear in x)", text);
  return FP_OK;
}

void fp_labels_destroy(fp_labels **l)
{
  if (!l || !*l) return;
  fp_labels *x = *l;
  for (int a = 0; a < FP_MAX_DIM; a++) fp_expr_destroy(&x->w[a]);
  fp_expr_destroy(&x->b);
  fp_expr_destroy(&x->density);
  free(x->policies);
  free(x->estimator);
  free(x);
  *l = NULL;
}

int fp_labels_load(const fp_case *c, fp_labels **out, fp_error *err)
{
  if (!c || !out) return fp_fail(err, FP_ERR_ARG, "fp_labels_load: NULL argument");
  *out = NULL;
  fp_labels *l = calloc(1, sizeof *l);
  if (!l) return fp_fail(err, FP_ERR_NOMEM, "out of memory");
  l->dim = c->grid.dim;
  const char *src;
  int rc = FP_OK;

  /* w: one expression per axis, comma-separated (the expression syntax has
   * no commas: every function takes one argument). */
  const char *wtext = value_of(c, "labels", "w", &src);
  if (!wtext) {
    rc = fp_fail(err, FP_ERR_CASE, "%s: [labels] w: required key is missing (the label rule "
                 "needs a weight expression per axis)", c->path);
    goto fail;
  }
  {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", wtext);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      if (n == l->dim) {
        n++;
        break;
      }
      rc = time_expr(c, src, "w", tok, &l->w[n++], err);
      if (rc != FP_OK) goto fail;
    }
    if (n != l->dim) {
      char what[96];
      snprintf(what, sizeof what, "expected %d comma-separated expressions (one per axis)", l->dim);
      rc = bad(err, FP_ERR_CASE, src, "labels", "w", what, wtext);
      goto fail;
    }
  }
  const char *btext = value_of(c, "labels", "b", &src);
  if ((rc = time_expr(c, src, "b", btext ? btext : "0", &l->b, err)) != FP_OK) goto fail;

  const char *ftext = value_of(c, "labels", "features", &src);
  if (strcmp(ftext, "pde") == 0)
    l->features = FP_FEATURES_PDE;
  else if (strcmp(ftext, "density") == 0)
    l->features = FP_FEATURES_DENSITY;
  else if (strcmp(ftext, "particles") == 0)
    l->features = FP_FEATURES_PARTICLES;
  else {
    rc = bad(err, FP_ERR_CASE, src, "labels", "features", "expected pde, density or particles", ftext);
    goto fail;
  }
  const char *dtext = value_of(c, "labels", "density", &src);
  if (l->features == FP_FEATURES_DENSITY && !dtext) {
    rc = fp_fail(err, FP_ERR_CASE, "%s: [labels] density: required with features = density", c->path);
    goto fail;
  }
  /* With features = pde or particles a density is parsed (so errors show)
   * but not used for the stream: one case can run every way
   * (--set labels.features=pde). */
  if (dtext) {
    fp_error e2;
    fp_error_clear(&e2);
    rc = fp_expr_create(dtext, l->dim, &c->constants, &l->density, &e2);
    if (rc != FP_OK) {
      rc = fp_fail(err, rc, "%s: [labels] density: %s", src, e2.message);
      goto fail;
    }
  }
  if ((rc = get_count(c, "labels", "batch", 100000000, &l->batch, err)) != FP_OK) goto fail;
  if (l->batch < 2) {
    rc = fp_fail(err, FP_ERR_CASE, "%s: [labels] batch: expected at least 2 points", c->path);
    goto fail;
  }
  if ((rc = get_text(c, "labels", "policies", &l->policies, err)) != FP_OK) goto fail;
  if ((rc = get_count(c, "model", "window", 100000, &l->window, err)) != FP_OK) goto fail;
  if ((rc = get_real(c, "model", "ridge", 0.0, &l->fit.ridge, err)) != FP_OK) goto fail;
  if ((rc = get_count(c, "model", "max_iter", 100000, &l->fit.max_iter, err)) != FP_OK) goto fail;
  if ((rc = get_real(c, "model", "tol", 0.0, &l->fit.tol, err)) != FP_OK) goto fail;
  if (!(l->fit.tol > 0.0)) {
    rc = fp_fail(err, FP_ERR_CASE, "%s: [model] tol: expected a positive number", c->path);
    goto fail;
  }
  if ((rc = get_text(c, "model", "estimator", &l->estimator, err)) != FP_OK) goto fail;
  *out = l;
  return FP_OK;
fail:
  fp_labels_destroy(&l);
  return rc;
}

void fp_labels_rule(const fp_labels *l, double t, fp_logistic *rule)
{
  const double x0[FP_MAX_DIM] = {0};
  memset(rule, 0, sizeof *rule);
  rule->dim = l->dim;
  for (int a = 0; a < l->dim; a++) rule->w[a] = fp_expr_eval(l->w[a], x0, t);
  rule->b = fp_expr_eval(l->b, x0, t);
}

int fp_labels_density_series(const fp_labels *l, const fp_grid *g, const double *t, size_t T,
                             double *p, fp_error *err)
{
  if (!l || !l->density) return fp_fail(err, FP_ERR_ARG, "fp_labels_density_series: no density expression");
  for (size_t k = 0; k < T; k++) {
    int rc = fp_density_sample(g, l->density, t[k], "[labels] density", false, p + k * g->ncells, NULL, err);
    if (rc != FP_OK) return fp_fail_context(err, rc, "at t = %g: ", t[k]);
  }
  return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* population fits and the performance matrix                                */

int fp_labels_window_fit(const fp_labels *l, const fp_grid *g, const double *p, const double *t,
                         size_t T, size_t i, const fp_logistic *start, fp_logistic *model,
                         fp_error *err)
{
  if (!l || !g || !p || !t || !model || i >= T)
    return fp_fail(err, FP_ERR_ARG, "fp_labels_window_fit: bad argument");
  size_t first = i + 1 >= l->window ? i + 1 - l->window : 0, W = i + 1 - first;
  size_t n = g->ncells, m = W * n;
  int dim = g->dim;
  double *x = malloc(m * (size_t)dim * sizeof *x), *y = malloc(m * sizeof *y), *v = malloc(m * sizeof *v);
  int rc = FP_OK;
  if (!x || !y || !v) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for a population fit of %zu points", m);
    goto done;
  }
  for (size_t k = first, r = 0; k <= i; k++) {
    fp_logistic rule;
    fp_labels_rule(l, t[k], &rule);
    for (size_t c = 0; c < n; c++, r++) {
      double xc[FP_MAX_DIM];
      fp_grid_cell_center(g, c, xc);
      for (int a = 0; a < dim; a++) x[r * (size_t)dim + a] = xc[a];
      y[r] = fp_logistic_prob(&rule, xc);
      v[r] = fmax(p[k * n + c], 0.0) * g->cell_volume;
    }
  }
  rc = fp_logistic_fit(x, y, v, m, dim, &l->fit, start, model, NULL, err);
  if (rc != FP_OK) rc = fp_fail_context(err, rc, "population fit of period %zu: ", i);
done:
  free(x);
  free(y);
  free(v);
  return rc;
}

static double softplus(double s)
{
  return s > 0.0 ? s + log1p(exp(-s)) : log1p(exp(s));
}

int fp_performance_matrix(const fp_labels *l, const fp_grid *g, const double *p, const double *t,
                          size_t T, double *pe, fp_logistic *fits, fp_error *err)
{
  if (!l || !g || !p || !t || !pe || T == 0) return fp_fail(err, FP_ERR_ARG, "fp_performance_matrix: bad argument");
  size_t n = g->ncells;
  /* eta[i][c] = eta of f_i at cell c, sp = softplus(eta); a[j][c] = p_j |V|,
   * b[j][c] = p_j pi_j |V|: pe[i][j] = a_j . sp_i - b_j . eta_i. */
  double *eta = malloc(T * n * sizeof *eta), *sp = malloc(T * n * sizeof *sp);
  double *a = malloc(T * n * sizeof *a), *bq = malloc(T * n * sizeof *bq);
  int rc = FP_OK;
  if (!eta || !sp || !a || !bq) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the performance matrix (%zu x %zu cells)", T, n);
    goto done;
  }
  fp_logistic prev;
  for (size_t i = 0; i < T && rc == FP_OK; i++) {
    fp_logistic f, rule;
    rc = fp_labels_window_fit(l, g, p, t, T, i, i ? &prev : NULL, &f, err);
    if (rc != FP_OK) break;
    prev = f;
    if (fits) fits[i] = f;
    fp_labels_rule(l, t[i], &rule);
    for (size_t c = 0; c < n; c++) {
      double xc[FP_MAX_DIM];
      fp_grid_cell_center(g, c, xc);
      double e = fp_logistic_eta(&f, xc);
      eta[i * n + c] = e;
      sp[i * n + c] = softplus(e);
      double w = fmax(p[i * n + c], 0.0) * g->cell_volume;
      a[i * n + c] = w;
      bq[i * n + c] = w * fp_logistic_prob(&rule, xc);
    }
  }
  if (rc != FP_OK) goto done;
  for (size_t i = 0; i < T; i++)
    for (size_t j = 0; j < T; j++) {
      const double *si = sp + i * n, *ei = eta + i * n, *aj = a + j * n, *bj = bq + j * n;
      double s = 0.0;
      for (size_t c = 0; c < n; c++) s += aj[c] * si[c] - bj[c] * ei[c];
      pe[i * T + j] = s;
    }
done:
  free(eta);
  free(sp);
  free(a);
  free(bq);
  return rc;
}
