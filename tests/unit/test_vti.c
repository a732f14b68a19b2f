/* Unit tests of the .vti and .pvd writers: layout, compression header, errors.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <fpentropy/io/vti.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *size)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *size = (size_t)n;
  return buf;
}

static void test_vti_layout(void **state)
{
  (void)state;
  fp_grid g;
  fp_error err;
  g = (fp_grid){.dim = 2, .n = {3, 2, 1}, .lower = {0, 0, 0}, .upper = {3, 2, 1}};
  assert_int_equal(fp_grid_init(&g, &err), FP_OK);
  double p[6] = {1, 2, 3, 4, 5, 6}, jx[6] = {-1, -2, -3, -4, -5, -6};
  fp_output_field f[1] = {{"p", p}};
  fp_output_vector v = {"J", {jx, NULL, NULL}};
  char path[] = "/tmp/fp_test_vti_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(fp_output_write_vti(path, &g, 0.5, f, 1, &v, &err), FP_OK);
  size_t size;
  char *text = slurp(path, &size);
  assert_non_null(strstr(text, "WholeExtent=\"0 2 0 1 0 0\" Origin=\"0.5 0.5 0\" Spacing=\"1 1 1\""));
  assert_non_null(strstr(text, "Name=\"TIME\" NumberOfTuples=\"1\" format=\"ascii\">0.5<"));
  assert_non_null(strstr(text, "Name=\"J\" NumberOfComponents=\"3\" format=\"appended\""));
  const char *data = strstr(text, "<AppendedData encoding=\"raw\">\n   _");
  assert_non_null(data);
  data += strlen("<AppendedData encoding=\"raw\">\n   _");
  uint64_t head[4];
  memcpy(head, data, sizeof head);
  if (fp_output_vti_compressed()) {
    /* one block of 6 doubles: [nblocks=1][block size][last (partial) block = 48][csize] */
    assert_int_equal(head[0], 1);
    assert_int_equal(head[2], 48);
    assert_true(head[3] > 0 && head[3] < 200);
  } else {
    double first;
    assert_int_equal(head[0], 48);
    memcpy(&first, data + 8, sizeof first);
    assert_true(first == 1.0);
  }
  free(text);

  /* errors: a non-finite value names the field; bad and repeated names; nothing to write */
  p[4] = NAN;
  assert_int_equal(fp_output_write_vti(path, &g, 0.5, f, 1, NULL, &err), FP_ERR_NUMERIC);
  assert_non_null(strstr(err.message, "'p' is NaN in cell 4"));
  p[4] = 5;
  fp_output_field two[2] = {{"p", p}, {"p", p}};
  assert_int_equal(fp_output_write_vti(path, &g, 0.5, two, 2, NULL, &err), FP_ERR_ARG);
  fp_output_field bad[1] = {{"a<b", p}};
  assert_int_equal(fp_output_write_vti(path, &g, 0.5, bad, 1, NULL, &err), FP_ERR_ARG);
  assert_int_equal(fp_output_write_vti(path, &g, 0.5, NULL, 0, NULL, &err), FP_ERR_ARG);

  /* the collection escapes file names */
  const char *files[2] = {"a.vti", "b&\"c.vti"};
  assert_int_equal(fp_output_write_pvd(path, (double[]){0, 0.25}, files, 2, &err), FP_OK);
  text = slurp(path, &size);
  assert_non_null(strstr(text, "<DataSet timestep=\"0.25\" group=\"\" part=\"0\" file=\"b&amp;&quot;c.vti\"/>"));
  free(text);
  assert_int_equal(fp_output_write_pvd(path, NULL, NULL, 1, &err), FP_ERR_ARG);
  remove(path);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_vti_layout)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
