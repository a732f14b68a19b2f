/* fpentropy: the CUSUM policy (Page 1954; Katz 2026, Section 6.3(d)).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Page's tabular recursion S_k = max(0, S_{k-1} + x_k - k_ref), retrain when
 * S_k > h, S <- 0 on retrain.  x_k is chosen by `signal`: the loss signal
 * when the observation carries one and the divergence otherwise (auto), or
 * always one of them.  Katz's CUSUM is k_ref = 0, increment=positive on the
 * score gap (his x = max(score gap, 0)). */
#include <fpentropy/policy/policy.h>

#include <math.h>

#include "core/error_impl.h"

enum { CUSUM_K_REF, CUSUM_H, CUSUM_SIGNAL, CUSUM_INCREMENT };
enum { SIGNAL_AUTO, SIGNAL_DIVERGENCE, SIGNAL_LOSS };

static const fp_policy_param cusum_params[] = {
    {"k_ref", FP_POLICY_PARAM_REAL, "0", -INFINITY, INFINITY, 0, NULL,
     "reference value (drift allowance) subtracted from every increment"},
    {"h", FP_POLICY_PARAM_REAL, NULL, 0, INFINITY, 0, NULL,
     "decision interval: retrain when the sum exceeds h"},
    {"signal", FP_POLICY_PARAM_CHOICE, "auto", 0, 0, 0, "auto|divergence|loss",
     "increments: the loss when given (auto), the divergence, or the loss"},
    {"increment", FP_POLICY_PARAM_CHOICE, "raw", 0, 0, 0, "raw|positive",
     "use the signal as it is (raw) or its positive part max(x, 0) (positive: Katz's CUSUM "
     "on the score gap, which never decreases within a spell)"},
};

typedef struct cusum_state {
  double S;
} cusum_state;

static int cusum_observe(void *state, const fp_policy_values *v, const fp_policy_obs *obs,
                         bool *retrain, double *statistic, double *threshold, fp_error *err)
{
  cusum_state *s = state;
  int signal = (int)v->num[CUSUM_SIGNAL];
  double x;
  if (signal == SIGNAL_LOSS && !obs->has_loss)
    return fp_fail(err, FP_ERR_ARG, "policy cusum with signal=loss needs a loss signal, and "
                   "period %zu has none", obs->period);
  if (signal == SIGNAL_DIVERGENCE || (signal == SIGNAL_AUTO && !obs->has_loss))
    x = obs->divergence;
  else
    x = obs->loss;
  if ((int)v->num[CUSUM_INCREMENT] == 1 && x < 0.0) x = 0.0;
  double S = s->S + x - v->num[CUSUM_K_REF];
  s->S = S > 0.0 ? S : 0.0;
  *statistic = s->S;
  *threshold = v->num[CUSUM_H];
  *retrain = s->S > v->num[CUSUM_H];
  return FP_OK;
}

static void cusum_reset(void *state, const fp_policy_values *v)
{
  (void)v;
  cusum_state *s = state;
  s->S = 0.0;
}

const fp_policy_type fp_policy_type_cusum = {
    .name = "cusum",
    .summary = "Page CUSUM: S = max(0, S + x - k_ref), retrain when S > h; x is the loss when "
               "given, else the divergence (see signal)",
    .source = "Page 1954 (tabular form); Katz 2026 Section 6.3(d) (k_ref = 0, S <- 0 on retrain)",
    .statistic = "S",
    .params = cusum_params,
    .nparams = sizeof cusum_params / sizeof cusum_params[0],
    .state_size = sizeof(cusum_state),
    .init = NULL,
    .observe = cusum_observe,
    .reset = cusum_reset,
    .destroy = NULL,
};
