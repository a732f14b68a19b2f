/* fpentropy: the learning-debt simulation study of Katz 2026, Section 6, on
 * the project's own fp_policy objects.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_debt_path: one realised data path of a family (none, abrupt,
 *     variance, gradual): T = 200 periods of 10 observations, 5 update and 5
 *     holdout, with burn-in 20 and the onset law of the design fact sheet
 *     (docs/learning-debt.md);
 *   - fp_debt_rng_alloc()/fp_debt_rng_seed(): the study's generator (a
 *     64-bit xoshiro256** wrapped as a gsl_rng type) seeded from a hash of
 *     (seed, block, cell, replication), so that every row's path is the same
 *     whatever the thread count and whichever cells ran before;
 *   - fp_debt_run_path(): every policy of a row on one shared path: the
 *     shadow posterior, each policy's deployed posterior, the holdout
 *     diagnostics g, d, e and D = KL(S || Q), policy-specific staleness Z_t,
 *     the decision from an fp_policy object (debt, debt with input=direct
 *     for the proxy filter, calendar, cusum, alarm) and the excess loss;
 *   - fp_debt_pilot_emissions(): the emissions calibrated on pilot paths
 *     under a frozen (prior) deployment;
 *   - fp_debt_study_run(): the blocks (main, cadence, robustness A/B/C,
 *     lag), threads, per-cell checkpoints and the output files.
 *
 * Periods are numbered t = 1..T (the prior is deployed at t = 0), so the
 * calendar policy's absolute clock retrains at 10, 20, ..., 200 with k = 10.
 *
 * Thread safety: fp_debt_run_path() and the path generator are pure
 * functions of their arguments (the policies they drive are their own).
 */
#ifndef FPENTROPY_DEBT_STUDY_H
#define FPENTROPY_DEBT_STUDY_H

#include <fpentropy/export.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include <fpentropy/core/status.h>
#include <fpentropy/policy/nig.h>
#include <fpentropy/policy/policy.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FP_DEBT_T 200      /* periods */
#define FP_DEBT_BURNIN 20  /* no onset at t <= 20 */
#define FP_DEBT_NOBS 10    /* observations a period */
#define FP_DEBT_NUPDATE 5  /* the first 5 update the shadow, the last 5 are holdout */

typedef enum fp_debt_family {
  FP_DEBT_NONE,
  FP_DEBT_ABRUPT,
  FP_DEBT_VARIANCE,
  FP_DEBT_GRADUAL,
  FP_DEBT_FAMILY_COUNT
} fp_debt_family;

/* "none", "abrupt", "variance", "gradual". */
FP_API const char *fp_debt_family_name(fp_debt_family f);

/* One realised path; index t = 1..T (index 0 unused). */
typedef struct fp_debt_path {
  fp_debt_family family;
  double p_shift;
  size_t onset;                     /* tau in 21..T, 0 = no onset */
  double beta[FP_DEBT_T + 1];
  double sigma2[FP_DEBT_T + 1];
  double x[FP_DEBT_T + 1][FP_DEBT_NOBS];
  double y[FP_DEBT_T + 1][FP_DEBT_NOBS];
} fp_debt_path;

/* The study's generator type: xoshiro256** (Blackman and Vigna) with a
 * 64-bit seed expanded by splitmix64; 32-bit outputs for gsl_rng_get. */
extern const gsl_rng_type *fp_debt_rng_type;

/* A 64-bit seed from (seed, block, cell, rep) by splitmix64 mixing. */
FP_API uint64_t fp_debt_rng_seed(uint64_t seed, unsigned block, unsigned cell, unsigned rep);

/* Draw one path: the regime draws first (onset uniforms at t > 20 until the
 * onset, then the shift draws), then per period 10 x's and 10 eps's.
 * Families: none (beta = 0, sigma^2 = 1), abrupt (beta += N(0, 2^2) at tau),
 * variance (sigma^2 *= U(3, 6) at tau), gradual (beta += N(0, 0.15^2) at
 * every t >= tau). */
FP_API void fp_debt_path_generate(fp_debt_family family, double p_shift, gsl_rng *r, fp_debt_path *out);

/* The policies of the study, in output order. */
typedef enum fp_debt_policy_id {
  FP_DEBT_POL_DEBT,
  FP_DEBT_POL_PROXY,
  FP_DEBT_POL_CALENDAR,  /* cadence 10 */
  FP_DEBT_POL_CUSUM,
  FP_DEBT_POL_ALARM,
  FP_DEBT_POL_CALENDAR5,
  FP_DEBT_POL_CALENDAR20,
  FP_DEBT_POL_CALENDAR40,
  FP_DEBT_POL_COUNT
} fp_debt_policy_id;

/* "debt", "proxy", "calendar", "cusum", "alarm", "calendar5", ... */
FP_API const char *fp_debt_policy_name(fp_debt_policy_id id);

/* One row's settings. */
typedef struct fp_debt_row_settings {
  double kappa;             /* c_churn / c_wait */
  double hazard;            /* the filters' 0 -> 1 probability h */
  double p10;               /* the filters' 1 -> 0 probability */
  fp_debt_emissions em;     /* emissions of sqrt(KL) (debt and proxy) */
  int lag;                  /* 0: same-period action; 1: executed at t+1 */
  unsigned policies;        /* bit mask of (1u << fp_debt_policy_id) to run */
} fp_debt_row_settings;

/* What one replication gives, per policy (NAN where undefined or not run). */
typedef struct fp_debt_rep {
  double loss[FP_DEBT_POL_COUNT];
  double retrains[FP_DEBT_POL_COUNT];   /* executed retrains */
  double unnecessary[FP_DEBT_POL_COUNT];
  double stale_waits[FP_DEBT_POL_COUNT];
  double delay[FP_DEBT_POL_COUNT];
  double bss[FP_DEBT_POL_COUNT];        /* debt and proxy */
  double spearman_g, spearman_d;        /* D with g, D with d on the debt run */
} fp_debt_rep;

/* Per-period trace of one policy on one path (for figures), optional. */
typedef struct fp_debt_trace {
  int Z[FP_DEBT_T + 1];
  double D[FP_DEBT_T + 1], g[FP_DEBT_T + 1], d[FP_DEBT_T + 1], e[FP_DEBT_T + 1];
  double statistic[FP_DEBT_T + 1];  /* rho, CUSUM sum, D, ... (fp_policy_last) */
  double threshold[FP_DEBT_T + 1];
  int decision[FP_DEBT_T + 1];      /* decided at t */
  int executed[FP_DEBT_T + 1];      /* retrain executed in t */
  double cumulative_loss[FP_DEBT_T + 1];
} fp_debt_trace;

/* A row's policies, made once and reused for many paths (fp_policy objects
 * from spec strings; reset before each path). */
typedef struct fp_debt_row_policies fp_debt_row_policies;

/* Make the policies of a row's settings.  Errors: FP_ERR_ARG (bad settings
 * or spec), FP_ERR_NOMEM.  Ownership: fp_debt_row_policies_destroy(), which
 * accepts NULL and sets *p to NULL. */
FP_API int fp_debt_row_policies_create(const fp_debt_row_settings *s, fp_debt_row_policies **out,
                                fp_error *err);
FP_API void fp_debt_row_policies_destroy(fp_debt_row_policies **p);
/* The spec of policy `id` (NULL when not in the row). */
FP_API const char *fp_debt_row_policy_spec(const fp_debt_row_policies *p, fp_debt_policy_id id);

/* Run every policy of the row on `path` (fact sheet sections 4-7 and 9).
 * traces (may be NULL) is an array of FP_DEBT_POL_COUNT traces.
 * Returns FP_OK or the first error (NIG numerics, a policy error). */
FP_API int fp_debt_run_path(const fp_debt_path *path, const fp_debt_row_settings *s,
                     fp_debt_row_policies *pol, fp_debt_rep *out, fp_debt_trace *traces,
                     fp_error *err);

/* Staleness of a deployed posterior q (retrained at r, 0 = never) at period
 * t with shadow s: none 0; abrupt and variance [onset <= t and onset > r];
 * gradual [|m_s - m_q| > 0.5 sqrt(b0/(a0 k0))] with the prior (0,1,2,1). */
FP_API int fp_debt_stale(fp_debt_family f, size_t onset, size_t t, size_t r, const fp_nig *s,
                  const fp_nig *q);

/* Emissions from `npaths` pilot paths per family in `families` (p = 0.05,
 * deployment frozen at the prior, every t pooled by the world regime G_t),
 * with path j of family f drawn from fp_debt_rng_seed(seed, block, f, j). */
FP_API int fp_debt_pilot_emissions(uint64_t seed, unsigned block, const fp_debt_family *families,
                            size_t nfamilies, size_t npaths, fp_debt_emissions *out,
                            fp_error *err);

/* ----------------------------------------------------------------------- */
/* The study                                                                */
/* ----------------------------------------------------------------------- */

enum {
  FP_DEBT_BLOCK_MAIN = 1u << 0,
  FP_DEBT_BLOCK_CADENCE = 1u << 1,
  FP_DEBT_BLOCK_ROBUSTNESS = 1u << 2, /* A, B and C */
  FP_DEBT_BLOCK_LAG = 1u << 3,
  FP_DEBT_BLOCK_ALL = 0xfu
};

typedef struct fp_debt_study_options {
  size_t reps;             /* main, cadence, lag (300); robustness: 5 reps / 3 */
  uint64_t seed;
  size_t threads;          /* >= 1 */
  unsigned blocks;         /* FP_DEBT_BLOCK_* mask */
  volatile sig_atomic_t *interrupted; /* polled between cells; may be NULL */
  /* Progress (may be NULL): called from worker threads under a lock. */
  void (*progress)(void *ctx, size_t done, size_t total, size_t resumed);
  void *progress_ctx;
} fp_debt_study_options;

/* Run the study into `dir` (created if needed): checkpoints/ (one file per
 * finished cell, reused when present with the same seed and reps),
 * cells.csv, wins.csv, summary.txt (docs/cli.md).  *wall_s receives the wall
 * time (may be NULL).  Returns FP_OK, FP_ERR_INTERRUPTED (finished cells
 * kept), FP_ERR_IO, or an error of a row. */
FP_API int fp_debt_study_run(const fp_debt_study_options *opt, const char *dir, double *wall_s,
                      fp_error *err);

/* Write trace.csv of one path (family, p, kappa, rep of the main block with
 * `seed`, the main block's settings and emissions) for every main-block
 * policy: policy,t,onset,Z,D,g,d,e,statistic,threshold,decision,executed,
 * cumulative_loss. */
FP_API int fp_debt_trace_write(uint64_t seed, fp_debt_family family, double p_shift, double kappa,
                        unsigned rep, const char *path, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_DEBT_STUDY_H */
