/* fpentropy tests: the logistic model (IRLS against a closed form, against an independent Newton
 * solve, weights against replication), the [labels]/[model] settings, and the exact
 * performance matrix against Monte Carlo with labelled samples.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/streams/labels.h>
#include <fpentropy/streams/logistic.h>

#include "streams/sampling_impl.h"
#include "test_support.h"

static const fp_logistic_options tight = {.ridge = 0.0, .max_iter = 100, .tol = 1e-13};

/* Two points x = +-1, soft labels q and 1 - q, equal weights.  The fit is
 * b = 0 and w solving sigma(w) - q + ridge w = 0 (closed form w = logit q
 * without ridge); here found by bisection, an independent scalar solve. */
static void test_symmetric_closed_form(void **state)
{
  (void)state;
  const double q = 0.8, x[2] = {1.0, -1.0}, y[2] = {q, 1.0 - q};
  fp_logistic m;
  fp_logistic_report rep;
  assert_int_equal(fp_logistic_fit(x, y, NULL, 2, 1, &tight, NULL, &m, &rep, NULL), FP_OK);
  assert_close(m.w[0], log(q / (1.0 - q)), 1e-12, 1e-12);
  assert_close(m.b, 0.0, 0.0, 1e-12);
  /* Newton converges quadratically: a handful of steps */
  assert_true(rep.iterations <= 8);

  fp_logistic_options ridge = tight;
  ridge.ridge = 0.3;
  assert_int_equal(fp_logistic_fit(x, y, NULL, 2, 1, &ridge, NULL, &m, NULL, NULL), FP_OK);
  double lo = 0.0, hi = 10.0;
  for (int i = 0; i < 200; i++) {
    double mid = 0.5 * (lo + hi);
    (1.0 / (1.0 + exp(-mid)) - q + ridge.ridge * mid > 0.0 ? (hi = mid) : (lo = mid));
  }
  assert_close(m.w[0], 0.5 * (lo + hi), 1e-11, 1e-12);
  assert_close(m.b, 0.0, 0.0, 1e-12);
}

/* The objective J and its gradient, coded separately from the library. */
typedef struct fit_data {
  const double *x, *y;
  size_t n;
  double ridge;
} fit_data;

static double J_only(const gsl_vector *v, void *params)
{
  const fit_data *d = params;
  double w0 = gsl_vector_get(v, 0), w1 = gsl_vector_get(v, 1), b = gsl_vector_get(v, 2), J = 0.0;
  for (size_t i = 0; i < d->n; i++) {
    double eta = w0 * d->x[2 * i] + w1 * d->x[2 * i + 1] + b;
    double p = 1.0 / (1.0 + exp(-eta));
    J -= d->y[i] * log(p) + (1.0 - d->y[i]) * log(1.0 - p);
  }
  return J / (double)d->n + 0.5 * d->ridge * (w0 * w0 + w1 * w1);
}

static void J_grad(const gsl_vector *v, void *params, gsl_vector *g)
{
  const fit_data *d = params;
  double w0 = gsl_vector_get(v, 0), w1 = gsl_vector_get(v, 1), b = gsl_vector_get(v, 2);
  double g0 = 0.0, g1 = 0.0, g2 = 0.0;
  for (size_t i = 0; i < d->n; i++) {
    double eta = w0 * d->x[2 * i] + w1 * d->x[2 * i + 1] + b;
    double r = 1.0 / (1.0 + exp(-eta)) - d->y[i];
    g0 += r * d->x[2 * i], g1 += r * d->x[2 * i + 1], g2 += r;
  }
  gsl_vector_set(g, 0, g0 / (double)d->n + d->ridge * w0);
  gsl_vector_set(g, 1, g1 / (double)d->n + d->ridge * w1);
  gsl_vector_set(g, 2, g2 / (double)d->n);
}

static void test_irls_against_newton(void **state)
{
  (void)state;
  const size_t n = 400;
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 7);
  double *x = malloc(2 * n * sizeof *x), *y = malloc(n * sizeof *y);
  for (size_t i = 0; i < n; i++) {
    x[2 * i] = 1.0 + gsl_ran_gaussian(rng, 1.0);
    x[2 * i + 1] = -0.5 + gsl_ran_gaussian(rng, 2.0);
    double p = 1.0 / (1.0 + exp(-(1.5 * x[2 * i] - 0.7 * x[2 * i + 1] + 0.3)));
    y[i] = gsl_rng_uniform(rng) < p ? 1.0 : 0.0;
  }
  fit_data d = {x, y, n, 1e-3};
  fp_logistic_options opt = {.ridge = d.ridge, .max_iter = 100, .tol = 1e-12};
  fp_logistic m;
  assert_int_equal(fp_logistic_fit(x, y, NULL, n, 2, &opt, NULL, &m, NULL, NULL), FP_OK);

  /* Independent solve: Newton on the gradient written out in closed form,
   * its Jacobian by central finite differences of that gradient, LU solve
   * (no line search, no Cholesky, nothing shared with the library). */
  double th[3] = {0.0, 0.0, 0.0};
  gsl_vector *g = gsl_vector_alloc(3), *gp = gsl_vector_alloc(3), *gm = gsl_vector_alloc(3);
  gsl_vector *v = gsl_vector_alloc(3), *dx = gsl_vector_alloc(3);
  gsl_matrix *Hm = gsl_matrix_alloc(3, 3);
  gsl_permutation *perm = gsl_permutation_alloc(3);
  for (int it = 0; it < 50; it++) {
    for (int k = 0; k < 3; k++) gsl_vector_set(v, k, th[k]);
    J_grad(v, &d, g);
    for (int c = 0; c < 3; c++) {
      const double h = 1e-5;
      gsl_vector_set(v, c, th[c] + h), J_grad(v, &d, gp);
      gsl_vector_set(v, c, th[c] - h), J_grad(v, &d, gm);
      gsl_vector_set(v, c, th[c]);
      for (int r = 0; r < 3; r++)
        gsl_matrix_set(Hm, r, c, (gsl_vector_get(gp, r) - gsl_vector_get(gm, r)) / (2 * h));
    }
    int sign;
    gsl_linalg_LU_decomp(Hm, perm, &sign);
    gsl_linalg_LU_solve(Hm, perm, g, dx);
    for (int k = 0; k < 3; k++) th[k] -= gsl_vector_get(dx, k);
  }
  for (int k = 0; k < 3; k++) gsl_vector_set(v, k, th[k]);
  J_grad(v, &d, g);
  assert_true(gsl_blas_dnrm2(g) < 1e-12);
  assert_close(m.w[0], th[0], 0.0, 1e-9);
  assert_close(m.w[1], th[1], 0.0, 1e-9);
  assert_close(m.b, th[2], 0.0, 1e-9);
  double Jref = J_only(v, &d);
  gsl_vector_set(v, 0, m.w[0]), gsl_vector_set(v, 1, m.w[1]), gsl_vector_set(v, 2, m.b);
  assert_true(J_only(v, &d) <= Jref + 1e-14);

  /* log loss of the fit = J minus the penalty; of the zero model = log 2 */
  double loss;
  assert_int_equal(fp_logistic_log_loss(&m, x, y, NULL, n, &loss, NULL), FP_OK);
  assert_close(loss, J_only(v, &d) - 0.5 * d.ridge * (m.w[0] * m.w[0] + m.w[1] * m.w[1]), 1e-13, 0.0);
  fp_logistic zero = {.dim = 2};
  assert_int_equal(fp_logistic_log_loss(&zero, x, y, NULL, n, &loss, NULL), FP_OK);
  assert_close(loss, log(2.0), 1e-14, 0.0);

  gsl_vector_free(g), gsl_vector_free(gp), gsl_vector_free(gm), gsl_vector_free(dx);
  gsl_matrix_free(Hm);
  gsl_permutation_free(perm);
  gsl_vector_free(v);
  gsl_rng_free(rng);
  free(x);
  free(y);
}

/* Integer weights are the same as repeating the points. */
static void test_weights_are_replication(void **state)
{
  (void)state;
  const double x[5] = {-2.0, -0.5, 0.1, 0.7, 2.5}, y[5] = {0, 1, 0, 1, 1}, v[5] = {1, 3, 2, 1, 2};
  double xr[9], yr[9];
  size_t r = 0;
  for (size_t i = 0; i < 5; i++)
    for (int k = 0; k < (int)v[i]; k++) xr[r] = x[i], yr[r++] = y[i];
  fp_logistic_options opt = {.ridge = 0.01, .max_iter = 100, .tol = 1e-13};
  fp_logistic a, b;
  assert_int_equal(fp_logistic_fit(x, y, v, 5, 1, &opt, NULL, &a, NULL, NULL), FP_OK);
  assert_int_equal(fp_logistic_fit(xr, yr, NULL, r, 1, &opt, NULL, &b, NULL, NULL), FP_OK);
  assert_close(a.w[0], b.w[0], 1e-12, 1e-13);
  assert_close(a.b, b.b, 1e-12, 1e-13);
}

static void test_fit_errors(void **state)
{
  (void)state;
  const double x[2] = {0.0, 1.0}, y[2] = {0.0, 1.5}, ok[2] = {0.0, 1.0};
  fp_logistic m;
  fp_error err;
  fp_error_clear(&err);
  assert_int_equal(fp_logistic_fit(x, y, NULL, 2, 1, &tight, NULL, &m, NULL, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "label 1"));
  /* separable data without ridge: no minimiser, J -> 0 as |w| grows; Newton
   * walks out until the gradient is below tol and the fit separates */
  assert_int_equal(fp_logistic_fit(x, ok, NULL, 2, 1, &tight, NULL, &m, NULL, &err), FP_OK);
  assert_true(fp_logistic_prob(&m, &x[0]) < 1e-12 && fp_logistic_prob(&m, &x[1]) > 1.0 - 1e-12);
  /* a ridge keeps it finite */
  fp_logistic_options r = tight;
  r.ridge = 0.1;
  assert_int_equal(fp_logistic_fit(x, ok, NULL, 2, 1, &r, NULL, &m, NULL, &err), FP_OK);
  assert_true(m.w[0] > 0.0 && m.w[0] < 10.0);
  /* not converged in max_iter: reported */
  r.max_iter = 1;
  assert_int_equal(fp_logistic_fit(x, ok, NULL, 2, 1, &r, NULL, &m, NULL, &err), FP_ERR_NUMERIC);
  assert_non_null(strstr(err.message, "not converged"));
}

/* ---- [labels] / [model] ------------------------------------------------- */

static const char *case_1d =
    "[domain]\ndimension = 1\nlower = -8\nupper = 8\ncells = 320\n"
    "[dynamics]\ndrift = -(x - 0.02*t)\ndiffusion = 0.5\n"
    "[initial]\ndensity = exp(-x^2/2)\n"
    "[time]\nend = 10\noutputs = 11\n"
    "[labels]\nw = 2 - 0.1*t\nb = 0.5 - 0.05*t\nfeatures = density\n"
    "density = exp(-(x - 0.2*t)^2 / (2*(1 + 0.05*t)))\nbatch = 100\n"
    "[model]\nridge = 1e-3\nwindow = 2\n";

static void test_labels_load(void **state)
{
  (void)state;
  fp_case *c = fp_test_case(case_1d, NULL);
  fp_labels *l = NULL;
  fp_error err;
  fp_error_clear(&err);
  assert_int_equal(fp_labels_load(c, &l, &err), FP_OK);
  assert_int_equal(l->features, FP_FEATURES_DENSITY);
  assert_int_equal(l->batch, 100);
  assert_int_equal(l->window, 2);
  assert_close(l->fit.ridge, 1e-3, 0.0, 0.0);
  assert_string_equal(l->estimator, "gauss");
  fp_logistic rule;
  fp_labels_rule(l, 4.0, &rule);
  assert_close(rule.w[0], 1.6, 1e-15, 0.0);
  assert_close(rule.b, 0.3, 1e-15, 0.0);
  fp_labels_destroy(&l);
  fp_case_destroy(&c);

  /* a rule that is not linear in x, and a w of the wrong length */
  const char *bad1[] = {"labels.w=x*t", NULL};
  c = fp_test_case(case_1d, bad1);
  assert_int_equal(fp_labels_load(c, &l, &err), FP_ERR_CASE);
  assert_non_null(strstr(err.message, "[labels] w"));
  assert_null(l);
  fp_case_destroy(&c);
  const char *bad2[] = {"labels.w=1, 2", NULL};
  c = fp_test_case(case_1d, bad2);
  assert_int_equal(fp_labels_load(c, &l, &err), FP_ERR_CASE);
  assert_non_null(strstr(err.message, "1 comma-separated"));
  fp_case_destroy(&c);
  const char *bad4[][3] = {{"labels.features=foo", "[labels] features", NULL},
                           {"labels.batch=1", "[labels] batch", NULL},
                           {"model.tol=0", "[model] tol", NULL},
                           {"model.ridge=-1", "[model] ridge", NULL},
                           {"labels.b=y", "[labels] b", NULL}};
  for (size_t k = 0; k < sizeof bad4 / sizeof bad4[0]; k++) {
    const char *over[] = {bad4[k][0], NULL};
    c = fp_test_case(case_1d, over);
    int rc = fp_labels_load(c, &l, &err);
    assert_true(rc == FP_ERR_CASE || rc == FP_ERR_EXPR);
    if (!strstr(err.message, bad4[k][1])) fail_msg("%s: message '%s'", bad4[k][0], err.message);
    fp_case_destroy(&c);
  }
  /* features = density needs a density */
  fp_case *c2 = fp_test_case("[domain]\ndimension = 1\nlower = -1\nupper = 1\ncells = 10\n"
                             "[dynamics]\ndrift = 0\ndiffusion = 1\n[initial]\ndensity = 1\n"
                             "[time]\nend = 1\n[labels]\nw = 1\nfeatures = density\n", NULL);
  assert_int_equal(fp_labels_load(c2, &l, &err), FP_ERR_CASE);
  assert_non_null(strstr(err.message, "[labels] density"));
  fp_case_destroy(&c2);
  const char *bad3[] = {"model.window=0", NULL};
  c = fp_test_case(case_1d, bad3);
  assert_int_equal(fp_labels_load(c, &l, &err), FP_ERR_CASE);
  assert_non_null(strstr(err.message, "[model] window"));
  fp_case_destroy(&c);
}

/* pe[i][j] against Monte Carlo: points drawn from the grid density p(t_j)
 * (a cell, then uniform inside it), labels from the rule at t_j, the loss of
 * the population fit f_i averaged; |pe - mean| <= 3 standard errors.  The
 * quadrature's O(h^2) cell error (h = 0.05: ~1e-4 relative) is well below
 * 3 SE (~3e-3) here. */
static void test_performance_matrix_monte_carlo(void **state)
{
  (void)state;
  fp_case *c = fp_test_case(case_1d, NULL);
  fp_labels *l = NULL;
  assert_int_equal(fp_labels_load(c, &l, NULL), FP_OK);
  const size_t T = c->n_output_times, n = c->grid.ncells;
  double *p = malloc(T * n * sizeof *p), *pe = malloc(T * T * sizeof *pe), *cdf = malloc(n * sizeof *cdf);
  fp_logistic *fits = malloc(T * sizeof *fits);
  assert_int_equal(fp_labels_density_series(l, &c->grid, c->output_times, T, p, NULL), FP_OK);
  assert_int_equal(fp_performance_matrix(l, &c->grid, p, c->output_times, T, pe, fits, NULL), FP_OK);

  /* the fit of period 0 (window {0}) is where the population gradient vanishes */
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 11);
  const size_t pairs[][2] = {{0, 0}, {0, 10}, {3, 7}, {9, 2}, {10, 10}};
  const size_t M = 200000;
  for (size_t q = 0; q < sizeof pairs / sizeof pairs[0]; q++) {
    size_t i = pairs[q][0], j = pairs[q][1];
    fp_grid_cumulative_mass(&c->grid, p + j * n, cdf);
    fp_logistic rule;
    fp_labels_rule(l, c->output_times[j], &rule);
    double s = 0.0, s2 = 0.0;
    for (size_t k = 0; k < M; k++) {
      double x[FP_MAX_DIM] = {0};
      fp_grid_draw_point(&c->grid, cdf, rng, x);
      double y = gsl_rng_uniform(rng) < fp_logistic_prob(&rule, x) ? 1.0 : 0.0;
      double v = fp_logistic_point_loss(&fits[i], x, y);
      s += v, s2 += v * v;
    }
    double mean = s / (double)M, se = sqrt((s2 / (double)M - mean * mean) / (double)(M - 1));
    if (fabs(pe[i * T + j] - mean) > 3.0 * se)
      fail_msg("pe[%zu][%zu] = %.6f, Monte Carlo %.6f +- %.6f", i, j, pe[i * T + j], mean, se);
  }
  /* the model is fitted where it is scored: a later period costs more than
   * the diagonal in this drifting stream */
  assert_true(pe[0 * T + 10] > pe[10 * T + 10]);
  gsl_rng_free(rng);
  free(p), free(pe), free(cdf), free(fits);
  fp_labels_destroy(&l);
  fp_case_destroy(&c);
}

/* The population fit with window 1 on an exact logistic population with
 * constant rule recovers the rule (no ridge): the model class contains it. */
static void test_population_fit_recovers_rule(void **state)
{
  (void)state;
  const char *over[] = {"labels.w=1.3", "labels.b=-0.4", "model.ridge=0", "model.window=1", NULL};
  fp_case *c = fp_test_case(case_1d, over);
  fp_labels *l = NULL;
  assert_int_equal(fp_labels_load(c, &l, NULL), FP_OK);
  const size_t T = c->n_output_times, n = c->grid.ncells;
  double *p = malloc(T * n * sizeof *p);
  assert_int_equal(fp_labels_density_series(l, &c->grid, c->output_times, T, p, NULL), FP_OK);
  fp_logistic f;
  assert_int_equal(fp_labels_window_fit(l, &c->grid, p, c->output_times, T, 5, NULL, &f, NULL), FP_OK);
  assert_close(f.w[0], 1.3, 1e-9, 0.0);
  assert_close(f.b, -0.4, 1e-9, 0.0);
  free(p);
  fp_labels_destroy(&l);
  fp_case_destroy(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_symmetric_closed_form),
      cmocka_unit_test(test_irls_against_newton),
      cmocka_unit_test(test_weights_are_replication),
      cmocka_unit_test(test_fit_errors),
      cmocka_unit_test(test_labels_load),
      cmocka_unit_test(test_performance_matrix_monte_carlo),
      cmocka_unit_test(test_population_fit_recovers_rule),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
