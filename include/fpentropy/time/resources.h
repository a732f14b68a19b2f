/* fpentropy: what a case will need (memory, files) and checks before anything is allocated.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_resources_estimate(), a lower-bound estimate of the memory and the
 *     number of files a run of the case needs, from the case alone;
 *   - fp_resources_check(), which refuses a case above a memory limit (by
 *     default the machine's available memory) or a file limit;
 *   - fp_case_check_diffusion(), D positive definite at every cell centre;
 *   - fp_run_check_case(), everything `check` verifies, on an operator the
 *     caller built once.
 */
#ifndef FPENTROPY_RESOURCES_H
#define FPENTROPY_RESOURCES_H

#include <fpentropy/export.h>

#include <stddef.h>

#include <fpentropy/core/status.h>
#include <fpentropy/fv/operator.h>
#include <fpentropy/problem/case.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most files one run may write (snapshots included). */
#define FP_RESOURCES_MAX_FILES 100000

typedef struct fp_resource_estimate {
  double bytes; /* memory, a lower bound (measured per cell, without the sparse LU's fill-in) */
  double files; /* files written into the output directory */
} fp_resource_estimate;

/* Estimate what a run of case `c` needs (see fp_resource_estimate). */
FP_API void fp_resources_estimate(const fp_case *c, fp_resource_estimate *out);

/* MemAvailable from /proc/meminfo, in bytes; 0 when unknown. */
FP_API double fp_resources_available_memory(void);

/* FP_ERR_NOMEM when the estimate exceeds max_bytes (0: the available
 * memory; when that is unknown, no memory limit), FP_ERR_CASE when the run
 * would write more than FP_RESOURCES_MAX_FILES files.  The message gives
 * the estimate, the limit and how to lower or raise them. */
FP_API int fp_resources_check(const fp_case *c, double max_bytes, fp_error *err);

/* D (all its entries) finite and positive definite at every cell centre, at
 * t = 0 and, for time-dependent D, at up to 11 of the output times.
 * FP_ERR_CASE names the point, the time and the matrix. */
FP_API int fp_case_check_diffusion(const fp_case *c, fp_error *err);

/* Drift and potential finite at every cell centre at t = 0; FP_ERR_CASE names
 * the key and the point (a potential log(x) was once reported as a Peclet
 * number problem). */
FP_API int fp_case_check_fields(const fp_case *c, fp_error *err);

/* `check`: D positive definite, drift and potential finite, then the densities sampled on the grid,
 * using the caller's operator (built once). */
FP_API int fp_run_check_case(const fp_case *c, fp_operator *op, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_RESOURCES_H */
