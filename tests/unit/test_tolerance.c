/* fpentropy tests: time.rtol = auto keeps the time error a small, stated
 * fraction (FP_TIME_ERROR_FRACTION) of the space error on the
 * Ornstein-Uhlenbeck cases at two grids each, and explicit values win.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Space error: L1 distance of a run with tight tolerances to the closed form
 * (the l1_error column of balance.csv).  Time error: L1 distance of the
 * rtol = auto run to the tight run.  Both are maxima over the output times
 * after t = 0. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/balance/gaussian.h>
#include <fpentropy/problem/case.h>
#include <fpentropy/problem/density.h>
#include <fpentropy/time/run.h>
#include <fpentropy/time/solver.h>

#define OUTPUTS 6

static const char *const ou1d =
    "[domain]\ndimension = 1\nlower = -8\nupper = 8\ncells = 100\n"
    "[dynamics]\ndrift = -x\ndiffusion = 1\n"
    "[initial]\ndensity = exp(-(x-2)^2/(2*0.25))\n"
    "[reference]\ndensity = exp(-x^2/2)\n"
    "[time]\nend = 1\noutputs = 6\n"
    "[output]\nsplit = off\n";

/* cases/ou2d_rotating.ini without its explicit tolerances */
static const char *const ou2d =
    "[domain]\ndimension = 2\nlower = -6\nupper = 6\ncells = 24\n"
    "[dynamics]\ndrift_x = -x + 0.5*y\ndrift_y = -0.5*x - y\ndiffusion = 1\n"
    "[initial]\ndensity = exp(-((x-2)^2 + y^2)/(2*0.25))\n"
    "[reference]\ndensity = exp(-(x^2+y^2)/2)\n"
    "[time]\nend = 1\noutputs = 6\n"
    "[output]\nsplit = off\n";

typedef struct capture {
  size_t n, count;
  double t[OUTPUTS];
  double *p; /* OUTPUTS x n */
} capture;

static int keep(double t, const double *p, size_t n, void *ctx)
{
  capture *c = ctx;
  assert_true(c->count < OUTPUTS && n == c->n);
  c->t[c->count] = t;
  memcpy(c->p + c->count * n, p, n * sizeof *p);
  c->count++;
  return 0;
}

static fp_run_result last;

static double run(const char *text, const char *const *ov, capture *cap)
{
  fp_case *c = fp_test_case(text, ov);
  cap->n = c->grid.ncells;
  cap->count = 0;
  cap->p = malloc(OUTPUTS * cap->n * sizeof *cap->p);
  assert_non_null(cap->p);
  fp_run_options opt = {.write_files = false, .on_density = keep, .density_ctx = cap};
  fp_run_result res;
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_run_case(c, &opt, &res, &err);
  if (rc != FP_OK) print_error("run failed: %s\n", err.message);
  assert_int_equal(rc, FP_OK);
  assert_int_equal(cap->count, OUTPUTS);
  fp_case_destroy(&c);
  last = res;
  return res.rtol;
}

static int ou_D(double t, double out[3][3], void *ctx)
{
  (void)t, (void)ctx;
  memset(out, 0, 9 * sizeof(double));
  out[0][0] = out[1][1] = out[2][2] = 1.0;
  return 0;
}

static void check(const char *text, int dim, const double A[2][2], const char *cells,
                  const char *integrator)
{
  const char *ov_auto[] = {cells, integrator, NULL};
  const char *ov_tight[] = {cells, "time.rtol=1e-10", "time.atol=1e-16", "time.integrator=cvode",
                            NULL};
  capture a, b;
  double rtol = run(text, ov_auto, &a);
  fp_run_result ra = last;
  run(text, ov_tight, &b);
  fp_case *c = fp_test_case(text, ov_auto);
  fp_gaussian_model model = {.dim = dim, .D = ou_D};
  model.m0[0] = 2.0;
  for (int i = 0; i < dim; i++) {
    model.S0[i][i] = 0.25;
    for (int j = 0; j < dim; j++) model.A[i][j] = A[i][j];
  }
  fp_gaussian_ou *ou = NULL;
  fp_error err;
  assert_int_equal(fp_gaussian_ou_create(&model, &ou, &err), FP_OK);
  double *exact = malloc(a.n * sizeof *exact);
  double space = 0.0, time = 0.0;
  for (size_t k = 1; k < OUTPUTS; k++) {
    fp_gaussian g;
    assert_true(a.t[k] == b.t[k]);
    assert_int_equal(fp_gaussian_ou_at(ou, a.t[k], &g, NULL, &err), FP_OK);
    assert_int_equal(fp_gaussian_fill_grid(&g, &c->grid, exact, &err), FP_OK);
    space = fmax(space, fp_density_l1_distance(&c->grid, b.p + k * b.n, exact));
    time = fmax(time, fp_density_l1_distance(&c->grid, a.p + k * a.n, b.p + k * b.n));
  }
  print_message("%dD %s %s: rtol auto = %.2e, space error %.3e, time error %.3e (%.2f %%), "
                "mass drift %.1e, min p %.1e, %ld negatives zeroed\n",
                dim, cells, integrator, rtol, space, time, 100.0 * time / space, ra.max_mass_drift,
                ra.min_density, ra.stats.roundoff_negatives_zeroed);
  /* mass and positivity to CVODE's standard: round-off drift, p >= 0 */
  assert_true(ra.max_mass_drift <= 1e-12);
  assert_true(ra.min_density >= 0.0);
  assert_true(rtol >= FP_RTOL_AUTO_MIN && rtol <= FP_RTOL_AUTO_MAX);
  assert_true(time <= FP_TIME_ERROR_FRACTION * space);
  /* not so tight that it buys nothing: with CVODE the time error is visible
   * (the exponential integrator is often far more accurate than asked) */
  if (strstr(integrator, "cvode")) assert_true(time >= 1e-4 * space);
  fp_gaussian_ou_destroy(&ou);
  free(exact);
  free(a.p);
  free(b.p);
  fp_case_destroy(&c);
}

static void test_auto_1d(void **state)
{
  (void)state;
  const double A[2][2] = {{1, 0}, {0, 0}};
  check(ou1d, 1, A, "domain.cells=200", "time.integrator=cvode");
  check(ou1d, 1, A, "domain.cells=800", "time.integrator=cvode");
}

static void test_auto_2d(void **state)
{
  (void)state;
  const double A[2][2] = {{1, -0.5}, {0.5, 1}};
  check(ou2d, 2, A, "domain.cells=64", "time.integrator=cvode");
  check(ou2d, 2, A, "domain.cells=128", "time.integrator=cvode");
}

/* The exponential integrator under the same tolerance: the same fraction,
 * mass and positivity. */
static void test_exponential(void **state)
{
  (void)state;
  const double A1[2][2] = {{1, 0}, {0, 0}}, A2[2][2] = {{1, -0.5}, {0.5, 1}};
  check(ou1d, 1, A1, "domain.cells=200", "time.integrator=exponential");
  check(ou1d, 1, A1, "domain.cells=800", "time.integrator=exponential");
  check(ou2d, 2, A2, "domain.cells=64", "time.integrator=exponential");
  check(ou2d, 2, A2, "domain.cells=128", "time.integrator=exponential");
  /* time-dependent fields: refused with a message */
  const char *ov[] = {"dynamics.drift=-x + sin(t)", "time.integrator=exponential", NULL};
  fp_case *c = fp_test_case(ou1d, ov);
  fp_run_options opt = {.write_files = false};
  fp_error err;
  fp_error_clear(&err);
  assert_int_equal(fp_run_case(c, &opt, NULL, &err), FP_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "time-independent"));
  fp_case_destroy(&c);
}

/* The level scales as h^2 and explicit values win. */
static void test_level_and_explicit(void **state)
{
  (void)state;
  const char *ov64[] = {"domain.cells=64", NULL}, *ov128[] = {"domain.cells=128", NULL};
  fp_case *c64 = fp_test_case(ou2d, ov64), *c128 = fp_test_case(ou2d, ov128);
  assert_true(c64->rtol == FP_RTOL_AUTO);
  double *p64 = malloc(c64->grid.ncells * sizeof *p64), *p128 = malloc(c128->grid.ncells * sizeof *p128);
  for (int k = 0; k < 2; k++) {
    fp_case *c = k ? c128 : c64;
    double *p = k ? p128 : p64;
    for (size_t i = 0; i < c->grid.ncells; i++) {
      double x[FP_MAX_DIM];
      fp_grid_cell_center(&c->grid, i, x);
      p[i] = exp(-((x[0] - 2) * (x[0] - 2) + x[1] * x[1]) / 0.5);
    }
  }
  double l64 = fp_solver_space_error_level(&c64->grid, p64);
  double l128 = fp_solver_space_error_level(&c128->grid, p128);
  /* closed form for N(m, s^2 I) in 2D: 2 (h^2/24) E|Z^2 - 1| / s^2 with
   * E|Z^2 - 1| = 4 phi(1) = 0.96788 */
  double h = 12.0 / 64;
  assert_close(l64, 2 * h * h / 24 * 0.9678828980765734 / 0.25, 0.05, 0.0);
  assert_close(l64 / l128, 4.0, 0.02, 0.0);
  const char *ov_set[] = {"domain.cells=64", "time.rtol=3e-7", NULL};
  capture cap;
  assert_true(run(ou2d, ov_set, &cap) == 3e-7);
  free(cap.p);
  free(p64);
  free(p128);
  fp_case_destroy(&c64);
  fp_case_destroy(&c128);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_level_and_explicit),
      cmocka_unit_test(test_auto_1d),
      cmocka_unit_test(test_auto_2d),
      cmocka_unit_test(test_exponential),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
