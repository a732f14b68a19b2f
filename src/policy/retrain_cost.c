/* fpentropy: the cost of a retraining schedule, policies on exact data, and
 * the excess-loss accounting.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/policy/retrain_cost.h>

#include <math.h>
#include <stdint.h>

#include "core/error_impl.h"

/* "No retrain yet". */
#define NO_RETRAIN FP_RETRAIN_NONE

/* ------------------------------------------------------------------------ */
/* The problem                                                              */
/* ------------------------------------------------------------------------ */

static double weight(const fp_retrain_problem *pb, size_t k)
{
  return pb->dt ? pb->dt[k] : pb->dt_const;
}

/* The mismatch of the model deployed at `last` (or the case's q_ref) at
 * period k, before k's action. */
static double observed_at(const fp_retrain_problem *pb, size_t k, size_t last)
{
  if (last == NO_RETRAIN) return pb->D0 ? pb->D0[k] : (k == 0 ? 0.0 : pb->K[k * pb->T]);
  return pb->K[k * pb->T + last];
}

int fp_retrain_problem_check(const fp_retrain_problem *pb, fp_error *err)
{
  if (!pb) return fp_fail(err, FP_ERR_ARG, "retraining problem is NULL");
  size_t T = pb->T;
  if (T == 0) return fp_fail(err, FP_ERR_ARG, "retraining problem has no period (T = 0)");
  if (!pb->K) return fp_fail(err, FP_ERR_ARG, "retraining problem: the matrix K is NULL");
  if (T > SIZE_MAX / T)
    return fp_fail(err, FP_ERR_ARG, "retraining problem: T = %zu is too large", T);
  for (size_t k = 0; k < T; k++)
    for (size_t j = 0; j < k; j++)
      if (!isfinite(pb->K[k * T + j]))
        return fp_fail(err, FP_ERR_ARG, "retraining problem: K[%zu][%zu] = %g is not finite", k,
                       j, pb->K[k * T + j]);
  for (size_t k = 0; k < T; k++) {
    if (pb->D0 && !isfinite(pb->D0[k]))
      return fp_fail(err, FP_ERR_ARG, "retraining problem: D0[%zu] = %g is not finite", k,
                     pb->D0[k]);
    double w = weight(pb, k);
    if (!(w >= 0.0) || !isfinite(w))
      return fp_fail(err, FP_ERR_ARG, "retraining problem: the weight dt of period %zu is %g; "
                     "it must be finite and >= 0", k, w);
    if (pb->t && !isfinite(pb->t[k]))
      return fp_fail(err, FP_ERR_ARG, "retraining problem: t[%zu] = %g is not finite", k,
                     pb->t[k]);
  }
  if (pb->loss_K) {
    if (!pb->loss0)
      return fp_fail(err, FP_ERR_ARG, "retraining problem: loss_K is given without loss0");
    for (size_t k = 0; k < T; k++) {
      if (!isfinite(pb->loss0[k]))
        return fp_fail(err, FP_ERR_ARG, "retraining problem: loss0[%zu] = %g is not finite", k,
                       pb->loss0[k]);
      for (size_t j = 0; j < k; j++)
        if (!isfinite(pb->loss_K[k * T + j]))
          return fp_fail(err, FP_ERR_ARG, "retraining problem: loss_K[%zu][%zu] = %g is not "
                         "finite", k, j, pb->loss_K[k * T + j]);
    }
  }
  return FP_OK;
}

static int check_cost(double c, fp_error *err)
{
  if (!(c >= 0.0) || !isfinite(c))
    return fp_fail(err, FP_ERR_ARG, "the retrain cost c = %g must be finite and >= 0", c);
  return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* One walk over the periods, shared by the evaluator and the policy runner */
/* ------------------------------------------------------------------------ */

/* Decide period k given what is deployed (last) and what it costs now. */
typedef int (*decide_fn)(void *ctx, const fp_retrain_problem *pb, size_t k, size_t last,
                         double observed, bool *retrain, fp_error *err);

static int walk(const fp_retrain_problem *pb, double c, decide_fn decide, void *ctx,
                bool *schedule, double *observed, double *mismatch, fp_retrain_cost *out,
                fp_error *err)
{
  size_t last = NO_RETRAIN;
  size_t n = 0;
  double integral = 0.0;
  for (size_t k = 0; k < pb->T; k++) {
    double seen = observed_at(pb, k, last);
    bool retrain = false;
    int rc = decide(ctx, pb, k, last, seen, &retrain, err);
    if (rc != FP_OK) return rc;
    double m = retrain ? 0.0 : seen; /* same-period action: K[k][k] = 0 */
    if (retrain) {
      n++;
      last = k;
    }
    integral += m * weight(pb, k);
    if (schedule) schedule[k] = retrain;
    if (observed) observed[k] = seen;
    if (mismatch) mismatch[k] = m;
  }
  if (out) {
    out->n_retrains = n;
    out->mismatch_integral = integral;
    out->cost = c * (double)n + integral;
  }
  return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* Schedules                                                                */
/* ------------------------------------------------------------------------ */

static int decide_from_schedule(void *ctx, const fp_retrain_problem *pb, size_t k, size_t last,
                                double observed, bool *retrain, fp_error *err)
{
  (void)pb;
  (void)last;
  (void)observed;
  (void)err;
  const bool *schedule = ctx;
  *retrain = schedule[k];
  return FP_OK;
}

int fp_retrain_evaluate(const fp_retrain_problem *pb, double c, const bool *schedule,
                        double *observed, double *mismatch, fp_retrain_cost *out, fp_error *err)
{
  int rc = fp_retrain_problem_check(pb, err);
  if (rc != FP_OK) return rc;
  rc = check_cost(c, err);
  if (rc != FP_OK) return rc;
  if (!schedule || !out)
    return fp_fail(err, FP_ERR_ARG, "fp_retrain_evaluate: schedule or out is NULL");
  return walk(pb, c, decide_from_schedule, (void *)schedule, NULL, observed, mismatch, out, err);
}

/* ------------------------------------------------------------------------ */
/* Policies on exact data                                                   */
/* ------------------------------------------------------------------------ */

typedef struct policy_run {
  fp_policy *policy;
  fp_policy_signal_fn signal; /* NULL: the exact mismatch */
  void *ctx;
} policy_run;

static int decide_from_policy(void *ctx, const fp_retrain_problem *pb, size_t k, size_t last,
                              double observed, bool *retrain, fp_error *err)
{
  const policy_run *run = ctx;
  fp_policy_obs obs = {
      .period = k,
      .t = pb->t ? pb->t[k] : (double)k,
      .divergence = observed,
      .has_loss = pb->loss_K != NULL,
      .loss = 0.0,
  };
  if (pb->loss_K) obs.loss = last == NO_RETRAIN ? pb->loss0[k] : pb->loss_K[k * pb->T + last];
  if (run->signal) {
    int rc = run->signal(run->ctx, k, last, observed, &obs, err);
    if (rc != FP_OK)
      return fp_fail_context(err, rc, "the signal for policy %s, period %zu",
                             fp_policy_name(run->policy), k);
  }
  int rc = fp_policy_observe(run->policy, &obs, retrain, err);
  if (rc != FP_OK)
    return fp_fail_context(err, rc, "running policy %s, period %zu", fp_policy_name(run->policy),
                           k);
  return FP_OK;
}

int fp_policy_run_signal(fp_policy *policy, const fp_retrain_problem *pb, double c,
                         fp_policy_signal_fn signal, void *ctx, bool *schedule,
                         double *observed, double *mismatch, fp_retrain_cost *out,
                         fp_error *err)
{
  if (!policy || !schedule || !out)
    return fp_fail(err, FP_ERR_ARG, "running a policy: policy, schedule or out is NULL");
  int rc = fp_retrain_problem_check(pb, err);
  if (rc != FP_OK) return rc;
  rc = check_cost(c, err);
  if (rc != FP_OK) return rc;
  fp_policy_reset(policy);
  policy_run run = {.policy = policy, .signal = signal, .ctx = ctx};
  return walk(pb, c, decide_from_policy, &run, schedule, observed, mismatch, out, err);
}

int fp_policy_run_exact(fp_policy *policy, const fp_retrain_problem *pb, double c,
                        bool *schedule, double *observed, double *mismatch,
                        fp_retrain_cost *out, fp_error *err)
{
  return fp_policy_run_signal(policy, pb, c, NULL, NULL, schedule, observed, mismatch, out, err);
}

/* ------------------------------------------------------------------------ */
/* Excess loss                                                              */
/* ------------------------------------------------------------------------ */

int fp_stale_states(const double *observed, size_t T, double delta_stale, int *Z, fp_error *err)
{
  if (!observed || !Z || T == 0)
    return fp_fail(err, FP_ERR_ARG, "fp_stale_states: NULL array or T = 0");
  if (!isfinite(delta_stale))
    return fp_fail(err, FP_ERR_ARG, "fp_stale_states: delta_stale = %g is not finite",
                   delta_stale);
  for (size_t k = 0; k < T; k++) {
    if (!isfinite(observed[k]))
      return fp_fail(err, FP_ERR_ARG, "fp_stale_states: observed[%zu] = %g is not finite", k,
                     observed[k]);
    Z[k] = observed[k] > delta_stale ? 1 : 0;
  }
  return FP_OK;
}

int fp_excess_loss_compute(const bool *schedule, const int *Z, size_t T, double kappa,
                           fp_excess_loss *out, fp_error *err)
{
  if (!schedule || !Z || !out || T == 0)
    return fp_fail(err, FP_ERR_ARG, "fp_excess_loss_compute: NULL argument or T = 0");
  if (!(kappa > 0.0) || !isfinite(kappa))
    return fp_fail(err, FP_ERR_ARG, "fp_excess_loss_compute: kappa = %g must be finite and > 0",
                   kappa);
  fp_excess_loss r = {.kappa = kappa, .c_churn = kappa / (1.0 + kappa),
                      .c_wait = 1.0 / (1.0 + kappa)};
  for (size_t k = 0; k < T; k++) {
    if (Z[k] != 0 && Z[k] != 1)
      return fp_fail(err, FP_ERR_ARG, "fp_excess_loss_compute: Z[%zu] = %d is not 0 or 1", k,
                     Z[k]);
    if (Z[k]) r.n_stale++;
    if (schedule[k] && !Z[k]) r.n_unnecessary++;
    if (!schedule[k] && Z[k]) r.n_stale_wait++;
  }
  r.loss = r.c_churn * (double)r.n_unnecessary + r.c_wait * (double)r.n_stale_wait;
  *out = r;
  return FP_OK;
}
