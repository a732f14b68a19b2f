/* fpentropy: the cost of a retraining schedule.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_retrain_problem, the exact data of a case at its T monitoring times:
 *     the matrix K[k][j] = KL(p(t_k) || p(t_j)) (j <= k), the initial
 *     mismatch D0[k] = KL(p(t_k) || q_ref) against the case's own reference,
 *     and the period weights dt_k;
 *   - fp_retrain_evaluate(): the mismatch series and the cost of any
 *     schedule;
 *   - fp_policy_run_exact(): a policy driven by the exact mismatch, on the
 *     same code path as the evaluator; fp_policy_run_signal(): the same with
 *     the policy fed an estimated signal and the schedule scored exactly;
 *   - the excess-loss accounting of Katz 2026 (Table 1, eq. 14) with the
 *     stale-state rule Z_k = [D_k > delta_stale].
 *
 * Schedule convention (the same everywhere in fpentropy): schedule[k] = true
 * means "retrain at period k", applied at period k.  With r(k) the last
 * retrain period <= k (none before the first retrain):
 *     observed[k] = D0[k]            if no retrain before k,
 *                   K[k][r(k-1)]     otherwise        (before k's action)
 *     mismatch[k] = 0                if schedule[k]   (K[k][k] = 0; never read)
 *                   observed[k]      otherwise        (after k's action)
 *     cost        = c * #retrains + sum_k mismatch[k] * dt_k
 * observed[k] is what a policy sees at period k; mismatch[k] is what the
 * schedule is charged.  This is the retraining objective C_alpha of Regol et
 * al. 2025 (eq. 3) with pe_{i,k} = KL(p(t_k) || p(t_i)) dt_k and alpha = c,
 * with the model retrained at k serving period k.
 *
 * Thread safety: pure functions of their arguments, except
 * fp_policy_run_exact(), which drives (and resets) the policy it is given.
 */
#ifndef FPENTROPY_RETRAIN_COST_H
#define FPENTROPY_RETRAIN_COST_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>

#include <fpentropy/policy/policy.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The exact data of one case at its monitoring times.  All arrays are the
 * caller's and only read. */
typedef struct fp_retrain_problem {
  size_t T;         /* number of monitoring periods (>= 1) */
  const double *K;  /* T*T row-major: K[k*T + j] = KL(p(t_k) || p(t_j)); only
                       j < k is read (the diagonal is 0 by definition and the
                       upper triangle is ignored); finite */
  const double *D0; /* T: KL(p(t_k) || q_ref) before any retrain; NULL means
                       D0[k] = K[k][0] (q_ref = p(t_0)); finite */
  const double *dt; /* T: period weights dt_k >= 0; NULL means dt_const */
  double dt_const;  /* weight of every period when dt is NULL (>= 0) */
  const double *t;  /* T: monitoring times (passed to policies as obs.t);
                       NULL means t_k = k */
  const double *loss_K;  /* optional T*T loss matrix: loss at period k of the
                            model trained at j (j < k), fed to policies as
                            obs.loss; NULL = no loss signal */
  const double *loss0;   /* T: loss of the initial model (needed with loss_K) */
} fp_retrain_problem;

/* What a schedule costs. */
typedef struct fp_retrain_cost {
  size_t n_retrains;        /* #{k : schedule[k]} */
  double mismatch_integral; /* sum_k mismatch[k] dt_k */
  double cost;              /* c * n_retrains + mismatch_integral */
} fp_retrain_cost;

/* Check a problem: T >= 1, K non-NULL, every entry that is read finite,
 * weights >= 0 and finite, loss0 present when loss_K is.
 * Returns FP_OK or FP_ERR_ARG naming the entry. */
FP_API int fp_retrain_problem_check(const fp_retrain_problem *pb, fp_error *err);

/* The mismatch series and cost of `schedule` (T booleans) with retrain cost
 * c >= 0.  observed and mismatch (T each) may be NULL.
 * Returns FP_OK or FP_ERR_ARG. */
FP_API int fp_retrain_evaluate(const fp_retrain_problem *pb, double c, const bool *schedule,
                        double *observed, double *mismatch, fp_retrain_cost *out,
                        fp_error *err);

/* Drive `policy` with the exact mismatch: fp_policy_reset(policy), then for
 * k = 0..T-1 feed obs = {k, t_k, observed[k], loss if given}, record its
 * decision in schedule[k] and, when it retrains, deploy p(t_k) from period k
 * on.  Fills schedule (T, required), observed and mismatch (T each, may be
 * NULL) and *out exactly as fp_retrain_evaluate() would for that schedule
 * (they share the code).  Returns FP_OK, FP_ERR_ARG, or the policy's error
 * (with the period in the message). */
FP_API int fp_policy_run_exact(fp_policy *policy, const fp_retrain_problem *pb, double c,
                        bool *schedule, double *observed, double *mismatch,
                        fp_retrain_cost *out, fp_error *err);

/* "No retrain yet": the value of `last` before the first retrain. */
#define FP_RETRAIN_NONE ((size_t)-1)

/* What the policy sees at period k when it is not the exact mismatch (an
 * estimate from samples, say).  Called once per period, in order, with
 * `last` the period of the deployed model's retrain (FP_RETRAIN_NONE before
 * the first) and `exact` the exact observed[k]; obs arrives filled as
 * fp_policy_run_exact() would fill it (period, t, divergence = exact, loss
 * when the problem has one) and the callback overwrites what it estimates
 * (typically obs->divergence).  Returns FP_OK or an error (fill err). */
typedef int (*fp_policy_signal_fn)(void *ctx, size_t k, size_t last, double exact,
                                   fp_policy_obs *obs, fp_error *err);

/* fp_policy_run_exact() with the policy fed by `signal` instead of the exact
 * mismatch, while the schedule is scored exactly: observed, mismatch and *out
 * are the exact series and cost of the schedule the policy chose (as
 * fp_retrain_evaluate() gives them; same code).  signal == NULL is
 * fp_policy_run_exact().  Returns FP_OK, FP_ERR_ARG, or the policy's or the
 * callback's error (with the period in the message). */
FP_API int fp_policy_run_signal(fp_policy *policy, const fp_retrain_problem *pb, double c,
                         fp_policy_signal_fn signal, void *ctx, bool *schedule,
                         double *observed, double *mismatch, fp_retrain_cost *out,
                         fp_error *err);

/* ----------------------------------------------------------------------- */
/* Excess loss (Katz 2026, Table 1 and eq. 14)                              */
/* ----------------------------------------------------------------------- */

/* The stale-state rule used in fpentropy: Z_k = 1 iff the true mismatch of
 * the deployed model before period k's action exceeds delta_stale,
 *     Z_k = [observed[k] > delta_stale]
 * (the analogue of Katz's materiality rule for gradual drift, eq. 9).  Z is
 * policy-specific because observed[] is.  Returns FP_OK or FP_ERR_ARG
 * (NULL, T == 0, delta_stale not finite, a non-finite observed value). */
FP_API int fp_stale_states(const double *observed, size_t T, double delta_stale, int *Z,
                    fp_error *err);

/* The accumulated one-step excess loss of a schedule. */
typedef struct fp_excess_loss {
  double kappa;         /* c_churn / c_wait */
  double c_churn;       /* kappa / (1 + kappa): retrain while Z = 0 */
  double c_wait;        /* 1 / (1 + kappa): wait while Z = 1 */
  size_t n_unnecessary; /* retrains with Z_k = 0 */
  size_t n_stale_wait;  /* waits with Z_k = 1 */
  size_t n_stale;       /* periods with Z_k = 1 */
  double loss;          /* c_churn n_unnecessary + c_wait n_stale_wait */
} fp_excess_loss;

/* L = c_churn #(retrain while Z = 0) + c_wait #(wait while Z = 1), with
 * c_churn = kappa/(1+kappa), c_wait = 1/(1+kappa).  A retrain while Z = 1 and
 * a wait while Z = 0 cost nothing.  Z[k] must be 0 or 1; kappa > 0 finite.
 * Returns FP_OK or FP_ERR_ARG. */
FP_API int fp_excess_loss_compute(const bool *schedule, const int *Z, size_t T, double kappa,
                           fp_excess_loss *out, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_RETRAIN_COST_H */
