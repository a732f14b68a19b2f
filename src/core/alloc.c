/* fpentropy (internal): large arrays on huge pages (see alloc_impl.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _DEFAULT_SOURCE /* madvise */
#include "core/alloc_impl.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define HUGE_PAGE ((size_t)2 << 20)

/* from here on: an array of 1 MiB on a huge page wastes at most as much
 * memory as it holds, and saves 255 faults */
#define LARGE ((size_t)1 << 20)

void *fp_alloc_large(size_t bytes)
{
  if (bytes < LARGE) return malloc(bytes ? bytes : 1);
  if (bytes > (size_t)-1 - HUGE_PAGE) return NULL; /* rounding up would overflow */
  size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  void *p = aligned_alloc(HUGE_PAGE, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  /* advice only: where transparent huge pages are off it changes nothing */
  if (p) (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
}

void *fp_calloc_large(size_t count, size_t size)
{
  if (size && count > (size_t)-1 / size) return NULL;
  void *p = fp_alloc_large(count * size);
  if (p) memset(p, 0, count * size);
  return p;
}
