/* Unit tests: the one dense SPD helper (Cholesky, definiteness rule, solves).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>

#include "core/spd_impl.h"
#include "test_support.h"

static void test_factor_solve_inverse(void **state)
{
  (void)state;
  /* A = B B^T + I with a fixed B: SPD, det computed independently below */
  const double A[3][3] = {{4, 1, 0.5}, {1, 3, -0.2}, {0.5, -0.2, 2}};
  fp_spd f;
  assert_int_equal(fp_spd_factor(3, A, &f), 1);
  double det = A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) -
               A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
               A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]);
  assert_close(f.logdet, log(det), 1e-14, 0);
  double inv[3][3];
  fp_spd_inverse(&f, inv);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      double s = 0;
      for (int k = 0; k < 3; k++) s += A[i][k] * inv[k][j];
      assert_close(s, i == j, 0, 1e-14);
    }
  const double b[3] = {1, -2, 0.5};
  double x[3];
  fp_spd_solve(&f, b, x);
  for (int i = 0; i < 3; i++) assert_close(A[i][0] * x[0] + A[i][1] * x[1] + A[i][2] * x[2], b[i], 0, 1e-14);
  /* v^T A^-1 v against the explicit inverse */
  double q = 0;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) q += b[i] * inv[i][j] * b[j];
  assert_close(fp_spd_inverse_quadratic(&f, b), q, 1e-13, 0);
}

static void test_definiteness_rule(void **state)
{
  (void)state;
  fp_spd f;
  const double indefinite[3][3] = {{1, 2, 0}, {2, 1, 0}, {0, 0, 1}};
  assert_int_equal(fp_spd_factor(3, indefinite, &f), 0);
  assert_int_equal(f.bad_pivot, 2);
  assert_close(f.bad_value, -3, 1e-15, 0);
  /* singular up to round-off: the second pivot is ~1e-16 of the diagonal */
  const double singular[3][3] = {{1, 1, 0}, {1, 1 + 1e-16, 0}, {0, 0, 1}};
  assert_int_equal(fp_spd_factor(2, singular, &f), 0);
  /* definite by a comfortable margin at any scale */
  const double tiny[3][3] = {{1e-200, 0, 0}, {0, 2e-200, 0}, {0, 0, 0}};
  assert_int_equal(fp_spd_factor(2, tiny, &f), 1);
  const double nonfinite[3][3] = {{NAN, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  assert_int_equal(fp_spd_factor(1, nonfinite, &f), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_factor_solve_inverse),
      cmocka_unit_test(test_definiteness_rule),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
