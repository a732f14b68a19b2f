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

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <fpentropy/io/output.h>
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

/* The comparison's results in memory (opaque; accessors below). */
typedef struct fp_compare_result fp_compare_result;

/* Statistics of R replica estimates at one (estimator, N, t), or of their
 * rate (differences of successive estimates). */
typedef struct fp_compare_stats {
  double exact;         /* the PDE's kl (rate: differenced the same way) */
  double mean, bias;    /* of the estimates; bias = mean - exact */
  double sd, rmse;      /* sample sd; root mean squared error against exact */
  double frac_negative; /* share of estimates < 0 */
  size_t count;         /* estimates that were not NaN */
} fp_compare_stats;

/* Run the comparison and keep every replica's estimate (and the PDE's kl
 * series) in *out; files are written only as `run` says (the PDE's own
 * files; write_files = false for none).  Errors as fp_compare_case().
 * With run->held_dir the PDE writes into that directory and leaves it open.
 * Ownership: fp_compare_result_destroy(). */
FP_API int fp_compare_run(const fp_case *c, const fp_compare_options *opt, const fp_run_options *run,
                   fp_compare_result **out, fp_error *err);

/* Release results; NULL and *r == NULL are no-ops; sets *r to NULL. */
FP_API void fp_compare_result_destroy(fp_compare_result **r);

/* The numbers of estimators, sample sizes, output times and replicas (any
 * pointer may be NULL). */
FP_API void fp_compare_result_shape(const fp_compare_result *r, size_t *estimators, size_t *sizes,
                             size_t *times, size_t *replicas);

/* The e-th estimator's canonical spec (NULL out of range), the n-th sample
 * size (0), the k-th output time and the PDE's kl there (NAN), and one
 * replica's estimate (NAN out of range, or when the estimator had < 2 points). */
FP_API const char *fp_compare_result_estimator(const fp_compare_result *r, size_t e);
FP_API size_t fp_compare_result_size(const fp_compare_result *r, size_t n);
FP_API double fp_compare_result_time(const fp_compare_result *r, size_t k);
FP_API double fp_compare_result_exact(const fp_compare_result *r, size_t k);
FP_API double fp_compare_result_estimate(const fp_compare_result *r, size_t e, size_t n, size_t k,
                                  size_t rep);

/* Statistics at (e, n, k), of the estimates or (rate = true) of their rate
 * (centred differences inside, one-sided at the ends).  Returns FP_OK,
 * FP_ERR_ARG (index out of range; a rate with one output time), FP_ERR_NOMEM. */
FP_API int fp_compare_result_stats(const fp_compare_result *r, size_t e, size_t n, size_t k, bool rate,
                            fp_compare_stats *out, fp_error *err);

/* Root mean over output times of the squared error (rmse, rate_rmse) and the
 * least-squares slope d log rmse / d log N over the sample sizes (NAN with
 * one size); any pointer may be NULL. */
FP_API void fp_compare_result_summary(const fp_compare_result *r, size_t e, size_t n, double *rmse,
                               double *rate_rmse, double *slope);

/* Write compare.csv, compare_rate.csv and compare_summary.csv (and their
 * sidecars compare.json, compare_rate.json, compare_summary.json) into `dir`
 * (created if needed), by path: no lock is taken and no manifest is kept
 * (see fp_compare_write_dir()).  Returns FP_OK, FP_ERR_ARG or FP_ERR_IO. */
FP_API int fp_compare_write(const fp_compare_result *r, const char *dir, fp_error *err);

/* The same files into an output directory the caller holds
 * (fp_output_dir_open()): every name is recorded in its manifest before the
 * file is created, so the next run into the directory removes them.
 * Returns FP_OK, FP_ERR_ARG or FP_ERR_IO. */
FP_API int fp_compare_write_dir(const fp_compare_result *r, fp_output_dir *d, fp_error *err);

/* The summary table `fpentropy compare` prints.  FP_OK, FP_ERR_ARG, FP_ERR_IO. */
FP_API int fp_compare_print(const fp_compare_result *r, FILE *f, fp_error *err);

/* fp_compare_run + fp_compare_write_dir + fp_compare_print to `report` (may
 * be NULL), all in one output directory held from before the PDE run to the
 * last table: either run->held_dir (a directory the caller holds; `dir` must
 * then be NULL, and the caller closes it), or `dir`, which is then opened here
 * (fp_output_dir_open(): locked, the earlier run's files removed) once every
 * option has been checked and every estimator tried on the smallest sample
 * size, so that a usage error removes nothing; it is closed after the last
 * table (run->output_dir is not used: the PDE's own files go into the same
 * directory when run->write_files), and a failure after the PDE run completed
 * is first written into its summary.txt (fp_run_mark_failed()).  A second run
 * into the directory meanwhile fails at once, and its manifest lists the
 * tables too.  Errors: FP_ERR_ARG (bad option or spec; both or neither of dir
 * and run->held_dir), FP_ERR_IO (the directory in use by another run, files),
 * and those of the PDE run, the particles and the estimators. */
FP_API int fp_compare_case(const fp_case *c, const fp_compare_options *opt, const fp_run_options *run,
                    const char *dir, FILE *report, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_COMPARE_H */
