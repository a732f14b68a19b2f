/* Unit tests: the estimator comparison's results in memory.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/fpentropy.h>

#include "test_support.h"

/* The statistics the result reports equal those recomputed here from its raw
 * replica estimates, and the writer emits one row per (estimator, N, t). */
static void test_result_statistics(void **state)
{
  (void)state;
  fp_case *c = fp_test_case("[domain]\ndimension = 1\nlower = -5\nupper = 5\ncells = 200\n"
                            "[dynamics]\ndrift = -x\ndiffusion = 1\n[initial]\ndensity = exp(-(x-1.5)^2)\n"
                            "[reference]\ndensity = exp(-x^2/2)\n[time]\nend = 1\noutputs = 4\n",
                            NULL);
  const size_t sizes[] = {200, 800};
  const char *const est[] = {"gauss", "knn:k=3"};
  fp_compare_options opt = {.sizes = sizes, .nsizes = 2, .replicas = 5, .seed = 7, .threads = 1,
                            .estimators = est, .nestimators = 2};
  fp_compare_result *r = NULL;
  fp_error err;
  assert_int_equal(fp_compare_run(c, &opt, &(fp_run_options){0}, &r, &err), FP_OK);
  size_t E, S, T, R;
  fp_compare_result_shape(r, &E, &S, &T, &R);
  assert_int_equal(E, 2);
  assert_int_equal(S, 2);
  assert_int_equal(T, 4);
  assert_int_equal(R, 5);
  assert_string_equal(fp_compare_result_estimator(r, 1), "knn:k=3");
  for (size_t e = 0; e < E; e++)
    for (size_t n = 0; n < S; n++)
      for (size_t k = 0; k < T; k++) {
        double exact = fp_compare_result_exact(r, k), sum = 0, err2 = 0;
        for (size_t q = 0; q < R; q++) {
          double x = fp_compare_result_estimate(r, e, n, k, q);
          assert_true(isfinite(x));
          sum += x;
          err2 += (x - exact) * (x - exact);
        }
        fp_compare_stats st;
        assert_int_equal(fp_compare_result_stats(r, e, n, k, false, &st, &err), FP_OK);
        assert_close(st.mean, sum / (double)R, 1e-14, 1e-16);
        assert_close(st.bias, st.mean - exact, 1e-14, 1e-16);
        assert_close(st.rmse, sqrt(err2 / (double)R), 1e-14, 1e-16);
        assert_int_equal(st.count, R);
      }
  /* the exact series starts far from q and decays */
  assert_true(fp_compare_result_exact(r, 0) > fp_compare_result_exact(r, 3));
  assert_true(isnan(fp_compare_result_estimate(r, 2, 0, 0, 0)));
  double rmse, rate_rmse, slope;
  fp_compare_result_summary(r, 0, 0, &rmse, &rate_rmse, &slope);
  assert_true(rmse > 0 && rate_rmse > 0 && isfinite(slope));
  char dir[] = "/tmp/fp_compare_XXXXXX";
  assert_non_null(mkdtemp(dir));
  assert_int_equal(fp_compare_write(r, dir, &err), FP_OK);
  char path[256];
  snprintf(path, sizeof path, "%s/compare.csv", dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[1024];
  size_t rows = 0;
  while (fgets(line, sizeof line, f)) rows += line[0] == '"';
  fclose(f);
  assert_int_equal(rows, E * S * T);
  fp_compare_result_destroy(&r);
  assert_null(r);
  fp_case_destroy(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_result_statistics),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
