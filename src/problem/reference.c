/* fpentropy (internal): initial and reference densities, and the closed form
 * of linear-Gaussian cases (see include/fpentropy/problem/reference.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/problem/density.h>
#include <fpentropy/fv/stationary.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"
#include <fpentropy/problem/reference.h>

/* Relative agreement demanded of "constant" derivatives at sample points:
 * far above round-off of a few dozen operations, far below any real
 * variation. */
#define CONSTANT_TOLERANCE 1e-9
#define N_SAMPLE_POINTS 4
#define N_SAMPLE_TIMES 3

static void sample_points(const fp_case *c, double x[N_SAMPLE_POINTS][FP_MAX_DIM], double t[N_SAMPLE_TIMES])
{
  static const double offsets[N_SAMPLE_POINTS][FP_MAX_DIM] = {
      {0.0, 0.0, 0.0}, {0.13, -0.29, 0.21}, {-0.31, 0.17, -0.23}, {0.27, 0.33, -0.11}};
  const fp_grid *g = &c->grid;
  for (int s = 0; s < N_SAMPLE_POINTS; s++)
    for (int k = 0; k < FP_MAX_DIM; k++) {
      double mid = 0.5 * (g->lower[k] + g->upper[k]), half = 0.5 * (g->upper[k] - g->lower[k]);
      x[s][k] = k < g->dim ? mid + offsets[s][k] * half : 0.0;
    }
  t[0] = 0.0, t[1] = c->t_end / 3.0, t[2] = c->t_end;
}

static bool nearly_equal(double a, double b, double scale)
{
  return fabs(a - b) <= CONSTANT_TOLERANCE * (1.0 + fabs(scale));
}

/* Whether d e / d x_axis is the same at every sample point and time; its
 * value in *value.  Only structural failures are errors. */
static int constant_derivative(const fp_expr *e, int axis, const fp_case *c, bool use_times,
                               double *value, bool *constant, fp_error *err)
{
  fp_expr *d = NULL;
  int rc = fp_expr_derivative(e, axis, &d, err);
  if (rc != FP_OK) return rc;
  double x[N_SAMPLE_POINTS][FP_MAX_DIM], t[N_SAMPLE_TIMES];
  sample_points(c, x, t);
  double first = fp_expr_eval(d, x[0], 0.0);
  *constant = isfinite(first);
  for (int s = 0; s < N_SAMPLE_POINTS && *constant; s++)
    for (int q = 0; q < (use_times ? N_SAMPLE_TIMES : 1) && *constant; q++)
      *constant = nearly_equal(fp_expr_eval(d, x[s], t[q]), first, first);
  *value = first;
  fp_expr_destroy(&d);
  return FP_OK;
}

/* Detect a Gaussian density: log(e) must have a constant, negative definite
 * Hessian H; then cov = -H^-1 and mean = x0 + cov grad log e(x0). */
static int detect_gaussian_density(const fp_expr *e, const fp_case *c, fp_gaussian *out,
                                   bool *is_gaussian, fp_error *err)
{
  const int dim = c->grid.dim;
  *is_gaussian = false;
  size_t len = strlen(fp_expr_text(e)) + 8;
  char *text = malloc(len);
  if (!text) return fp_fail(err, FP_ERR_NOMEM, "out of memory");
  snprintf(text, len, "log(%s)", fp_expr_text(e));
  fp_expr *loge = NULL;
  fp_expr *grad[FP_MAX_DIM] = {NULL, NULL, NULL};
  fp_error ignored;
  /* A density that libmatheval cannot take the log of is simply not
   * Gaussian: that is not an error of the case. */
  int rc = fp_expr_create(text, dim, &c->constants, &loge, &ignored);
  free(text);
  if (rc != FP_OK) return FP_OK;
  double H[FP_MAX_DIM][FP_MAX_DIM] = {{0}};
  bool constant = true;
  rc = FP_OK;
  for (int i = 0; i < dim && rc == FP_OK; i++) {
    rc = fp_expr_derivative(loge, i, &grad[i], err);
    for (int j = 0; j < dim && rc == FP_OK && constant; j++)
      rc = constant_derivative(grad[i], j, c, false, &H[i][j], &constant, err);
  }
  if (rc == FP_OK && constant) {
    fp_gaussian g = {.dim = dim};
    double P[FP_MAX_DIM][FP_MAX_DIM];
    for (int i = 0; i < dim; i++)
      for (int j = 0; j < dim; j++) P[i][j] = -H[i][j];
    /* cov = P^-1 by Gauss-Jordan on at most 3 x 3 (P is checked SPD below
     * through fp_gaussian_log_density). */
    double M[FP_MAX_DIM][2 * FP_MAX_DIM] = {{0}};
    bool ok = true;
    for (int i = 0; i < dim; i++) {
      for (int j = 0; j < dim; j++) M[i][j] = P[i][j];
      M[i][dim + i] = 1.0;
    }
    for (int k = 0; k < dim && ok; k++) {
      ok = fabs(M[k][k]) > 0.0;
      for (int i = 0; i < dim && ok; i++) {
        if (i == k) continue;
        double f = M[i][k] / M[k][k];
        for (int j = 0; j < 2 * dim; j++) M[i][j] -= f * M[k][j];
      }
    }
    double x[N_SAMPLE_POINTS][FP_MAX_DIM], t[N_SAMPLE_TIMES];
    sample_points(c, x, t);
    double g0[FP_MAX_DIM];
    for (int i = 0; i < dim && ok; i++) g0[i] = fp_expr_eval(grad[i], x[0], 0.0);
    for (int i = 0; i < dim && ok; i++) {
      for (int j = 0; j < dim; j++) g.cov[i][j] = M[i][dim + j] / M[i][i];
    }
    for (int i = 0; i < dim && ok; i++) {
      g.mean[i] = x[0][i];
      for (int j = 0; j < dim; j++) g.mean[i] += g.cov[i][j] * g0[j];
    }
    double check;
    if (ok && fp_gaussian_log_density(&g, x[0], &check, &ignored) == FP_OK) {
      *out = g;
      *is_gaussian = true;
    }
  }
  fp_expr_destroy(&loge);
  for (int i = 0; i < FP_MAX_DIM; i++) fp_expr_destroy(&grad[i]);
  return rc;
}

static int model_c(double t, double out[FP_MAX_DIM], void *ctx)
{
  const fp_case *c = ctx;
  const double zero[FP_MAX_DIM] = {0.0, 0.0, 0.0};
  for (int i = 0; i < c->grid.dim; i++) out[i] = fp_expr_eval(c->drift[i], zero, t);
  return 0;
}

static int model_D(double t, double out[FP_MAX_DIM][FP_MAX_DIM], void *ctx)
{
  const fp_case *c = ctx;
  const double zero[FP_MAX_DIM] = {0.0, 0.0, 0.0};
  for (int i = 0; i < c->grid.dim; i++)
    for (int j = 0; j < c->grid.dim; j++) out[i][j] = fp_expr_eval(c->diffusion[i][j], zero, t);
  return 0;
}

static void not_gaussian(fp_reference *r, const char *why)
{
  r->gaussian = false;
  snprintf(r->not_gaussian_reason, sizeof r->not_gaussian_reason, "%s", why);
}

/* Fill r->model and r->q_gauss if the case is linear-Gaussian. */
static int detect_linear_gaussian(fp_reference *r, fp_error *err)
{
  const fp_case *c = r->c;
  const int dim = c->grid.dim;
  for (int k = 0; k < dim; k++)
    if (c->grid.bc[k] != FP_BC_REFLECTING) {
      not_gaussian(r, "a boundary is not reflecting");
      return FP_OK;
    }
  if (c->potential) {
    not_gaussian(r, "the drift is given through a potential");
    return FP_OK;
  }
  /* Detection differentiates symbolically; C functions are opaque. */
  bool symbolic = fp_expr_is_symbolic(c->initial) &&
                  (c->reference_kind != FP_REFERENCE_EXPRESSION || fp_expr_is_symbolic(c->reference));
  for (int i = 0; i < dim; i++) {
    symbolic = symbolic && fp_expr_is_symbolic(c->drift[i]);
    for (int j = 0; j < dim; j++) symbolic = symbolic && fp_expr_is_symbolic(c->diffusion[i][j]);
  }
  if (!symbolic) {
    not_gaussian(r, "some coefficient or density is a C function");
    return FP_OK;
  }
  fp_gaussian_model *m = &r->model;
  memset(m, 0, sizeof *m);
  m->dim = dim;
  bool constant = true;
  int rc = FP_OK;
  for (int i = 0; i < dim && rc == FP_OK && constant; i++)
    for (int j = 0; j < dim && rc == FP_OK && constant; j++) {
      double value;
      rc = constant_derivative(c->drift[i], j, c, true, &value, &constant, err);
      m->A[i][j] = -value;
      for (int k = 0; k < dim && rc == FP_OK && constant; k++) {
        rc = constant_derivative(c->diffusion[i][j], k, c, true, &value, &constant, err);
        constant = constant && value == 0.0;
      }
    }
  if (rc != FP_OK) return rc;
  if (!constant) {
    not_gaussian(r, "the drift is not affine in x or D depends on x");
    return FP_OK;
  }
  m->c = model_c;
  m->D = model_D;
  m->ctx = (void *)c;
  fp_gaussian p0;
  bool gaussian;
  rc = detect_gaussian_density(c->initial, c, &p0, &gaussian, err);
  if (rc != FP_OK) return rc;
  if (!gaussian) {
    not_gaussian(r, "the initial density is not Gaussian");
    return FP_OK;
  }
  memcpy(m->m0, p0.mean, sizeof m->m0);
  memcpy(m->S0, p0.cov, sizeof m->S0);
  switch (c->reference_kind) {
  case FP_REFERENCE_INITIAL: r->q_gauss = p0; break;
  case FP_REFERENCE_EXPRESSION:
    rc = detect_gaussian_density(c->reference, c, &r->q_gauss, &gaussian, err);
    if (rc != FP_OK) return rc;
    if (!gaussian) {
      not_gaussian(r, "the reference density is not Gaussian");
      return FP_OK;
    }
    break;
  case FP_REFERENCE_STATIONARY: {
    fp_gaussian_frozen frozen;
    fp_error ignored;
    if (fp_gaussian_model_frozen(m, 0.0, &frozen, &ignored) != FP_OK ||
        fp_gaussian_stationary(&frozen, &r->q_gauss, &ignored) != FP_OK) {
      not_gaussian(r, "the frozen dynamics has no Gaussian stationary density");
      return FP_OK;
    }
    break;
  }
  }
  rc = fp_gaussian_ou_create(m, &r->ou, err);
  if (rc != FP_OK) return rc;
  fp_gaussian_frozen frozen;
  fp_gaussian pss;
  fp_error ignored;
  r->gaussian_split = fp_gaussian_model_frozen(m, 0.0, &frozen, &ignored) == FP_OK &&
                      fp_gaussian_stationary(&frozen, &pss, &ignored) == FP_OK;
  r->work = malloc(c->grid.ncells * sizeof *r->work);
  if (!r->work) return fp_fail(err, FP_ERR_NOMEM, "out of memory");
  r->gaussian = true;
  return FP_OK;
}

int fp_reference_init(fp_reference *r, const fp_case *c, fp_operator *op, fp_error *err)
{
  memset(r, 0, sizeof *r);
  r->c = c;
  const fp_grid *g = &c->grid;
  r->p0 = malloc(g->ncells * sizeof *r->p0);
  r->q = malloc(g->ncells * sizeof *r->q);
  if (!r->p0 || !r->q) return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu cells", g->ncells);
  int rc = fp_density_sample(g, c->initial, 0.0, "the initial density", false, r->p0,
                             &r->Z_initial, err);
  if (rc != FP_OK) return fp_fail_context(err, rc, "%s: [initial] density", c->path);
  switch (c->reference_kind) {
  case FP_REFERENCE_EXPRESSION:
    rc = fp_density_sample(g, c->reference, 0.0, "the reference density", true, r->q,
                           &r->Z_reference, err);
    if (rc != FP_OK) return fp_fail_context(err, rc, "%s: [reference] density", c->path);
    if (!c->reference_normalise) {
      /* normalise = no: q_ref as written (e.g. a normal density normalised
       * on the whole space); sampling above has checked it is positive */
      for (size_t i = 0; i < g->ncells; i++) {
        double x[FP_MAX_DIM];
        fp_grid_cell_center(g, i, x);
        r->q[i] = fp_expr_eval(c->reference, x, 0.0);
      }
    }
    snprintf(r->description, sizeof r->description, "expression %s%s", fp_expr_text(c->reference),
             c->reference_normalise ? "" : " (not normalised on the box: its mass there is the "
                                           "normalisation below)");
    break;
  case FP_REFERENCE_INITIAL:
    for (size_t i = 0; i < g->ncells; i++)
      if (!(r->p0[i] > 0.0)) {
        double x[FP_MAX_DIM];
        char where[128];
        fp_grid_cell_center(g, i, x);
        fp_format_point(where, sizeof where, g->dim, x);
        return fp_fail(err, FP_ERR_NUMERIC,
                       "%s: [reference] density = initial needs an initial density that is "
                       "positive on the whole grid, but it is %g at %s",
                       c->path, r->p0[i], where);
      }
    memcpy(r->q, r->p0, g->ncells * sizeof *r->q);
    snprintf(r->description, sizeof r->description, "the initial density");
    break;
  case FP_REFERENCE_STATIONARY: {
    double residual = 0.0;
    rc = fp_stationary_solve(op, r->p0, r->q, &residual, err);
    if (rc != FP_OK) return fp_fail_context(err, rc, "%s: [reference] density = stationary", c->path);
    for (size_t i = 0; i < g->ncells; i++)
      if (!(r->q[i] > 0.0)) {
        return fp_fail(err, FP_ERR_NUMERIC,
                       "%s: the stationary density underflows to 0 in cell %zu; it cannot "
                       "serve as q_ref (shrink the domain or use an expression)",
                       c->path, i);
      }
    snprintf(r->description, sizeof r->description,
             "stationary density of the discrete dynamics at t = 0 (relative residual %.2e)",
             residual);
    break;
  }
  }
  return detect_linear_gaussian(r, err);
}

void fp_reference_clear(fp_reference *r)
{
  if (!r) return;
  free(r->p0);
  free(r->q);
  free(r->work);
  fp_gaussian_ou_destroy(&r->ou);
  memset(r, 0, sizeof *r);
}

const char *fp_reference_describe(const fp_reference *r) { return r->description; }

size_t fp_reference_exact_column_names(const fp_reference *r, const char **names)
{
  static const char *const columns[FP_REFERENCE_EXACT_COLUMNS] = {
      "kl_exact", "dkl_dt_exact", "sigma_tot_exact", "q_hk_exact", "l1_error",
      "sigma_hk_exact", "sigma_na_exact"};
  if (!r->gaussian) return 0;
  size_t n = r->gaussian_split ? FP_REFERENCE_EXACT_COLUMNS : FP_REFERENCE_EXACT_COLUMNS - 2;
  for (size_t k = 0; k < n; k++) names[k] = columns[k];
  return n;
}

int fp_reference_exact_values(fp_reference *r, double t, const double *p, double *values,
                              size_t *n, fp_error *err)
{
  if (!r->gaussian) return FP_OK;
  fp_gaussian pt, dpt, pss;
  fp_gaussian_frozen frozen;
  double kl, rate, sigma, qhk, hk = 0.0, na = 0.0;
  int rc = fp_gaussian_ou_at(r->ou, t, &pt, &dpt, err);
  if (rc == FP_OK) rc = fp_gaussian_model_frozen(&r->model, t, &frozen, err);
  if (rc == FP_OK) rc = fp_gaussian_kl(&pt, &r->q_gauss, &kl, err);
  if (rc == FP_OK) rc = fp_gaussian_kl_rate(&pt, &dpt, &r->q_gauss, &rate, err);
  if (rc == FP_OK) rc = fp_gaussian_sigma_tot(&frozen, &pt, &sigma, err);
  if (rc == FP_OK) rc = fp_gaussian_q_hk(&frozen, &pt, &r->q_gauss, &qhk, err);
  if (rc == FP_OK) rc = fp_gaussian_fill_grid(&pt, &r->c->grid, r->work, err);
  if (rc == FP_OK && r->gaussian_split) {
    rc = fp_gaussian_stationary(&frozen, &pss, err);
    if (rc == FP_OK) rc = fp_gaussian_hatano_sasa(&frozen, &pt, &pss, &hk, &na, err);
  }
  if (rc != FP_OK) return fp_fail_context(err, rc, "closed-form solution at t = %g", t);
  values[(*n)++] = kl;
  values[(*n)++] = rate;
  values[(*n)++] = sigma;
  values[(*n)++] = qhk;
  values[(*n)++] = fp_density_l1_distance(&r->c->grid, p, r->work);
  if (r->gaussian_split) {
    values[(*n)++] = hk;
    values[(*n)++] = na;
  }
  return FP_OK;
}
