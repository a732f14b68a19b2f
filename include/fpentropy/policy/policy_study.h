/* fpentropy: retraining policies driven by exact PDE divergences.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_density_series: the PDE densities at a case's monitoring (output)
 *     times, with the case's own KL(p(t_k) || q_ref);
 *   - fp_mismatch_matrix(): K[k][j] = KL(p(t_k) || p(t_j)), the mismatch at
 *     t_k of a model retrained at t_j (the reference reset to p(t_j));
 *   - fp_policy_study_exact(): every policy on its own exact mismatch series,
 *     the oracle schedule, costs, regrets, the 002 excess loss and the
 *     oracle's Pareto curve, written as CSV files.
 *
 * Period weights: dt_0 = 0 and dt_k = t_k - t_{k-1} (the mismatch cost
 * sum_k D_k dt_k is the right-endpoint rule for the integral of D).
 */
#ifndef FPENTROPY_POLICY_STUDY_H
#define FPENTROPY_POLICY_STUDY_H

#include <fpentropy/export.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <fpentropy/io/output.h>
#include <fpentropy/problem/case.h>
#include <fpentropy/policy/oracle.h>
#include <fpentropy/policy/policy.h>
#include <fpentropy/policy/retrain_cost.h>
#include <fpentropy/time/run.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_density_series {
  size_t T;        /* monitoring times */
  size_t ncells;
  double *t;       /* T */
  double *p;       /* T * ncells: p(t_k) at p[k * ncells + i] */
  double *kl;      /* T: KL(p(t_k) || q_ref) of the case (the `kl` column) */
  double *dkl_dt;  /* T: its exact rate (the `dkl_dt` column) */
  double *dt;      /* T: period weights */
} fp_density_series;

/* Run case `c` once (with `options`; its on_row/on_density must be NULL) and
 * keep its densities at the output times.  Ownership: fp_density_series_clear(). */
FP_API int fp_density_series_collect(const fp_case *c, const fp_run_options *options,
                              fp_density_series *out, fp_error *err);
FP_API void fp_density_series_clear(fp_density_series *s);

/* K (T * T, row-major) receives KL(p(t_k) || p(t_j)) for j < k (0 on and
 * above the diagonal), with the same floored logarithms as the balance
 * columns.  Errors: FP_ERR_NUMERIC if some p(t_j) is zero in a cell where a
 * later p(t_k) is not (the reset reference must be positive). */
FP_API int fp_mismatch_matrix(const fp_grid *g, const fp_density_series *s, double *K, fp_error *err);

/* The retraining problem of a series (pointers into s and K). */
FP_API void fp_density_series_problem(const fp_density_series *s, const double *K,
                               fp_retrain_problem *pb);

typedef struct fp_policy_study_options {
  double cost;            /* retrain cost c */
  double kappa;           /* 002's c_churn / c_wait */
  double stale_threshold; /* Z_k = [true mismatch before action > stale_threshold] */
  size_t pareto_points;   /* oracle points over c in [c/100, 100 c] (log-spaced) */
} fp_policy_study_options;

/* One schedule of the exact study: a policy's, or the oracle's. */
typedef struct fp_study_schedule {
  const char *label;      /* the policy's canonical spec, or "oracle" */
  fp_retrain_cost cost;   /* retrains, mismatch integral, c #retrains + integral */
  double regret;          /* cost - the oracle's cost (>= 0 up to round-off) */
  fp_excess_loss excess;  /* 002's excess loss on Z_k = [signal_k > stale threshold] */
  bool *decision;         /* T: retrain at period k */
  double *signal;         /* T: the mismatch the policy saw before acting */
  double *mismatch;       /* T: the mismatch charged (0 at a retrain) */
} fp_study_schedule;

/* The results of an exact study in memory (opaque; accessors below). */
typedef struct fp_policy_study fp_policy_study;

/* Run every policy spec on its exact mismatch series, the oracle, and the
 * oracle's Pareto curve (opt->pareto_points costs over [c/100, 100 c]; none
 * when c = 0), and keep everything in *out; nothing is written.
 * Errors: FP_ERR_ARG (NULL, a bad spec: every spec is parsed before anything
 * runs, an invalid series), FP_ERR_NOMEM.  Ownership: fp_policy_study_destroy(). */
FP_API int fp_policy_study_exact_run(const fp_density_series *s, const double *K,
                              const char *const *specs, size_t nspecs,
                              const fp_policy_study_options *opt, fp_policy_study **out,
                              fp_error *err);

/* Release a study; NULL and *st == NULL are no-ops; sets *st to NULL. */
FP_API void fp_policy_study_destroy(fp_policy_study **st);

/* The number of schedules (the policies in spec order, then the oracle) and
 * the i-th (NULL past the end; owned by st); the Pareto points (*points
 * owned by st; the count is returned). */
FP_API size_t fp_policy_study_count(const fp_policy_study *st);
FP_API const fp_study_schedule *fp_policy_study_schedule(const fp_policy_study *st, size_t i);
FP_API size_t fp_policy_study_pareto(const fp_policy_study *st, const fp_pareto_point **points);

/* Write the study's files into `dir` (created if needed): policy_NN.csv per
 * policy (period,t,signal,decision,mismatch,cumulative_cost), oracle.csv,
 * policy_summary.csv, pareto.csv (when c > 0) and kl_matrix.csv (from s, K:
 * the series the study was run on), each with its sidecar "<stem>.json".
 * By path: no lock is taken and no manifest is kept (see
 * fp_policy_study_write_dir()).  Returns FP_OK, FP_ERR_ARG, FP_ERR_IO. */
FP_API int fp_policy_study_write(const fp_policy_study *st, const fp_density_series *s, const double *K,
                          const char *dir, fp_error *err);

/* The same files into an output directory the caller holds
 * (fp_output_dir_open(), e.g. the one the PDE run of the series wrote into
 * through fp_run_options.held_dir): every name is recorded in its manifest
 * before the file is created, so the next run into the directory removes
 * them.  Returns FP_OK, FP_ERR_ARG, FP_ERR_IO. */
FP_API int fp_policy_study_write_dir(const fp_policy_study *st, const fp_density_series *s,
                                     const double *K, fp_output_dir *d, fp_error *err);

/* The summary table `fpentropy policy` prints (one line per schedule).
 * Returns FP_OK, FP_ERR_ARG or FP_ERR_IO. */
FP_API int fp_policy_study_print(const fp_policy_study *st, FILE *f, fp_error *err);

/* fp_policy_study_exact_run + fp_policy_study_write + (report != NULL)
 * fp_policy_study_print.  Run every policy spec on its exact mismatch series and the oracle; write
 * into `dir`: policy_NN.csv per policy (period,t,signal,decision,mismatch,
 * cumulative_cost), oracle.csv, policy_summary.csv, pareto.csv and
 * kl_matrix.csv; print a summary table to `report` (may be NULL).  The files
 * are written by path (no lock, no manifest); into a held output directory
 * call the three functions with fp_policy_study_write_dir() instead.
 * Errors: FP_ERR_ARG for a bad spec (before anything is written), I/O. */
FP_API int fp_policy_study_exact(const fp_density_series *s, const double *K, const char *const *specs,
                          size_t nspecs, const fp_policy_study_options *opt, const char *dir,
                          FILE *report, fp_error *err);

/* The same policies driven by sample estimates: R replicas of N particles of
 * the case; at period k the policy sees the estimate of KL(p(t_k) || ref)
 * from the particles at t_k, where ref is a sample of q_ref (drawn from the
 * PDE's grid q) before the first retrain and the particles at the last
 * retrain time after it.  Each sampled schedule is scored exactly (with K)
 * and compared with the exact-driven schedule of the same policy and with
 * the oracle: retrains, cost ratios, retrain delays, extra and missed
 * retrains, as replica means with Monte Carlo standard errors, written to
 * policy_sampled.csv (docs/policies.md defines the matching of retrains).
 * `estimator` must accept a reference sample (e.g. "wkv", "gauss"). */
typedef struct fp_policy_sampled_options {
  size_t particles;
  size_t replicas;     /* >= 2 */
  uint64_t seed;
  double dt;           /* particle step, 0: automatic */
  int threads;
  const char *estimator;
  volatile sig_atomic_t *interrupted; /* may be NULL */
} fp_policy_sampled_options;

/* One policy's row of the sampled study: its exact-driven retrains and cost,
 * the oracle's cost, and over the replicas the mean and Monte Carlo standard
 * error of FP_SAMPLED_STATS statistics, in this order: retrains, cost /
 * exact-driven cost, cost / oracle cost, retrain delay (periods; over the
 * replicas with a matched retrain), extra retrains, missed retrains. */
#define FP_SAMPLED_STATS 6
typedef struct fp_sampled_row {
  const char *label;        /* the policy's canonical spec */
  size_t exact_retrains;
  double exact_cost, oracle_cost;
  double mean[FP_SAMPLED_STATS], se[FP_SAMPLED_STATS];
} fp_sampled_row;

/* The sampled study's results in memory (opaque; accessors below). */
typedef struct fp_policy_sampled_result fp_policy_sampled_result;

/* Run the sampled study above and keep its rows in *out; nothing is written.
 * Errors as fp_policy_study_sampled().  Ownership: fp_policy_sampled_destroy(). */
FP_API int fp_policy_study_sampled_run(const fp_case *c, const fp_density_series *s, const double *K,
                                       const char *const *specs, size_t nspecs,
                                       const fp_policy_study_options *opt,
                                       const fp_policy_sampled_options *so,
                                       fp_policy_sampled_result **out, fp_error *err);

/* Release results; NULL and *r == NULL are no-ops; sets *r to NULL. */
FP_API void fp_policy_sampled_destroy(fp_policy_sampled_result **r);

/* The number of rows (one per policy spec, in order) and the i-th (NULL past
 * the end; owned by r). */
FP_API size_t fp_policy_sampled_count(const fp_policy_sampled_result *r);
FP_API const fp_sampled_row *fp_policy_sampled_row(const fp_policy_sampled_result *r, size_t i);

/* Write policy_sampled.csv (and its sidecar) into `dir` (by path: no lock,
 * no manifest), or into an output directory the caller holds (_write_dir:
 * both names recorded in its manifest first); print the table
 * `fpentropy policy --particles` shows.  FP_OK, FP_ERR_ARG, FP_ERR_IO. */
FP_API int fp_policy_sampled_write(const fp_policy_sampled_result *r, const char *dir, fp_error *err);
FP_API int fp_policy_sampled_write_dir(const fp_policy_sampled_result *r, fp_output_dir *d,
                                       fp_error *err);
FP_API int fp_policy_sampled_print(const fp_policy_sampled_result *r, FILE *report, fp_error *err);

/* Run the sampled study above and write policy_sampled.csv into `dir` (may
 * be NULL: nothing written; by path, as fp_policy_sampled_write()), with a
 * summary table to `report` (may be NULL).  Errors: FP_ERR_ARG (bad spec or
 * options, checked before anything runs), FP_ERR_INTERRUPTED, and those of
 * the particles, the estimator and the files. */
FP_API int fp_policy_study_sampled(const fp_case *c, const fp_density_series *s, const double *K,
                            const char *const *specs, size_t nspecs,
                            const fp_policy_study_options *opt,
                            const fp_policy_sampled_options *sampled, const char *dir,
                            FILE *report, fp_error *err);

/* Calibrate the debt filter's emissions (policy.h) on pilot series under a
 * frozen deployment (q_ref never reset, as in 002's calibration): the
 * signal is the exact kl series (so == NULL) or its estimate from R replicas
 * of particles (so != NULL, so the emissions include estimation noise); the
 * stale label of period k is [exact kl_k > stale_threshold]. */
FP_API int fp_debt_calibrate_case(const fp_case *c, const fp_density_series *s, const double *K,
                           const fp_policy_sampled_options *so, double stale_threshold,
                           fp_debt_emissions *out, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_POLICY_STUDY_H */
