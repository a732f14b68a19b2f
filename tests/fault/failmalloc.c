/* fpentropy fault injection: fail the n-th allocation of our own code (linked with -Wl,--wrap=malloc,...).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * In the style of SQLite's malloc tests: FP_FAIL_ALLOC=n makes the n-th call
 * of malloc, calloc, realloc or aligned_alloc made by fpentropy's objects return NULL
 * (ENOMEM); FP_COUNT_ALLOC=1 prints "fpentropy-allocations: N" at exit so a
 * driver knows how many values of n to try.  Only the objects linked with
 * --wrap are affected (our library and CLI, not libc, GSL or SUNDIALS).
 * The counter is atomic: the particle threads allocate too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t alignment, size_t size);
void *__wrap_aligned_alloc(size_t alignment, size_t size);

static unsigned long counter;
static unsigned long fail_at;
static int state; /* 0 unread, 1 read */

static void report(void) { fprintf(stderr, "fpentropy-allocations: %lu\n", counter); }

static int should_fail(void)
{
  if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == 0) {
    const char *s = getenv("FP_FAIL_ALLOC");
    fail_at = s ? strtoul(s, NULL, 10) : 0;
    if (getenv("FP_COUNT_ALLOC")) atexit(report);
    __atomic_store_n(&state, 1, __ATOMIC_RELEASE);
  }
  unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
  if (fail_at && n == fail_at) {
    errno = ENOMEM;
    return 1;
  }
  return 0;
}

void *__wrap_malloc(size_t size) { return should_fail() ? NULL : __real_malloc(size); }
void *__wrap_calloc(size_t n, size_t size) { return should_fail() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t size) { return should_fail() ? NULL : __real_realloc(p, size); }
void *__wrap_aligned_alloc(size_t alignment, size_t size)
{
  return should_fail() ? NULL : __real_aligned_alloc(alignment, size);
}
