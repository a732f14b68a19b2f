/* fpentropy tests: the iterative stationary solve (GMRES + FFT diffusion
 * preconditioner) against the direct one (KLU), on the rotating OU case
 * (nonequilibrium) and a periodic tilted potential.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <fpentropy/fv/operator.h>
#include <fpentropy/fv/stationary.h>
#include <fpentropy/problem/case.h>
#include <fpentropy/problem/density.h>

#include "fv/precond_fft.h"

static const char *const ou2d =
    "[domain]\ndimension = 2\nlower = -6\nupper = 6\ncells = 24\n"
    "[dynamics]\ndrift_x = -x + 0.5*y\ndrift_y = -0.5*x - y\ndiffusion = 1\n"
    "[initial]\ndensity = exp(-((x-2)^2 + y^2)/(2*0.25))\n"
    "[time]\nend = 1\n";

/* periodic in x with a tilt (a current around the ring), reflecting in y,
 * non-constant diffusion */
static const char *const ring2d =
    "[domain]\ndimension = 2\nlower = 0, -3\nupper = 6.283185307179586, 3\ncells = 24\n"
    "boundary = periodic, reflecting\n"
    "[dynamics]\ndrift_x = 1 - sin(x)\ndrift_y = -y\ndiffusion = 1 + 0.3*cos(x)\n"
    "[initial]\ndensity = 1\n"
    "[time]\nend = 1\n";

static double seconds(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void compare(const char *text, const char *cells)
{
  const char *ov[] = {cells, NULL};
  fp_case *c = fp_test_case(text, ov);
  fp_operator *op = fp_test_operator(c);
  size_t n = c->grid.ncells;
  double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  fp_error err;
  double ra = 1.0, rb = 1.0;
  int its = -1;
  double t0 = seconds();
  assert_int_equal(fp_stationary_solve(op, NULL, a, &ra, &err), FP_OK);
  double t1 = seconds();
  int rc = fp_stationary_solve_iterative(op, NULL, b, &rb, &its, &err);
  if (rc != FP_OK) print_error("%s\n", err.message);
  assert_int_equal(rc, FP_OK);
  double t2 = seconds();
  double d = fp_density_l1_distance(&c->grid, a, b);
  print_message("%s: KLU %.3f s (residual %.1e), GMRES+FFT %.3f s, %d iterations (residual %.1e), "
                "L1 distance %.1e\n",
                cells, t1 - t0, ra, t2 - t1, its, rb, d);
  /* both are the null vector to round-off: they agree far below any
   * discretisation error, and both residuals are at round-off level */
  assert_true(d < 1e-10);
  assert_true(rb < 1e-12 && ra < 1e-12);
  assert_true(its > 0 && its < 200);
  fp_stationary_method used;
  assert_int_equal(fp_stationary_solve_auto(op, NULL, b, NULL, &used, &err), FP_OK);
  assert_int_equal(used, n >= FP_STATIONARY_ITERATIVE_MIN_CELLS ? FP_STATIONARY_GMRES_FFT
                                                                 : FP_STATIONARY_KLU);
  free(a);
  free(b);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

static void test_ou_rotating(void **state)
{
  (void)state;
  compare(ou2d, "domain.cells=32");
  compare(ou2d, "domain.cells=64");
  compare(ou2d, "domain.cells=128");
}

static void test_ring(void **state)
{
  (void)state;
  compare(ring2d, "domain.cells=48");
  compare(ring2d, "domain.cells=96");
}

/* 2D with a reflecting y axis: the preconditioner transforms along x only and
 * solves tridiagonal systems along y; it must still invert
 * I - gamma sum_k D_k Delta_k exactly, for every x boundary condition. */
static void test_fft_2d_exact(void **state)
{
  (void)state;
  const char *const bcs[] = {"domain.boundary=reflecting", "domain.boundary=periodic, reflecting",
                             "domain.boundary=absorbing, reflecting"};
  for (size_t b = 0; b < 3; b++) {
    const char *text = "[domain]\ndimension = 2\nlower = 0\nupper = 1, 2\ncells = 12, 7\n"
                       "[dynamics]\ndiffusion_xx = 1.3\ndiffusion_yy = 0.4\n"
                       "[initial]\ndensity = 1\n[time]\nend = 1\n";
    const char *ov[] = {bcs[b], NULL};
    fp_case *c = fp_test_case(text, ov);
    fp_operator *op = fp_test_operator(c);
    fp_precond_fft *pc = NULL;
    fp_error err;
    assert_int_equal(fp_precond_fft_create(&c->grid, false, &pc, &err), FP_OK);
    size_t n = c->grid.ncells;
    double *r = malloc(n * sizeof *r), *z = malloc(n * sizeof *z), *Lz = malloc(n * sizeof *Lz);
    for (size_t i = 0; i < n; i++) r[i] = sin(1.7 * (double)i) + 0.3 * cos(0.2 * (double)(i * i));
    double D[FP_MAX_DIM];
    fp_operator_mean_diffusion(op, D);
    const double gamma = 0.083;
    fp_precond_fft_solve(pc, gamma, D, r, z);
    fp_operator_apply(op, z, Lz);
    for (size_t i = 0; i < n; i++) assert_close(z[i] - gamma * Lz[i], r[i], 1e-12, 1e-12);
    free(r);
    free(z);
    free(Lz);
    fp_precond_fft_destroy(&pc);
    fp_operator_destroy(&op);
    fp_case_destroy(&c);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fft_2d_exact),
      cmocka_unit_test(test_ou_rotating),
      cmocka_unit_test(test_ring),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
