/* fpentropy: a run with an estimate of its discretisation error ([output] error_estimate).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_estimate: what the coarse-grid runs measured and the estimate
 *     derived from them (for the verification and for tests);
 *   - fp_run_case_estimated(): fp_run_case() with the case's error_estimate
 *     mode: `on` first runs the case on the grid with half the cells per
 *     axis, `verify` also on a quarter, both with the time tolerances divided
 *     by FP_ESTIMATE_TIME_TIGHTENING, and then the case itself, whose
 *     balance.csv gains, for every estimated column Q, `Q_err` (the
 *     Richardson estimate (Q_h - Q_2h)/3 of Q_exact - Q_h for order 2) and
 *     `Q_rich` ((4 Q_h - Q_2h)/3), and whose summary.txt gains the cost, the
 *     largest estimated errors and, for `verify`, the observed order of
 *     every column at every output time with a verdict (balance/richardson.h).
 * docs/error-estimate.md says when the estimate can be trusted.
 */
#ifndef FPENTROPY_ESTIMATE_H
#define FPENTROPY_ESTIMATE_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>

#include <fpentropy/balance/richardson.h>
#include <fpentropy/core/status.h>
#include <fpentropy/problem/case.h>
#include <fpentropy/time/run.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FP_ESTIMATE_MAX_LEVELS 3
#define FP_ESTIMATE_MAX_QUANTITIES 16
/* The coarse grids' rtol and atol are the case's divided by this, so that
 * their time error stays well below their space error. */
#define FP_ESTIMATE_TIME_TIGHTENING 10.0
/* Assumed order of the scheme, refinement ratio, and the distance of the
 * observed order from it beyond which `verify` flags the estimate. */
#define FP_ESTIMATE_ORDER 2.0
#define FP_ESTIMATE_RATIO 2.0
#define FP_ESTIMATE_ORDER_TOLERANCE 0.5

typedef struct fp_estimate {
  fp_error_estimate_mode mode;
  int levels;                                  /* grids run: 1 (off), 2 (on), 3 (verify) */
  /* level 0 is the case's grid, level l has 2^-l of its cells per axis */
  size_t cells[FP_ESTIMATE_MAX_LEVELS];
  double seconds[FP_ESTIMATE_MAX_LEVELS];      /* wall time of each level's run */
  long steps[FP_ESTIMATE_MAX_LEVELS];          /* CVODE steps of each level */
  double rtol[FP_ESTIMATE_MAX_LEVELS], atol[FP_ESTIMATE_MAX_LEVELS];
  size_t n_times;                              /* output rows of the fine run */
  size_t n_quantities;                         /* estimated columns */
  char name[FP_ESTIMATE_MAX_QUANTITIES][32];   /* their names */
  /* n_times x n_quantities, row-major: the value on each level, the
   * estimate (signed correction to the fine value), the extrapolated value;
   * for `verify` the observed order (NaN where noise) and the verdict. */
  double *value[FP_ESTIMATE_MAX_LEVELS];
  double *err, *rich, *order;
  double *exact;                               /* the closed form of Q (NaN where none) */
  bool has_exact[FP_ESTIMATE_MAX_QUANTITIES];
  fp_richardson_verdict *verdict;
  double noise[FP_ESTIMATE_MAX_QUANTITIES];    /* absolute noise level of each column */
  double scale[FP_ESTIMATE_MAX_QUANTITIES];    /* max over times and grids of |Q| */
  char not_estimated[256];                     /* columns left out, and why ("" if none) */
  /* internal bookkeeping of the runs */
  size_t capacity;
  size_t coarse_rows[FP_ESTIMATE_MAX_LEVELS];
  size_t coarse_columns[FP_ESTIMATE_MAX_LEVELS];
  char *coarse_names[FP_ESTIMATE_MAX_LEVELS];   /* '\n'-joined column names */
  double *coarse_values[FP_ESTIMATE_MAX_LEVELS]; /* rows x coarse_columns */
  size_t fine_index[FP_ESTIMATE_MAX_QUANTITIES];
  size_t exact_index[FP_ESTIMATE_MAX_QUANTITIES];
  size_t coarse_index[FP_ESTIMATE_MAX_LEVELS][FP_ESTIMATE_MAX_QUANTITIES];
  char extra_names[2 * FP_ESTIMATE_MAX_QUANTITIES][40];
  double fine_rtol, fine_start_seconds;
  bool finalised;
} fp_estimate;

/* Run `c` as fp_run_case() does, with the estimate its [output]
 * error_estimate asks for (off: exactly fp_run_case()).  `options` must not
 * use the extra_* hooks (the estimate uses them).  `estimate` (may be NULL)
 * receives what was measured; release it with fp_estimate_clear().  Errors:
 * FP_ERR_CASE when the cells per axis are not divisible by 2 (on) or 4
 * (verify) or the coarsest grid would have fewer than 4 cells on an axis,
 * and anything fp_run_case() reports, for a coarse grid with its size in
 * the message. */
FP_API int fp_run_case_estimated(const fp_case *c, const fp_run_options *options, fp_run_result *result,
                          fp_estimate *estimate, fp_error *err);

/* Index of the estimated column `name` in estimate->name, or -1. */
FP_API int fp_estimate_find(const fp_estimate *e, const char *name);

/* Release what an estimate holds (accepts a zeroed or half-filled one). */
FP_API void fp_estimate_clear(fp_estimate *e);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_ESTIMATE_H */
