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

#include <fpentropy/export.h>

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

/* The verdict of one line of the report. */
typedef enum fp_verdict {
  FP_VERDICT_PASS = 0,
  FP_VERDICT_FAIL,
  FP_VERDICT_INFO /* a fact, not a check (e.g. an absorbing wall's boundary term) */
} fp_verdict;

/* One line of the report: the check's name and what was measured. */
typedef struct fp_verify_check {
  fp_verdict verdict;
  char name[32];    /* e.g. "A.13 (dD/dt budget)" */
  char detail[256]; /* the measured number, the tolerance, where */
} fp_verify_check;

/* A verification report in memory (opaque; accessors below). */
typedef struct fp_verify_report fp_verify_report;

/* Run `c` with `options` (options->on_row must be NULL: the verification uses
 * it) and check every statement of the appendix.  On return *out holds the
 * report whenever one could be made: also when the run failed (then it has a
 * FAIL line "run" and the run's status is returned).  Returns FP_OK, the
 * run's error, FP_ERR_ARG, FP_ERR_NOMEM.  Ownership: fp_verify_report_destroy(). */
FP_API int fp_verify_run(const fp_case *c, const fp_run_options *options, fp_verify_report **out,
                  fp_error *err);

/* Release a report; NULL and *r == NULL are no-ops; sets *r to NULL. */
FP_API void fp_verify_report_destroy(fp_verify_report **r);

/* Counts, the number of lines, the i-th line (NULL past the end), and the
 * header ("fpentropy verify CASE: N output times, ...").  NULL-safe. */
FP_API fp_verify_summary fp_verify_report_summary(const fp_verify_report *r);
FP_API size_t fp_verify_report_count(const fp_verify_report *r);
FP_API const fp_verify_check *fp_verify_report_check(const fp_verify_report *r, size_t i);
FP_API const char *fp_verify_report_header(const fp_verify_report *r);

/* "PASS", "FAIL" or "INFO". */
FP_API const char *fp_verdict_name(fp_verdict v);

/* Write the report as `fpentropy verify` prints it: "# header", one
 * "VERDICT  name  detail" line per check, "# N checks, M failed: PASS|FAIL".
 * Returns FP_OK, FP_ERR_ARG or FP_ERR_IO. */
FP_API int fp_verify_report_write(const fp_verify_report *r, FILE *f, fp_error *err);

/* fp_verify_run() + fp_verify_report_write() to `report` (and nothing else).
 * Returns the run's status (or FP_ERR_IO when the report cannot be written);
 * the verdict is in *summary. */
FP_API int fp_verify_case(const fp_case *c, const fp_run_options *options, FILE *report,
                   fp_verify_summary *summary, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_VERIFY_H */
