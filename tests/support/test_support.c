/* fpentropy tests: shared helpers.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _DEFAULT_SOURCE /* mkstemps */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/problem/density.h>
#include <fpentropy/fv/operator.h>
#include <fpentropy/time/solver.h>

void fp_test_assert_close(double actual, double expected, double rtol, double atol,
                          const char *label, const char *file, int line)
{
  double tol = atol + rtol * fabs(expected);
  if (!(fabs(actual - expected) <= tol)) {
    print_error("%s: got %.17g, expected %.17g (|diff| %.3g > tol %.3g)\n", label, actual,
                expected, fabs(actual - expected), tol);
    _fail(file, line);
  }
}

void fp_test_write_temp(const char *text, char *path, size_t size)
{
  snprintf(path, size, "/tmp/fp_test_XXXXXX.ini");
  int fd = mkstemps(path, 4);
  assert_true(fd >= 0);
  size_t len = strlen(text);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
}

struct fp_case *fp_test_case(const char *ini_text, const char *const *overrides)
{
  char path[64];
  fp_test_write_temp(ini_text, path, sizeof path);
  size_t n = 0;
  while (overrides && overrides[n]) n++;
  fp_case *c = NULL;
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_case_load(path, overrides, n, &c, &err);
  unlink(path);
  if (rc != FP_OK) {
    print_error("case did not load: %s\n", err.message);
    fail();
  }
  return c;
}

void fp_test_integrate(const struct fp_case *c, double t, int solver, double *p)
{
  fp_error err;
  fp_error_clear(&err);
  fp_operator *op = NULL;
  fp_solver *s = NULL;
  int rc = fp_operator_create(c, &op, &err);
  if (rc == FP_OK) rc = fp_density_sample(&c->grid, c->initial, 0.0, "initial", false, p, NULL, &err);
  fp_solver_options opt;
  fp_solver_options_from_case(c, op, &opt);
  if (solver != FP_LINSOL_AUTO) opt.linear_solver = (fp_linear_solver_kind)solver;
  if (rc == FP_OK) rc = fp_solver_create(op, 0.0, p, &opt, &s, &err);
  if (rc == FP_OK) rc = fp_solver_advance(s, t, &err);
  if (rc == FP_OK) memcpy(p, fp_solver_state(s), c->grid.ncells * sizeof *p);
  fp_solver_destroy(&s);
  fp_operator_destroy(&op);
  if (rc != FP_OK) {
    print_error("integration failed: %s\n", err.message);
    fail();
  }
}

struct fp_operator *fp_test_operator(const struct fp_case *c)
{
  fp_operator *op = NULL;
  fp_error err;
  fp_error_clear(&err);
  if (fp_operator_create(c, &op, &err) != FP_OK) {
    print_error("operator: %s\n", err.message);
    fail();
  }
  return op;
}
