/* fpentropy: logistic regression by IRLS and its log loss (see logistic.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/streams/logistic.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "core/error_impl.h"

/* log(1 + e^s) without overflow or cancellation. */
static double softplus(double s)
{
  return s > 0.0 ? s + log1p(exp(-s)) : log1p(exp(s));
}

static double sigmoid(double s)
{
  if (s >= 0.0) return 1.0 / (1.0 + exp(-s));
  double e = exp(s);
  return e / (1.0 + e);
}

double fp_logistic_eta(const fp_logistic *m, const double *x)
{
  double eta = m->b;
  for (int k = 0; k < m->dim; k++) eta += m->w[k] * x[k];
  return eta;
}

double fp_logistic_prob(const fp_logistic *m, const double *x)
{
  return sigmoid(fp_logistic_eta(m, x));
}

double fp_logistic_point_loss(const fp_logistic *m, const double *x, double y)
{
  double eta = fp_logistic_eta(m, x);
  return softplus(eta) - y * eta;
}

static int check_data(const double *x, const double *y, const double *weight, size_t n, int dim,
                      double *V, fp_error *err)
{
  if (!x || !y || n == 0) return fp_fail(err, FP_ERR_ARG, "logistic: no data (NULL or n = 0)");
  if (dim < 1 || dim > FP_MAX_DIM)
    return fp_fail(err, FP_ERR_ARG, "logistic: dimension %d is not in 1..%d", dim, FP_MAX_DIM);
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (!(y[i] >= 0.0 && y[i] <= 1.0))
      return fp_fail(err, FP_ERR_ARG, "logistic: label %zu is %g, not in [0, 1]", i, y[i]);
    double v = weight ? weight[i] : 1.0;
    if (!(v >= 0.0) || !isfinite(v))
      return fp_fail(err, FP_ERR_ARG, "logistic: weight %zu is %g, not finite and >= 0", i, v);
    for (int k = 0; k < dim; k++)
      if (!isfinite(x[i * (size_t)dim + k]))
        return fp_fail(err, FP_ERR_ARG, "logistic: coordinate %d of point %zu is not finite", k, i);
    sum += v;
  }
  if (!(sum > 0.0)) return fp_fail(err, FP_ERR_ARG, "logistic: the weights sum to zero");
  *V = sum;
  return FP_OK;
}

int fp_logistic_log_loss(const fp_logistic *m, const double *x, const double *y,
                         const double *weight, size_t n, double *loss, fp_error *err)
{
  if (!m || !loss) return fp_fail(err, FP_ERR_ARG, "fp_logistic_log_loss: NULL argument");
  double V = 0.0;
  int rc = check_data(x, y, weight, n, m->dim, &V, err);
  if (rc != FP_OK) return rc;
  double acc = 0.0;
  for (size_t i = 0; i < n; i++)
    acc += (weight ? weight[i] : 1.0) * fp_logistic_point_loss(m, x + i * (size_t)m->dim, y[i]);
  *loss = acc / V;
  return FP_OK;
}

/* J, and (when g, H are not NULL) its gradient and Hessian, for the
 * parameter vector theta = (w_0..w_{dim-1}, b). */
static double objective(const double *x, const double *y, const double *weight, size_t n, int dim,
                        double V, double ridge, const double *theta, double *g, double *H)
{
  const int p = dim + 1;
  fp_logistic m = {.dim = dim, .b = theta[dim]};
  for (int k = 0; k < dim; k++) m.w[k] = theta[k];
  if (g) memset(g, 0, (size_t)p * sizeof *g), memset(H, 0, (size_t)(p * p) * sizeof *H);
  double J = 0.0;
  for (size_t i = 0; i < n; i++) {
    double v = weight ? weight[i] : 1.0;
    if (v == 0.0) continue;
    const double *xi = x + i * (size_t)dim;
    double eta = fp_logistic_eta(&m, xi);
    J += v * (softplus(eta) - y[i] * eta);
    if (!g) continue;
    double s = sigmoid(eta), r = v * (s - y[i]), c = v * s * (1.0 - s);
    double z[FP_MAX_DIM + 1];
    for (int k = 0; k < dim; k++) z[k] = xi[k];
    z[dim] = 1.0;
    for (int a = 0; a < p; a++) {
      g[a] += r * z[a];
      for (int b = 0; b <= a; b++) H[a * p + b] += c * z[a] * z[b];
    }
  }
  J /= V;
  double pen = 0.0;
  for (int k = 0; k < dim; k++) pen += theta[k] * theta[k];
  J += 0.5 * ridge * pen;
  if (g) {
    for (int a = 0; a < p; a++) {
      g[a] /= V;
      for (int b = 0; b <= a; b++) H[a * p + b] /= V, H[b * p + a] = H[a * p + b];
    }
    for (int k = 0; k < dim; k++) g[k] += ridge * theta[k], H[k * p + k] += ridge;
  }
  return J;
}

static double max_abs(const double *v, int n)
{
  double m = 0.0;
  for (int i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
  return m;
}

int fp_logistic_fit(const double *x, const double *y, const double *weight, size_t n, int dim,
                    const fp_logistic_options *opt, const fp_logistic *start, fp_logistic *model,
                    fp_logistic_report *report, fp_error *err)
{
  if (!opt || !model) return fp_fail(err, FP_ERR_ARG, "fp_logistic_fit: NULL argument");
  if (!(opt->ridge >= 0.0) || !isfinite(opt->ridge) || opt->max_iter < 1 || !(opt->tol > 0.0))
    return fp_fail(err, FP_ERR_ARG, "fp_logistic_fit: need ridge >= 0, max_iter >= 1, tol > 0");
  double V = 0.0;
  int rc = check_data(x, y, weight, n, dim, &V, err);
  if (rc != FP_OK) return rc;
  if (start && start->dim != dim)
    return fp_fail(err, FP_ERR_ARG, "fp_logistic_fit: start has dimension %d, data %d", start->dim, dim);

  const int p = dim + 1;
  double theta[FP_MAX_DIM + 1] = {0}, g[FP_MAX_DIM + 1], H[(FP_MAX_DIM + 1) * (FP_MAX_DIM + 1)];
  if (start) {
    for (int k = 0; k < dim; k++) theta[k] = start->w[k];
    theta[dim] = start->b;
  }
  double J = objective(x, y, weight, n, dim, V, opt->ridge, theta, g, H);
  size_t it = 0;
  const char *failure = NULL;
  while (max_abs(g, p) > opt->tol) {
    if (it == opt->max_iter) {
      failure = "not converged";
      break;
    }
    /* Newton direction: H d = -g (H symmetric positive definite). */
    double rhs[FP_MAX_DIM + 1];
    for (int a = 0; a < p; a++) rhs[a] = -g[a];
    gsl_matrix_view Hv = gsl_matrix_view_array(H, (size_t)p, (size_t)p);
    gsl_vector_view dv = gsl_vector_view_array(rhs, (size_t)p);
    if (gsl_linalg_cholesky_decomp1(&Hv.matrix) != GSL_SUCCESS ||
        gsl_linalg_cholesky_svx(&Hv.matrix, &dv.vector) != GSL_SUCCESS) {
      failure = "singular Hessian (separable data without ridge?)";
      break;
    }
    /* Halve the step until J does not increase (Newton on a convex J takes
     * the full step near the solution). */
    double step = 1.0, trial[FP_MAX_DIM + 1], Jt = J, decrement = 0.0;
    int halvings = 0;
    /* Near the minimum the predicted decrease -g.d/2 is below the rounding
     * of J, and comparing J values would reject good steps: take the full
     * step there (Newton's quadratic convergence). */
    for (int a = 0; a < p; a++) decrement -= g[a] * rhs[a];
    bool full = 0.5 * decrement <= 1e-13 * (fabs(J) + 1e-300);
    for (; halvings < 60; halvings++, step *= 0.5) {
      for (int a = 0; a < p; a++) trial[a] = theta[a] + step * rhs[a];
      if (full) break;
      Jt = objective(x, y, weight, n, dim, V, opt->ridge, trial, NULL, NULL);
      if (Jt <= J) break;
    }
    if (halvings == 60) {
      failure = "no descent along the Newton direction";
      break;
    }
    memcpy(theta, trial, sizeof theta);
    J = objective(x, y, weight, n, dim, V, opt->ridge, theta, g, H);
    it++;
  }
  memset(model, 0, sizeof *model);
  model->dim = dim;
  for (int k = 0; k < dim; k++) model->w[k] = theta[k];
  model->b = theta[dim];
  if (report) *report = (fp_logistic_report){it, J, max_abs(g, p)};
  if (failure)
    return fp_fail(err, FP_ERR_NUMERIC, "logistic fit: %s after %zu iterations (max |gradient| %.3g, tol %.3g)",
                   failure, it, max_abs(g, p), opt->tol);
  return FP_OK;
}
