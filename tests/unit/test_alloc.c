/* fpentropy tests: large arrays on huge pages (core/alloc.c): small and
 * large requests, zeroing, 2 MiB alignment of large ones, the whole length
 * writable (under the sanitizers: no overflow), and overflow refused.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_impl.h"

static void test_sizes(void **state)
{
  (void)state;
  const size_t sizes[] = {0, 1, 4096, ((size_t)1 << 20) - 8, (size_t)1 << 20,
                          ((size_t)3 << 20) + 8};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t n = sizes[k] / sizeof(double);
    double *x = fp_calloc_large(n ? n : 1, sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) assert_true(x[i] == 0.0);
    /* large ones start on a huge-page boundary */
    if (sizes[k] >= ((size_t)1 << 20)) assert_int_equal((uintptr_t)x % ((uintptr_t)2 << 20), 0);
    for (size_t i = 0; i < n; i++) x[i] = (double)i;
    free(x);
    unsigned char *b = fp_alloc_large(sizes[k]);
    assert_non_null(b);
    memset(b, 0xab, sizes[k]);
    free(b);
  }
  /* count * size that does not fit in size_t */
  assert_null(fp_calloc_large(SIZE_MAX / 4, 8));
  assert_null(fp_alloc_large(SIZE_MAX - 16));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sizes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
