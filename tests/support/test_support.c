/* fpentropy tests: shared helpers.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _DEFAULT_SOURCE /* mkstemps */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
