/* fpentropy: the alarm-only policy (Katz 2026, Section 6.3(e)).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Retrain at period k iff the spell holds at least min_history earlier
 * divergences and D_k > Quantile_q(those divergences), the quantile computed
 * before D_k is appended (R's default type 7, as the replication code's
 * quantile(..., type = 7)).  The history is the current deployment spell's:
 * it is cleared on retrain, and the divergence of the retrain period belongs
 * to the old spell. */
#include <fpentropy/policy/policy.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

enum { ALARM_Q, ALARM_MIN_HISTORY };

static const fp_policy_param alarm_params[] = {
    {"q", FP_POLICY_PARAM_REAL, "0.9", 0, 1, 0, NULL,
     "quantile level of the spell's past divergences that D must exceed"},
    {"min_history", FP_POLICY_PARAM_INT, "10", 1, INFINITY, 0, NULL,
     "no alarm before the spell holds this many past divergences"},
};

typedef struct alarm_state {
  double *sorted; /* the spell's past divergences, ascending */
  size_t n, cap;
} alarm_state;

/* Type-7 quantile of x[0..n-1] (ascending, n >= 1):
 * h = (n - 1) q, Q = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]). */
static double quantile_type7(const double *x, size_t n, double q)
{
  double h = (double)(n - 1) * q;
  size_t lo = (size_t)floor(h);
  if (lo >= n - 1) return x[n - 1];
  double frac = h - (double)lo;
  return x[lo] + frac * (x[lo + 1] - x[lo]);
}

/* Insert x keeping the array ascending. */
static int alarm_append(alarm_state *s, double x, fp_error *err)
{
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    double *grown = realloc(s->sorted, cap * sizeof *grown);
    if (!grown) return fp_fail(err, FP_ERR_NOMEM, "policy alarm: out of memory");
    s->sorted = grown;
    s->cap = cap;
  }
  size_t i = s->n;
  while (i > 0 && s->sorted[i - 1] > x) {
    s->sorted[i] = s->sorted[i - 1];
    i--;
  }
  s->sorted[i] = x;
  s->n++;
  return FP_OK;
}

static int alarm_observe(void *state, const fp_policy_values *v, const fp_policy_obs *obs,
                         bool *retrain, double *statistic, double *threshold, fp_error *err)
{
  alarm_state *s = state;
  size_t min_history = (size_t)v->num[ALARM_MIN_HISTORY];
  double thr = s->n >= min_history ? quantile_type7(s->sorted, s->n, v->num[ALARM_Q]) : INFINITY;
  int rc = alarm_append(s, obs->divergence, err);
  if (rc != FP_OK) return rc;
  *statistic = obs->divergence;
  *threshold = thr;
  *retrain = obs->divergence > thr;
  return FP_OK;
}

static void alarm_reset(void *state, const fp_policy_values *v)
{
  (void)v;
  alarm_state *s = state;
  s->n = 0;
}

static void alarm_destroy(void *state)
{
  alarm_state *s = state;
  free(s->sorted);
  s->sorted = NULL;
  s->n = s->cap = 0;
}

const fp_policy_type fp_policy_type_alarm = {
    .name = "alarm",
    .summary = "alarm-only: retrain when D exceeds the q-quantile (type 7) of the spell's past "
               "divergences, once it holds min_history of them",
    .source = "Katz 2026 Section 6.3(e) and replication code (rolling 90th percentile, >= 10 "
              "points, history cleared on retrain)",
    .statistic = "D",
    .params = alarm_params,
    .nparams = sizeof alarm_params / sizeof alarm_params[0],
    .state_size = sizeof(alarm_state),
    .init = NULL,
    .observe = alarm_observe,
    .reset = alarm_reset,
    .destroy = alarm_destroy,
};
