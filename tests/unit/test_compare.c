/* Unit tests: the estimator comparison's results in memory.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* Whether `name` is a line of dir's manifest. */
static bool listed(const char *dir, const char *name)
{
  char path[512], line[512];
  snprintf(path, sizeof path, "%s/%s", dir, FP_OUTPUT_MANIFEST);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    found = strcmp(line, name) == 0;
  }
  fclose(f);
  return found;
}

static bool present(const char *dir, const char *name)
{
  char path[512];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

/* A run given a held directory (fp_run_options.held_dir) writes into it and
 * leaves it open and locked, so that what the caller writes after the run is
 * covered by the same lock and listed in the same manifest; fp_compare_case
 * holds its directory from before the PDE run to the last table. */
static void test_held_directory(void **state)
{
  (void)state;
  fp_case *c = fp_test_case("[domain]\ndimension = 1\nlower = -5\nupper = 5\ncells = 40\n"
                            "[dynamics]\ndrift = -x\ndiffusion = 1\n[initial]\ndensity = exp(-(x-1.5)^2)\n"
                            "[reference]\ndensity = exp(-x^2/2)\n[time]\nend = 1\noutputs = 3\n"
                            "[output]\nsnapshots = 0\n", NULL);
  char dir[] = "/tmp/fp_compare_held_XXXXXX";
  assert_non_null(mkdtemp(dir));
  fp_error err;
  fp_output_dir *d = NULL, *other = NULL;
  assert_int_equal(fp_output_dir_open(dir, &d, &err), FP_OK);
  /* output_dir is not used with a held directory */
  fp_run_options ro = {.write_files = true, .held_dir = d, .output_dir = "/nonexistent/fp_ignored"};
  assert_int_equal(fp_run_case(c, &ro, NULL, &err), FP_OK);
  assert_true(present(dir, "balance.csv") && present(dir, "summary.txt"));
  assert_int_equal(fp_output_dir_open(dir, &other, &err), FP_ERR_IO); /* still held */
  assert_non_null(strstr(err.message, "in use"));
  char *path = NULL;
  assert_int_equal(fp_output_dir_path(d, "after.txt", &path, &err), FP_OK);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
  free(path);

  const size_t sizes[] = {20};
  const char *const est[] = {"gauss"};
  fp_compare_options opt = {.sizes = sizes, .nsizes = 1, .replicas = 2, .seed = 3, .threads = 1,
                            .estimators = est, .nestimators = 1};
  assert_int_equal(fp_compare_case(c, &opt, &ro, dir, NULL, &err), FP_ERR_ARG); /* both */
  assert_int_equal(fp_compare_case(c, &opt, &ro, NULL, NULL, &err), FP_OK);
  assert_int_equal(fp_output_dir_open(dir, &other, &err), FP_ERR_IO);
  /* a failure after the run: the summary no longer says completed */
  assert_int_equal(fp_run_mark_failed(NULL, FP_ERR_IO, "x", &err), FP_ERR_ARG);
  assert_int_equal(fp_run_mark_failed(d, FP_ERR_IO, "writing the tables failed", &err), FP_OK);
  char summary[512], line[512];
  snprintf(summary, sizeof summary, "%s/summary.txt", dir);
  f = fopen(summary, "r");
  assert_non_null(f);
  int status_lines = 0;
  bool error_line = false;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "status:", 7) == 0) {
      status_lines++;
      assert_non_null(strstr(line, "(the command failed after the run)"));
    }
    error_line |= strcmp(line, "error: writing the tables failed\n") == 0;
  }
  fclose(f);
  assert_int_equal(status_lines, 1);
  assert_true(error_line);
  assert_int_equal(fp_output_dir_close(&d, &err), FP_OK);
  const char *const names[] = {"summary.txt", "balance.csv", "balance.json", "after.txt",
                               "compare.csv", "compare.json", "compare_rate.csv",
                               "compare_summary.csv", "compare_summary.json"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    assert_true(present(dir, names[i]));
    assert_true(listed(dir, names[i]));
  }

  /* the composite opens `dir` itself: the earlier files are removed, the new
   * tables are listed, and the directory is free again afterwards */
  fp_run_options plain = {.write_files = true};
  assert_int_equal(fp_compare_case(c, &opt, &plain, NULL, NULL, &err), FP_ERR_ARG); /* neither */
  assert_int_equal(fp_compare_case(c, &opt, &plain, dir, NULL, &err), FP_OK);
  assert_false(present(dir, "after.txt"));
  assert_true(present(dir, "compare_summary.csv") && listed(dir, "compare_summary.csv"));
  assert_true(present(dir, "balance.csv") && listed(dir, "balance.csv"));
  assert_int_equal(fp_output_dir_open(dir, &other, &err), FP_OK);
  assert_int_equal(fp_output_dir_close(&other, &err), FP_OK);

  assert_int_equal(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
  fp_case_destroy(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_result_statistics),
      cmocka_unit_test(test_held_directory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
