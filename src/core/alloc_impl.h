/* fpentropy (internal): allocation of large arrays.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every new 4 KiB page costs a page fault when first written, and in a
 * virtual machine a fault is a trap to the hypervisor (perf showed them as a
 * large share of an exponential run at 352^2).  Arrays
 * of 1 MiB and more (Krylov bases, the operator's and the balance's arrays)
 * are therefore placed in whole 2 MiB blocks, 2 MiB-aligned, with
 * madvise(MADV_HUGEPAGE), so that where the kernel's transparent huge pages
 * are in "madvise" or "always" mode one fault maps 512 pages.  An array
 * between 1 and 2 MiB then takes up to twice its size; smaller requests are
 * plain malloc.  Release with free(). */
#ifndef FPENTROPY_ALLOC_IMPL_H
#define FPENTROPY_ALLOC_IMPL_H

#include <stddef.h>

/* malloc(bytes), on huge pages from 1 MiB on; NULL when out of memory. */
void *fp_alloc_large(size_t bytes);

/* calloc(count, size) likewise (the memory is zeroed). */
void *fp_calloc_large(size_t count, size_t size);

#endif /* FPENTROPY_ALLOC_IMPL_H */
