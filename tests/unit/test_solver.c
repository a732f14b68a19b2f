/* fpentropy tests: time stepping (conservation and positivity along runs,
 * second-order convergence against the Ornstein-Uhlenbeck closed form,
 * agreement of the linear solvers, negative densities reported for full
 * tensors).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/problem/density.h>
#include <fpentropy/balance/gaussian.h>
#include <fpentropy/time/run.h>

#include "time/solver_impl.h"

static const char *const ou1d =
    "[domain]\ndimension = 1\nlower = -8\nupper = 8\ncells = 100\n"
    "[dynamics]\ndrift = -x\ndiffusion = 1\n"
    "[initial]\ndensity = exp(-(x-2)^2/(2*0.25))\n"
    "[reference]\ndensity = exp(-x^2/2)\n"
    "[time]\nend = 0.5\noutputs = 2\nrtol = 1e-10\natol = 1e-16\n";

static const char *const ou2d =
    "[domain]\ndimension = 2\nlower = -6\nupper = 6\ncells = 24\n"
    "[dynamics]\ndrift_x = -x + 0.5*y\ndrift_y = -0.5*x - y\ndiffusion = 1\n"
    "[initial]\ndensity = exp(-((x-2)^2 + y^2)/(2*0.25))\n"
    "[reference]\ndensity = exp(-(x^2+y^2)/2)\n"
    "[time]\nend = 0.5\noutputs = 2\nrtol = 1e-9\natol = 1e-15\n";

/* L1 error at t of the case's numerical density against the OU closed form
 * a = -A x, D = I, started from N(m0, s0^2 I). */
static int ou_D(double t, double out[3][3], void *ctx)
{
  (void)t, (void)ctx;
  memset(out, 0, 9 * sizeof(double));
  out[0][0] = out[1][1] = out[2][2] = 1.0;
  return 0;
}

static double l1_error(const fp_case *c, double t, const double A[2][2], const double m0[2],
                       double s0)
{
  size_t n = c->grid.ncells;
  double *p = malloc(n * sizeof *p), *exact = malloc(n * sizeof *exact);
  fp_test_integrate(c, t, FP_LINSOL_AUTO, p);
  fp_gaussian_model model = {.dim = c->grid.dim, .D = ou_D};
  for (int i = 0; i < c->grid.dim; i++) {
    model.m0[i] = m0[i];
    model.S0[i][i] = s0 * s0;
    for (int j = 0; j < c->grid.dim; j++) model.A[i][j] = A[i][j];
  }
  fp_gaussian_ou *ou = NULL;
  fp_gaussian g;
  fp_error err;
  assert_int_equal(fp_gaussian_ou_create(&model, &ou, &err), FP_OK);
  assert_int_equal(fp_gaussian_ou_at(ou, t, &g, NULL, &err), FP_OK);
  assert_int_equal(fp_gaussian_fill_grid(&g, &c->grid, exact, &err), FP_OK);
  double e = fp_density_l1_distance(&c->grid, p, exact);
  fp_gaussian_ou_destroy(&ou);
  free(p);
  free(exact);
  return e;
}

/* Observed order of the L1 error >= 1.8 under refinement (issue: >= 1.8 in
 * 1D and 2D; second order is the design). */
static void test_convergence_1d(void **state)
{
  (void)state;
  const double A[2][2] = {{1, 0}, {0, 0}}, m0[2] = {2, 0};
  const char *cells[] = {"domain.cells=100", "domain.cells=200", "domain.cells=400"};
  double e[3];
  for (int k = 0; k < 3; k++) {
    const char *ov[] = {cells[k], NULL};
    fp_case *c = fp_test_case(ou1d, ov);
    e[k] = l1_error(c, 0.5, A, m0, 0.5);
    fp_case_destroy(&c);
  }
  double order1 = log2(e[0] / e[1]), order2 = log2(e[1] / e[2]);
  print_message("1D L1 errors %.3e %.3e %.3e, orders %.3f %.3f\n", e[0], e[1], e[2], order1, order2);
  assert_true(order1 >= 1.8 && order2 >= 1.8);
  assert_true(e[2] < 1e-3); /* h = 0.04: C h^2 with C ~ 0.15 */
}

static void test_convergence_2d(void **state)
{
  (void)state;
  const double A[2][2] = {{1, -0.5}, {0.5, 1}}, m0[2] = {2, 0};
  const char *cells[] = {"domain.cells=24", "domain.cells=48", "domain.cells=96"};
  double e[3];
  for (int k = 0; k < 3; k++) {
    const char *ov[] = {cells[k], NULL};
    fp_case *c = fp_test_case(ou2d, ov);
    e[k] = l1_error(c, 0.5, A, m0, 0.5);
    fp_case_destroy(&c);
  }
  double order1 = log2(e[0] / e[1]), order2 = log2(e[1] / e[2]);
  print_message("2D L1 errors %.3e %.3e %.3e, orders %.3f %.3f\n", e[0], e[1], e[2], order1, order2);
  assert_true(order2 >= 1.8);
}

/* Every linear solver integrates the same semi-discrete system: the results
 * agree to the time-integration tolerance. */
static void test_linear_solvers_agree(void **state)
{
  (void)state;
  const char *ov[] = {"domain.cells=20", "domain.boundary=reflecting, periodic", NULL};
  fp_case *c = fp_test_case(ou2d, ov);
  size_t n = c->grid.ncells;
  const int kinds[] = {FP_LINSOL_DENSE, FP_LINSOL_BAND, FP_LINSOL_KLU, FP_LINSOL_GMRES};
  double *p[4];
  for (int k = 0; k < 4; k++) {
    p[k] = malloc(n * sizeof *p[k]);
    fp_test_integrate(c, 0.5, kinds[k], p[k]);
  }
  for (int k = 1; k < 4; k++) {
    double d = fp_density_l1_distance(&c->grid, p[k], p[0]);
    print_message("L1 distance %s vs dense: %.2e\n", fp_linear_solver_name(kinds[k]), d);
    assert_true(d < 1e-6);
  }
  for (int k = 0; k < 4; k++) free(p[k]);
  fp_case_destroy(&c);
}

/* SUNDIALS 6.4.1 crashes when a clone fails inside CVodeInit or SPGMR's
 * initialisation, so the solver makes those vectors beforehand: its count
 * must cover every clone, for each linear solver and Krylov dimension, with
 * and without the positivity constraints. */
static void test_vectors_reserved(void **state)
{
  (void)state;
  const char *ov[] = {"domain.cells=12", NULL};
  fp_case *c = fp_test_case(ou2d, ov);
  fp_operator *op = fp_test_operator(c);
  double *p0 = malloc(c->grid.ncells * sizeof *p0);
  fp_error err;
  assert_int_equal(fp_density_sample(&c->grid, c->initial, 0.0, "initial", false, p0, NULL, &err), FP_OK);
  const int kinds[] = {FP_LINSOL_DENSE, FP_LINSOL_BAND, FP_LINSOL_KLU, FP_LINSOL_GMRES, FP_LINSOL_GMRES};
  const int krylov[] = {20, 20, 20, 5, 37};
  for (int k = 0; k < 5; k++)
    for (int nonneg = 0; nonneg < 2; nonneg++) {
      fp_solver_options opt;
      fp_solver_options_from_case(c, op, &opt);
      opt.integrator = FP_INTEGRATOR_CVODE;
      opt.linear_solver = (fp_linear_solver_kind)kinds[k];
      opt.krylov_dim = krylov[k];
      opt.nonnegative = nonneg;
      fp_solver *s = NULL;
      assert_int_equal(fp_solver_create(op, 0.0, p0, &opt, &s, &err), FP_OK);
      assert_int_equal(fp_solver_advance(s, 0.05, &err), FP_OK);
      assert_int_equal(fp_solver_unreserved_clones(s), 0);
      fp_solver_destroy(&s);
    }
  free(p0);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

/* Where `auto` switches from the exponential integrator to CVODE on the
 * rotating OU case to t = 1 (docs/scheme.md): rho / 2 <= 10000 up to 592^2,
 * not from 608^2 on; and never for time-dependent fields. */
static void test_auto_integrator(void **state)
{
  (void)state;
  const char *sizes[] = {"domain.cells=592", "domain.cells=608"};
  const fp_integrator_kind want[] = {FP_INTEGRATOR_EXPONENTIAL, FP_INTEGRATOR_CVODE};
  for (int k = 0; k < 2; k++) {
    const char *ov[] = {sizes[k], "domain.lower=-6", "domain.upper=6", NULL};
    fp_case *c = fp_test_case(ou2d, ov);
    fp_operator *op = fp_test_operator(c);
    assert_int_equal(fp_solver_choose_integrator(op, FP_INTEGRATOR_AUTO, 1.0), want[k]);
    assert_int_equal(fp_solver_choose_integrator(op, FP_INTEGRATOR_AUTO, 0.0), FP_INTEGRATOR_CVODE);
    assert_int_equal(fp_solver_choose_integrator(op, FP_INTEGRATOR_CVODE, 1.0), FP_INTEGRATOR_CVODE);
    fp_operator_destroy(&op);
    fp_case_destroy(&c);
  }
  const char *ov[] = {"domain.cells=24", "dynamics.drift_x=-x + sin(t)", NULL};
  fp_case *c = fp_test_case(ou2d, ov);
  fp_operator *op = fp_test_operator(c);
  assert_int_equal(fp_solver_choose_integrator(op, FP_INTEGRATOR_AUTO, 1.0), FP_INTEGRATOR_CVODE);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

static fp_run_result run_case(const char *text, const char *const *ov)
{
  fp_case *c = fp_test_case(text, ov);
  fp_run_options opt = {.write_files = false};
  fp_run_result res;
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_run_case(c, &opt, &res, &err);
  if (rc != FP_OK) print_error("run failed: %s\n", err.message);
  assert_int_equal(rc, FP_OK);
  fp_case_destroy(&c);
  return res;
}

/* Along whole runs: mass to 1e-12 relative (reflecting, periodic), p >= 0
 * at every output for diagonal D, even from a discontinuous start under a
 * strong drift. */
static void test_conservation_and_positivity(void **state)
{
  (void)state;
  const char *const cases[][4] = {
      {"domain.boundary=reflecting", NULL},
      {"domain.boundary=periodic", "dynamics.drift_x=3 + sin(y)", "dynamics.drift_y=-2", NULL},
      {"domain.boundary=periodic, reflecting", "initial.density=step(1-x^2-y^2)", NULL},
  };
  for (size_t k = 0; k < 3; k++) {
    const char *ov[8] = {"time.outputs=11", "time.rtol=1e-6", "time.atol=1e-12", NULL};
    for (size_t j = 0; cases[k][j]; j++) ov[3 + j] = cases[k][j];
    fp_run_result res = run_case(ou2d, ov);
    print_message("case %zu: mass drift %.2e, min p %.2e\n", k, res.max_mass_drift, res.min_density);
    assert_true(res.max_mass_drift <= 1e-12);
    assert_true(res.min_density >= 0.0);
  }
}

/* Full tensor, sharp start on a coarse grid (where the former centred
 * cross terms drove p negative): the monotone edge scheme keeps p >= 0 and
 * the mass. */
static void test_full_tensor_positive(void **state)
{
  (void)state;
  const char *text = "[domain]\ndimension = 2\nlower = -1\nupper = 1\ncells = 15\n"
                     "[dynamics]\ndiffusion_xx = 1\ndiffusion_yy = 1\ndiffusion_xy = 0.9\n"
                     "[initial]\ndensity = exp(-(x^2+y^2)/0.005)\n"
                     "[time]\nend = 0.01\noutputs = 3\n";
  fp_run_result res = run_case(text, NULL);
  print_message("full tensor: min p %.3e, mass drift %.2e\n", res.min_density, res.max_mass_drift);
  assert_true(res.full_tensor);
  assert_true(res.min_density >= 0.0);
  assert_true(res.max_mass_drift <= 1e-12);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_convergence_1d),
      cmocka_unit_test(test_convergence_2d),
      cmocka_unit_test(test_linear_solvers_agree),
      cmocka_unit_test(test_vectors_reserved),
      cmocka_unit_test(test_auto_integrator),
      cmocka_unit_test(test_conservation_and_positivity),
      cmocka_unit_test(test_full_tensor_positive),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
