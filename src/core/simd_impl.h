/* fpentropy (internal): wider vector code for the hot loops, chosen at load
 * time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The library is built for the baseline x86-64 (SSE2), so that one build runs
 * everywhere; FP_TARGET_CLONES on a function makes GCC compile it also for
 * AVX2 and AVX-512 and pick the best the processor has when the library is
 * loaded (an ifunc).  The loops marked with it are bandwidth- or
 * throughput-bound stencil sweeps, 1.5-2.5x faster in the wider versions
 * (build/tools/bench_kernels).  The clones round exactly as the baseline
 * does: no FMA is enabled (and the ISO C mode keeps -ffp-contract=off), and
 * the vectorised reductions are max, which is exact, so every version gives
 * the same bits.  Other compilers, sanitizer builds and other architectures
 * get the plain function. */
#ifndef FPENTROPY_SIMD_IMPL_H
#define FPENTROPY_SIMD_IMPL_H

#include <math.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(FP_NO_TARGET_CLONES)
/* Mark static functions only: GCC exports the dispatcher of a non-static
 * clone whatever -fvisibility says. */
#define FP_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FP_TARGET_CLONES
#endif

/* For the helpers of a cloned function: a helper that is not inlined is
 * compiled once, for the baseline, and the clones would call that. */
#if defined(__GNUC__)
#define FP_INLINE_HOT __attribute__((always_inline)) inline
#else
#define FP_INLINE_HOT inline
#endif

/* max(a, b), NaN if either is: the reductions of the hot loops let a NaN
 * through, so that a caller's error test fails on it (fmax would drop it) */
static inline double fp_max_nan(double a, double b) { return (a > b || isnan(a)) ? a : b; }

#endif /* FPENTROPY_SIMD_IMPL_H */
