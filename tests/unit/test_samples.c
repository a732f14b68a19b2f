/* Unit tests: the sample-file writer (samples.bin / samples.csv) read back independently.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fpentropy/fpentropy.h>

#include "test_support.h"

static void test_binary_round_trip(void **state)
{
  (void)state;
  char dir[] = "/tmp/fp_samples_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/samples.bin", dir);
  const double x0[] = {1, 2, 3, 4, 5, 6}, x1[] = {-1, -2};
  fp_particle_snapshot s0 = {0, 0, 0.0, 2, 3, x0}, s1 = {0, 1, 0.5, 2, 1, x1};
  fp_samples_writer *w = NULL;
  fp_error err;
  assert_int_equal(fp_samples_writer_open(path, FP_SAMPLES_BIN, 2, 1, 2, 3, &w, &err), FP_OK);
  assert_int_equal(fp_samples_writer_append(w, &s0, &err), FP_OK);
  assert_int_equal(access(path, F_OK), -1); /* nothing under the name before commit */
  assert_int_equal(fp_samples_writer_append(w, &s1, &err), FP_OK);
  fp_particle_snapshot bad = {0, 2, 1.0, 3, 1, x0};
  assert_int_equal(fp_samples_writer_append(w, &bad, &err), FP_ERR_ARG);
  assert_int_equal(fp_samples_writer_commit(&w, &err), FP_OK);
  assert_null(w);
  /* read back: header line, then records */
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  int dim = 0;
  size_t R = 0, K = 0, N = 0;
  assert_int_equal(fscanf(f, "fpentropy-samples 1 dim=%d replicas=%zu outputs=%zu particles=%zu\n", &dim,
                          &R, &K, &N), 4);
  assert_int_equal(dim, 2);
  assert_int_equal(K, 2);
  assert_int_equal(N, 3);
  const fp_particle_snapshot *want[2] = {&s0, &s1};
  for (int r = 0; r < 2; r++) {
    int64_t head[3];
    double t, x[6];
    assert_int_equal(fread(head, 8, 2, f), 2);
    assert_int_equal(fread(&t, 8, 1, f), 1);
    assert_int_equal(fread(&head[2], 8, 1, f), 1);
    assert_int_equal(head[1], (int64_t)want[r]->output);
    assert_int_equal(head[2], (int64_t)want[r]->alive);
    assert_close(t, want[r]->t, 0, 0);
    assert_int_equal(fread(x, 8, (size_t)head[2] * 2, f), (size_t)head[2] * 2);
    assert_memory_equal(x, want[r]->x, (size_t)head[2] * 2 * sizeof(double));
  }
  char extra;
  assert_int_equal(fread(&extra, 1, 1, f), 0);
  fclose(f);
  remove(path);
  /* CSV: header and one row per particle; abort leaves nothing */
  snprintf(path, sizeof path, "%s/samples.csv", dir);
  assert_int_equal(fp_samples_writer_open(path, FP_SAMPLES_CSV, 2, 1, 2, 3, &w, &err), FP_OK);
  assert_int_equal(fp_samples_writer_append(w, &s0, &err), FP_OK);
  assert_int_equal(fp_samples_writer_commit(&w, &err), FP_OK);
  f = fopen(path, "r");
  char line[256];
  assert_non_null(fgets(line, sizeof line, f));
  assert_string_equal(line, "replica,output,t,x,y\n");
  int rows = 0;
  while (fgets(line, sizeof line, f)) rows++;
  fclose(f);
  assert_int_equal(rows, 3);
  remove(path);
  assert_int_equal(fp_samples_writer_open(path, FP_SAMPLES_CSV, 1, 1, 1, 1, &w, &err), FP_OK);
  fp_samples_writer_abort(&w);
  assert_null(w);
  assert_int_equal(access(path, F_OK), -1);
  rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_binary_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
