/* fpentropy: the simple retraining policies: none, calendar, threshold and
 * performance.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/policy/policy.h>

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error_impl.h"

/* ------------------------------------------------------------------------ */
/* none: never retrain (000 Section 5.1, "No retraining")                   */
/* ------------------------------------------------------------------------ */

static int none_observe(void *state, const fp_policy_values *v, const fp_policy_obs *obs,
                        bool *retrain, double *statistic, double *threshold, fp_error *err)
{
  (void)state;
  (void)v;
  (void)err;
  *statistic = obs->divergence;
  *threshold = INFINITY;
  *retrain = false;
  return FP_OK;
}

const fp_policy_type fp_policy_type_none = {
    .name = "none",
    .summary = "never retrain (the frozen deployment)",
    .source = "000 Section 5.1 (no retraining); Katz 2026 v2 'never'",
    .statistic = "D",
    .params = NULL,
    .nparams = 0,
    .state_size = 0,
    .init = NULL,
    .observe = none_observe,
    .reset = NULL,
    .destroy = NULL,
};

/* ------------------------------------------------------------------------ */
/* calendar: retrain iff period > 0 and period mod k == 0                   */
/* ------------------------------------------------------------------------ */

enum { CAL_K };

static const fp_policy_param calendar_params[] = {
    {"k", FP_POLICY_PARAM_INT, "10", 1, INFINITY, 0, NULL,
     "interval in periods: retrain at periods k, 2k, 3k, ... (absolute clock)"},
};

static int calendar_observe(void *state, const fp_policy_values *v, const fp_policy_obs *obs,
                            bool *retrain, double *statistic, double *threshold, fp_error *err)
{
  (void)state;
  (void)err;
  size_t k = (size_t)v->num[CAL_K];
  *statistic = (double)(obs->period % k);
  *threshold = NAN;
  *retrain = obs->period > 0 && obs->period % k == 0;
  return FP_OK;
}

const fp_policy_type fp_policy_type_calendar = {
    .name = "calendar",
    .summary = "retrain at periods k, 2k, 3k, ... of the absolute clock (not time since the "
               "last retrain); period 0 never retrains",
    .source = "Katz 2026 Section 6.3(c) and replication code (t mod T_c == 0); 000 Section 5.1 "
              "(daily/weekly)",
    .statistic = "period mod k",
    .params = calendar_params,
    .nparams = sizeof calendar_params / sizeof calendar_params[0],
    .state_size = 0,
    .init = NULL,
    .observe = calendar_observe,
    .reset = NULL,
    .destroy = NULL,
};

/* ------------------------------------------------------------------------ */
/* threshold: retrain iff D > tau (000 Section 4, entropy-triggered)        */
/* ------------------------------------------------------------------------ */

enum { THR_TAU };

static const fp_policy_param threshold_params[] = {
    {"tau", FP_POLICY_PARAM_REAL, NULL, 0, INFINITY, 0, NULL,
     "tolerable mismatch (nats): retrain when the divergence exceeds it"},
};

static int threshold_observe(void *state, const fp_policy_values *v, const fp_policy_obs *obs,
                             bool *retrain, double *statistic, double *threshold, fp_error *err)
{
  (void)state;
  (void)err;
  *statistic = obs->divergence;
  *threshold = v->num[THR_TAU];
  *retrain = obs->divergence > v->num[THR_TAU];
  return FP_OK;
}

const fp_policy_type fp_policy_type_threshold = {
    .name = "threshold",
    .summary = "entropy-triggered: retrain when the divergence since the last retrain exceeds tau",
    .source = "000 Sections 4-5 (entropy-triggered retraining)",
    .statistic = "D",
    .params = threshold_params,
    .nparams = sizeof threshold_params / sizeof threshold_params[0],
    .state_size = 0,
    .init = NULL,
    .observe = threshold_observe,
    .reset = NULL,
    .destroy = NULL,
};

/* ------------------------------------------------------------------------ */
/* performance: retrain iff loss > baseline + margin (000 Section 5.1)      */
/* ------------------------------------------------------------------------ */

enum { PERF_MARGIN, PERF_BASELINE };

static const fp_policy_param performance_params[] = {
    {"margin", FP_POLICY_PARAM_REAL, NULL, 0, INFINITY, 0, NULL,
     "tolerated loss increase over the spell's baseline"},
    {"baseline_periods", FP_POLICY_PARAM_INT, "1", 1, INFINITY, 0, NULL,
     "the baseline is the mean loss of the first this many periods of a spell"},
};

typedef struct perf_state {
  size_t n;      /* baseline periods seen in this spell */
  double sum;    /* their loss sum */
} perf_state;

static int performance_observe(void *state, const fp_policy_values *v, const fp_policy_obs *obs,
                               bool *retrain, double *statistic, double *threshold,
                               fp_error *err)
{
  perf_state *s = state;
  if (!obs->has_loss)
    return fp_fail(err, FP_ERR_ARG, "policy performance needs a loss signal, and period %zu "
                   "has none", obs->period);
  size_t m = (size_t)v->num[PERF_BASELINE];
  *statistic = obs->loss;
  if (s->n < m) { /* still measuring the fresh model's loss: wait */
    s->n++;
    s->sum += obs->loss;
    *threshold = NAN;
    *retrain = false;
    return FP_OK;
  }
  *threshold = s->sum / (double)m + v->num[PERF_MARGIN];
  *retrain = obs->loss > *threshold;
  return FP_OK;
}

static void performance_reset(void *state, const fp_policy_values *v)
{
  (void)v;
  perf_state *s = state;
  s->n = 0;
  s->sum = 0.0;
}

const fp_policy_type fp_policy_type_performance = {
    .name = "performance",
    .summary = "label-based: retrain when the loss exceeds the spell's baseline (mean loss of "
               "its first baseline_periods periods) by more than margin",
    .source = "000 Section 5.1 (performance-triggered retraining)",
    .statistic = "loss",
    .params = performance_params,
    .nparams = sizeof performance_params / sizeof performance_params[0],
    .state_size = sizeof(perf_state),
    .init = NULL,
    .observe = performance_observe,
    .reset = performance_reset,
    .destroy = NULL,
};
