/* fpentropy: drift and diffusion fields of a case, evaluated pointwise.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/problem/fields.h>

#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

struct fp_fields {
  int dim;
  bool diagonal;
  bool time_dependent;
  /* borrowed from the case */
  fp_expr *drift[FP_MAX_DIM];
  fp_expr *D[FP_MAX_DIM][FP_MAX_DIM];
  fp_expr *potential;
  /* owned derivatives: dD[i][j] = d_j D_ij, dV[j] = d_j V */
  fp_expr *dD[FP_MAX_DIM][FP_MAX_DIM];
  fp_expr *dV[FP_MAX_DIM];
};

void fp_fields_destroy(fp_fields **f)
{
  if (!f || !*f) return;
  for (int i = 0; i < FP_MAX_DIM; i++) {
    fp_expr_destroy(&(*f)->dV[i]);
    for (int j = 0; j < FP_MAX_DIM; j++) fp_expr_destroy(&(*f)->dD[i][j]);
  }
  free(*f);
  *f = NULL;
}

void fp_case_field_spec(const fp_case *c, fp_field_spec *out)
{
  memset(out, 0, sizeof *out);
  if (!c) return;
  out->dim = c->grid.dim;
  for (int i = 0; i < FP_MAX_DIM; i++) {
    out->drift[i] = c->drift[i];
    for (int j = 0; j < FP_MAX_DIM; j++) out->diffusion[i][j] = c->diffusion[i][j];
  }
  out->potential = c->potential;
}

int fp_fields_create_spec(const fp_field_spec *spec, fp_fields **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_fields_create: out is NULL");
  *out = NULL;
  if (!spec) return fp_fail(err, FP_ERR_ARG, "fp_fields_create: the field spec is NULL");
  int dim = spec->dim;
  if (dim < 1 || dim > FP_MAX_DIM)
    return fp_fail(err, FP_ERR_ARG, "fp_fields_create: dimension %d is not 1, 2 or 3", dim);
  fp_fields *f = calloc(1, sizeof *f);
  if (!f) return fp_fail(err, FP_ERR_NOMEM, "out of memory creating the fields");
  f->dim = dim;
  f->diagonal = true;
  f->potential = spec->potential;
  int rc = FP_OK;
  for (int i = 0; i < dim && rc == FP_OK; i++) {
    f->drift[i] = spec->drift[i];
    if (!f->drift[i]) rc = fp_fail(err, FP_ERR_ARG, "fp_fields_create: drift %d missing", i);
    for (int j = 0; j < dim && rc == FP_OK; j++) {
      f->D[i][j] = spec->diffusion[i][j];
      if (!f->D[i][j]) {
        rc = fp_fail(err, FP_ERR_ARG, "fp_fields_create: diffusion %d%d missing", i, j);
        break;
      }
      if (i != j && !fp_expr_is_zero(f->D[i][j])) f->diagonal = false;
      rc = fp_expr_derivative(f->D[i][j], j, &f->dD[i][j], err);
      if (fp_expr_depends_on(f->D[i][j], FP_EXPR_TIME)) f->time_dependent = true;
    }
    if (rc == FP_OK && fp_expr_depends_on(f->drift[i], FP_EXPR_TIME)) f->time_dependent = true;
    if (rc == FP_OK && f->potential) rc = fp_expr_derivative(f->potential, i, &f->dV[i], err);
  }
  if (rc == FP_OK && f->potential && fp_expr_depends_on(f->potential, FP_EXPR_TIME))
    f->time_dependent = true;
  if (rc != FP_OK) {
    fp_fields_destroy(&f);
    return rc;
  }
  *out = f;
  return FP_OK;
}

int fp_fields_create(const fp_case *c, fp_fields **out, fp_error *err)
{
  if (!c) {
    if (out) *out = NULL;
    return fp_fail(err, FP_ERR_ARG, "fp_fields_create: case is NULL");
  }
  fp_field_spec spec;
  fp_case_field_spec(c, &spec);
  return fp_fields_create_spec(&spec, out, err);
}

bool fp_fields_time_dependent(const fp_fields *f) { return f->time_dependent; }
bool fp_fields_has_potential(const fp_fields *f) { return f->potential != NULL; }
bool fp_fields_diagonal(const fp_fields *f) { return f->diagonal; }

void fp_fields_eval(fp_fields *f, const double x[FP_MAX_DIM], double t, fp_field_values *out)
{
  const int dim = f->dim;
  double *grad_V = out->grad_V;
  for (int i = 0; i < FP_MAX_DIM; i++) {
    out->v[i] = out->a[i] = out->div_D[i] = out->extra[i] = out->grad_V[i] = 0.0;
    for (int j = 0; j < FP_MAX_DIM; j++) out->D[i][j] = 0.0;
  }
  for (int i = 0; i < dim; i++) {
    for (int j = 0; j < dim; j++) {
      /* D is symmetric: evaluate the upper triangle once; off-diagonals are
       * skipped entirely for diagonal tensors. */
      if (j >= i && (i == j || !f->diagonal)) out->D[i][j] = out->D[j][i] = fp_expr_eval(f->D[i][j], x, t);
      if (i == j || !f->diagonal) out->div_D[i] += fp_expr_eval(f->dD[i][j], x, t);
    }
    if (f->potential) grad_V[i] = fp_expr_eval(f->dV[i], x, t);
  }
  for (int i = 0; i < dim; i++) {
    double drift_i = fp_expr_eval(f->drift[i], x, t);
    if (f->potential) {
      double DgradV = 0.0;
      for (int j = 0; j < dim; j++) DgradV += out->D[i][j] * grad_V[j];
      out->extra[i] = drift_i;
      out->v[i] = -DgradV + drift_i;
      out->a[i] = out->v[i] + out->div_D[i];
    } else {
      out->a[i] = drift_i;
      out->v[i] = drift_i - out->div_D[i];
    }
  }
}

double fp_fields_potential(fp_fields *f, const double x[FP_MAX_DIM], double t)
{
  return f->potential ? fp_expr_eval(f->potential, x, t) : 0.0;
}
