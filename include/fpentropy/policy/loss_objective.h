/* fpentropy: the retraining objective of Regol et al. 2025 (paper 001) on a performance matrix,
 * its oracle, alpha sweeps with their AUC, and the UPF policy.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_loss_objective(): C_alpha(theta) = alpha |theta|_1 + sum_{t=1}^{T-1} pe[r(t)][t]
 *     evaluated directly, with r(t) the last retrain <= t (0: the initial model f_0);
 *   - fp_loss_problem: the same objective as an fp_retrain_problem (retrain_cost.h), so that
 *     the oracle and every policy run on it with the existing code (see below);
 *   - fp_loss_oracle(), fp_loss_policy_run(), fp_loss_auc();
 *   - fp_upf_run(): the Uncertainty-Performance Forecaster (paper 001, Section 4).
 *
 * Convention.  pe[i*T + j] is the loss at period j of the model trained at i (row i = model,
 * column j = period, as pe_matrix.csv).  Period 0 is the training of f_0 and is not charged; a
 * retrain at t serves period t (r(t) = t, Regol's r_theta), so it is charged pe[t][t].
 *
 * The reduction to fp_retrain_problem.  With K'[k][j] = pe[j][k] - pe[k][k] (j < k),
 * D0[k] = pe[0][k] - pe[k][k], dt_0 = 0, dt_k = 1:
 *     C_alpha(theta) = [c #retrains + sum_k mismatch[k] dt_k]_{c = alpha} + sum_{k>=1} pe[k][k],
 * since a retrain at k makes mismatch[k] = 0 and the served model otherwise is r(k-1).  The
 * constant does not depend on theta, so fp_oracle_solve() on (K', D0) minimises C_alpha; K'
 * may be negative (an older model may do better), which the dynamic programme allows.
 * Policies see the mismatch signal K (the exact KL of the case) as obs.divergence and
 * pe[r][k] of the deployed model as obs.loss (loss_K).
 */
#ifndef FPENTROPY_LOSS_OBJECTIVE_H
#define FPENTROPY_LOSS_OBJECTIVE_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>

#include <fpentropy/policy/policy.h>
#include <fpentropy/policy/retrain_cost.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* C_alpha(schedule) directly from pe (schedule[0] is ignored: f_0 is always trained at 0);
 * *n_retrains (may be NULL) receives #{t >= 1 : schedule[t]}. */
FP_API double fp_loss_objective(const double *pe, size_t T, double alpha, const bool *schedule,
                         size_t *n_retrains);

typedef struct fp_loss_problem {
  size_t T;
  double *Kp, *D0, *dt, *loss_K, *loss0; /* owned */
  double constant;                       /* sum_{k>=1} pe[k][k] */
  const double *K_signal;                /* the caller's K (may be NULL) */
  fp_retrain_problem pb;                 /* points into the arrays above and the caller's t, K */
} fp_loss_problem;

/* Build the problem from pe (T*T) and the mismatch signal K (T*T, K[k*T+j] = KL(p_k || p_j);
 * may be NULL: the policies then see divergence 0) at times t (may be NULL).  pe, K and t
 * must outlive the problem (the divergence signals point into K).
 * Returns FP_OK, FP_ERR_ARG (T < 2, non-finite pe) or FP_ERR_NOMEM. */
FP_API int fp_loss_problem_init(const double *pe, const double *K, const double *t, size_t T,
                         fp_loss_problem *out, fp_error *err);
FP_API void fp_loss_problem_clear(fp_loss_problem *lp);

/* The schedule minimising C_alpha (schedule may be NULL) and its cost. */
FP_API int fp_loss_oracle(const fp_loss_problem *lp, double alpha, bool *schedule, double *cost,
                   size_t *n_retrains, fp_error *err);

/* Run `policy` on the problem (loss and divergence channels as above) and score its schedule
 * with C_alpha. */
FP_API int fp_loss_policy_run(fp_policy *policy, const fp_loss_problem *lp, double alpha, bool *schedule,
                       double *cost, size_t *n_retrains, fp_error *err);

/* out ((T-first)^2) = pe[first.., first..]: the problem whose initial model is f_first. */
FP_API void fp_loss_submatrix(const double *pe, size_t T, size_t first, double *out);

/* Trapezoid area under cost(alpha) over n >= 2 increasing alphas (paper 001's AUC). */
FP_API double fp_loss_auc(const double *alpha, const double *cost, size_t n);

/* UPF (paper 001, Section 4; docs/streams.md states the choices).
 *   offline   w >= 2: periods 0..w-1 are offline; every pe[i][j], i <= j < w, is known (a model
 *             trained at each offline period).  Decisions are made at t = w..T-1; the deployed
 *             model at the start is f_{w-1} (Regol: "we always train the last offline model").
 *             Score the schedule on the online horizon: fp_loss_submatrix(pe, T, w-1) and
 *             schedule + (w-1), where every other policy and the oracle run as well.
 *   features  r_ij = [i, j, j - i, z_j] (FP_UPF_FULL, the paper's), z_j the l1 distance
 *             between the feature means of periods j and j-1 (z given by the caller; NULL: 0);
 *             or [j - i, z_j] (FP_UPF_AGE, the default).  Why the default drops i and j: a
 *             fresh model is only ever seen at the offline periods and at past retrains, so a
 *             linear model in i extrapolates from i <= w-1 to i = t; over the paper's online
 *             phases (about 8 steps) that is harmless, over 190 steps it predicts absurd
 *             losses for a fresh model and UPF never retrains (seen on
 *             classifier_stream_pde_1d.ini).  The age model assumes a fresh model's loss is
 *             stationary: the premise of retraining;
 *   mu        ridge regression (linear, intercept, standardised features, penalty `ridge`) of
 *             a = pe / scale on r; sigma^2 = the mean squared residual (floor 1e-8);
 *   Beta      moment-matched: s = mu(1-mu)/sigma^2 - 1, Beta(mu s, (1-mu) s) (mu clipped to
 *             [1e-6, 1-1e-6]; Beta(1, 1) when sigma^2 >= mu(1-mu));
 *   decision  at t with deployed model i, over the horizon tau = t..min(t+H, T)-1:
 *             keep    = scale * Q_delta(sum_tau A_{i,tau}),
 *             retrain = alpha + scale * Q_delta(sum_tau A_{t,tau}),
 *             retrain iff retrain < keep.  H = 1: the Beta quantile (bisection; the normal one
 *             when a + b > 1e5); H > 1: the normal
 *             quantile of the sum of independent Betas (mean sum mu, variance sum var);
 *   online    after period t the loss pe[r(t)][t] of the served model joins the data.
 * scale = 0 means 4 max_{i<=j<w} pe[i][j] (log loss is unbounded; values above the scale are
 * clipped).  schedule (T) receives the retrains (none before w). */
typedef enum fp_upf_features {
  FP_UPF_AGE = 0, /* r = [j - i, z]: the default (see above) */
  FP_UPF_FULL     /* r = [i, j, j - i, z], the paper's */
} fp_upf_features;

typedef struct fp_upf_options {
  size_t offline;   /* w */
  double delta;     /* quantile level (paper: 0.95) */
  size_t horizon;   /* H >= 1 */
  double ridge;     /* > 0: the features i, j, j-i are collinear */
  double scale;     /* 0: automatic (above) */
  fp_upf_features features;
} fp_upf_options;

/* Run UPF (described above) on the T x T performance matrix pe with shift
 * scores z (T; may be NULL: 0) at retrain cost alpha; schedule (T) receives
 * the retrains.  Returns FP_OK, FP_ERR_ARG (bad options or sizes), a fit's
 * error, FP_ERR_NOMEM. */
FP_API int fp_upf_run(const double *pe, size_t T, const double *z, double alpha, const fp_upf_options *o,
               bool *schedule, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_LOSS_OBJECTIVE_H */
