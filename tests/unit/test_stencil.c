/* fpentropy tests: the structured-grid stencil (fast path of
 * fp_operator_apply for diagonal D) gives bit-for-bit the flux-form result
 * of the general path, for every boundary condition in 1D, 2D and 3D and
 * after reassembly at a new time; mass is conserved to round-off.  The
 * Chebyshev recurrence on the scaled stencil (no division, vector clones)
 * equals a L p + 2 p - prev computed from the general path to round-off,
 * returns the largest |v| and lets a NaN through.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/fv/operator.h>
#include <fpentropy/problem/case.h>

#include "fv/stencil_impl.h"

static const char *const base2d =
    "[domain]\ndimension = 2\nlower = -3, -2\nupper = 3, 2.5\ncells = 13, 9\n"
    "[dynamics]\ndrift_x = -x + 0.7*y + 0.3*sin(t)\ndrift_y = -0.7*x - 2*y\n"
    "diffusion_xx = 1 + 0.2*x^2\ndiffusion_yy = 0.5 + 0.1*cos(y + t)\n"
    "[initial]\ndensity = exp(-(x^2+y^2))\n[time]\nend = 1\n";

static const char *const base1d =
    "[domain]\ndimension = 1\nlower = -3\nupper = 4\ncells = 17\n"
    "[dynamics]\ndrift = 2 - x^3 / 5\ndiffusion = 0.3 + 0.1*x^2\n"
    "[initial]\ndensity = exp(-x^2)\n[time]\nend = 1\n";

static const char *const base3d =
    "[domain]\ndimension = 3\nlower = -2, -2, -2\nupper = 2, 2, 2\ncells = 7, 6, 5\n"
    "[dynamics]\ndrift_x = -x + y\ndrift_y = -x - y + z\ndrift_z = -z\n"
    "diffusion_xx = 1\ndiffusion_yy = 0.7\ndiffusion_zz = 1.3 + 0.2*x\n"
    "[initial]\ndensity = exp(-(x^2+y^2+z^2))\n[time]\nend = 1\n";

/* One recurrence step on the scaled stencil against the general path:
 * v = a L p + 2 p - prev, acc += c v, max |v|. */
static void recurrence(const char *text, const char *boundary)
{
  const char *ov[] = {boundary, NULL};
  fp_case *c = fp_test_case(text, ov);
  fp_operator *op = fp_test_operator(c);
  const size_t n = c->grid.ncells;
  double *p = malloc(n * sizeof *p), *prev = malloc(n * sizeof *prev), *acc = malloc(n * sizeof *acc);
  double *Lp = malloc(n * sizeof *Lp), *scratch = malloc(c->grid.n[0] * sizeof *scratch);
  unsigned long long state = 777;
  for (size_t i = 0; i < n; i++) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    p[i] = (double)(state >> 11) / 9007199254740992.0;
    prev[i] = 0.5 - p[i] * p[i];
    acc[i] = 0.25 * p[i];
  }
  const double a = 0.0371, cf = -0.43;
  fp_error err;
  fp_stencil *scaled = NULL;
  assert_int_equal(fp_stencil_create_scaled(fp_operator_stencil(op), a, &scaled, &err), FP_OK);
  fp_operator_apply_general(op, p, Lp);
  double *v = malloc(n * sizeof *v), *acc_expect = malloc(n * sizeof *acc_expect);
  double vmax = 0.0, size = 0.0;
  for (size_t i = 0; i < n; i++) {
    v[i] = a * Lp[i] + 2.0 * p[i] - prev[i];
    acc_expect[i] = acc[i] + cf * v[i];
    vmax = fmax(vmax, fabs(v[i]));
    size = fmax(size, fabs(a * Lp[i]) + 2.0 * fabs(p[i]) + fabs(prev[i]));
  }
  double got = fp_stencil_recurrence(scaled, p, 1, &cf, &acc, prev, scratch);
  for (size_t i = 0; i < n; i++) {
    if (fabs(prev[i] - v[i]) > 8 * DBL_EPSILON * size || fabs(acc[i] - acc_expect[i]) > 8 * DBL_EPSILON * size) {
      print_error("%s cell %zu: recurrence %.17g, expected %.17g\n", boundary, i, prev[i], v[i]);
      fail();
    }
  }
  assert_true(fabs(got - vmax) <= 8 * DBL_EPSILON * size);
  /* a NaN anywhere comes out as the maximum, so that the series' error
   * test fails */
  p[n / 2] = NAN;
  assert_true(isnan(fp_stencil_recurrence(scaled, p, 1, &cf, &acc, prev, scratch)));
  fp_stencil_destroy(&scaled);
  free(v);
  free(acc_expect);
  free(p);
  free(prev);
  free(acc);
  free(Lp);
  free(scratch);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

static void compare(const char *text, const char *boundary)
{
  const char *ov[] = {boundary, NULL};
  fp_case *c = fp_test_case(text, ov);
  fp_operator *op = fp_test_operator(c);
  assert_true(fp_operator_two_point(op));
  size_t n = c->grid.ncells;
  double *p = malloc(n * sizeof *p), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  unsigned long long state = 12345;
  for (size_t i = 0; i < n; i++) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    p[i] = (double)(state >> 11) / 9007199254740992.0;
  }
  fp_error err;
  const double times[] = {0.0, 0.37};
  for (int k = 0; k < 2; k++) {
    assert_int_equal(fp_operator_assemble(op, times[k], &err), FP_OK);
    fp_operator_apply(op, p, a);
    fp_operator_apply_general(op, p, b);
    double mass_rate = 0.0, size = 0.0;
    for (size_t i = 0; i < n; i++) {
      if (a[i] != b[i]) {
        print_error("%s t=%g cell %zu: stencil %.17g, general %.17g\n", boundary, times[k], i,
                    a[i], b[i]);
        fail();
      }
      mass_rate += a[i];
      size += fabs(a[i]);
    }
    bool conserving = strstr(boundary, "absorbing") == NULL;
    if (conserving) assert_true(fabs(mass_rate) <= 1e-13 * size);
  }
  free(p);
  free(a);
  free(b);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
  recurrence(text, boundary);
}

static void test_1d(void **state)
{
  (void)state;
  compare(base1d, "domain.boundary=reflecting");
  compare(base1d, "domain.boundary=periodic");
  compare(base1d, "domain.boundary=absorbing");
}

static void test_2d(void **state)
{
  (void)state;
  compare(base2d, "domain.boundary=reflecting");
  compare(base2d, "domain.boundary=periodic");
  compare(base2d, "domain.boundary=absorbing");
  compare(base2d, "domain.boundary=periodic, absorbing");
  compare(base2d, "domain.boundary=absorbing, reflecting");
}

static void test_3d(void **state)
{
  (void)state;
  compare(base3d, "domain.boundary=reflecting");
  compare(base3d, "domain.boundary=periodic, reflecting, absorbing");
  compare(base3d, "domain.boundary=absorbing, periodic, periodic");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_1d),
      cmocka_unit_test(test_2d),
      cmocka_unit_test(test_3d),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
