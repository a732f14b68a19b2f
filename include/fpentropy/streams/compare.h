/* fpentropy: sample KL estimators judged against the PDE's exact KL.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains fp_compare_case(): the PDE of a case is run once
 * (exact kl and dkl_dt at the output times), R replicas of particles of the
 * same SDE are simulated (fp_particles), and at every output time each
 * estimator is applied to the first N particles of each replica for every N
 * asked for.  Written (docs/compare.md):
 *   compare.csv          estimator,N,t,exact,mean,bias,sd,rmse,frac_negative
 *   compare_rate.csv     the same for dD/dt: centred differences of each
 *                        replica's estimates against the PDE's kl differenced
 *                        the same way (so the error is the estimators' own),
 *                        plus the PDE's exact dkl_dt (the gap between the two
 *                        is the truncation of the monitoring interval)
 *   compare_summary.csv  estimator,N,rmse (over all outputs),rate_rmse,
 *                        slope (fitted d log RMSE / d log N per estimator)
 *
 * The reference q_ref the estimators see: its exact log-density (the case's
 * expression, normalised like the PDE's grid q) when q_ref is an
 * expression, otherwise the PDE grid q interpolated multilinearly in log q;
 * its grid moments; and, for two-sample estimators, a sample of N points
 * drawn from the grid q (a cell with probability q_i |V|, then uniform in
 * it) with its own random stream.
 */
#ifndef FPENTROPY_COMPARE_H
#define FPENTROPY_COMPARE_H

#include <stdint.h>
#include <stdio.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/time/run.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_compare_options {
  const size_t *sizes;            /* sample sizes N (each >= 2) */
  size_t nsizes;
  size_t replicas;                /* R >= 2 (the spread needs two) */
  uint64_t seed;
  double dt;                      /* particle step, 0: automatic */
  int threads;                    /* 0: all cores */
  const char *const *estimators;  /* estimator specs (estimator.h) */
  size_t nestimators;
} fp_compare_options;

/* Run the comparison and write its tables into `dir` (the PDE's own files
 * too); print a summary to `report` (may be NULL).  Every estimator spec is
 * checked before anything runs.  Errors: FP_ERR_ARG (bad option or spec),
 * and those of the PDE run, the particles and the estimators. */
int fp_compare_case(const fp_case *c, const fp_compare_options *opt, const fp_run_options *run,
                    const char *dir, FILE *report, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_COMPARE_H */
