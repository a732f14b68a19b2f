/* fpentropy: verification of the paper's Appendix A on a case.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains fp_verify_case(), which runs a case and checks, at
 * every output time, each statement of the appendix in its discrete form,
 * printing one line per check with the measured number, the tolerance and
 * PASS or FAIL, and INFO lines where the paper's assumptions do not hold
 * (absorbing walls, underflowing densities, full-tensor cross diffusion,
 * a reference that is not stationary).  docs/balance.md explains every line.
 */
#ifndef FPENTROPY_VERIFY_H
#define FPENTROPY_VERIFY_H

#include <stdio.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/time/run.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_verify_summary {
  int checks; /* PASS or FAIL lines */
  int failed; /* FAIL lines */
} fp_verify_summary;

/* Run `c` with `options` (its on_row callback is used by the verification
 * and must be NULL) and write the report to `report` (and nothing else).
 * Returns the run's status; the verdict is in *summary. */
int fp_verify_case(const fp_case *c, const fp_run_options *options, FILE *report,
                   fp_verify_summary *summary, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_VERIFY_H */
