/* fpentropy tests: paper 001's objective on a performance matrix: the oracle against brute
 * force (T <= 12), policies scored through the reduction against the direct objective, the AUC,
 * and UPF's decisions on hand-made matrices.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/policy/loss_objective.h>
#include <fpentropy/policy/policy.h>

#include "test_support.h"

static double uniform(unsigned long long *s)
{
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(*s >> 11) / 9007199254740992.0;
}

/* A drifting pe: loss grows with the model's age plus noise, and some
 * older models better than newer ones (negative K'). */
static void random_pe(size_t T, unsigned long long seed, double *pe)
{
  for (size_t i = 0; i < T; i++)
    for (size_t j = 0; j < T; j++)
      pe[i * T + j] = 0.3 + 0.04 * fabs((double)j - (double)i) + 0.05 * uniform(&seed);
}

static void test_oracle_brute_force(void **state)
{
  (void)state;
  const double alphas[] = {0.0, 0.02, 0.1, 0.5, 3.0};
  for (size_t T = 2; T <= 12; T++) {
    double *pe = malloc(T * T * sizeof *pe);
    random_pe(T, 1000 + T, pe);
    fp_loss_problem lp;
    assert_int_equal(fp_loss_problem_init(pe, NULL, NULL, T, &lp, NULL), FP_OK);
    bool sched[12], best_sched[12];
    for (size_t ai = 0; ai < sizeof alphas / sizeof alphas[0]; ai++) {
      double best = INFINITY;
      for (unsigned long mask = 0; mask < (1ul << (T - 1)); mask++) {
        sched[0] = false;
        for (size_t t = 1; t < T; t++) sched[t] = (mask >> (t - 1)) & 1u;
        double c = fp_loss_objective(pe, T, alphas[ai], sched, NULL);
        if (c < best) best = c, memcpy(best_sched, sched, sizeof sched);
      }
      double oc;
      size_t n;
      bool os[12];
      assert_int_equal(fp_loss_oracle(&lp, alphas[ai], os, &oc, &n, NULL), FP_OK);
      assert_close(oc, best, 1e-12, 1e-12);
      /* the oracle's schedule has that cost under the direct objective */
      assert_close(fp_loss_objective(pe, T, alphas[ai], os, NULL), best, 1e-12, 1e-12);
    }
    fp_loss_problem_clear(&lp);
    free(pe);
  }
}

/* Policies through the reduction: the cost reported equals the direct
 * objective of the schedule they chose, and none beats the oracle. */
static void test_policy_cost_is_objective(void **state)
{
  (void)state;
  const size_t T = 30;
  double pe[30 * 30];
  random_pe(T, 42, pe);
  fp_loss_problem lp;
  assert_int_equal(fp_loss_problem_init(pe, NULL, NULL, T, &lp, NULL), FP_OK);
  const char *specs[] = {"none", "calendar:k=3", "performance:margin=0.05", "cusum:h=0.5,k_ref=0.35,signal=loss"};
  const double alpha = 0.1;
  double oracle;
  assert_int_equal(fp_loss_oracle(&lp, alpha, NULL, &oracle, NULL, NULL), FP_OK);
  for (size_t q = 0; q < 4; q++) {
    fp_policy *p = NULL;
    assert_int_equal(fp_policy_create(specs[q], &p, NULL), FP_OK);
    bool sched[30];
    double cost;
    size_t n, n2;
    assert_int_equal(fp_loss_policy_run(p, &lp, alpha, sched, &cost, &n, NULL), FP_OK);
    assert_close(cost, fp_loss_objective(pe, T, alpha, sched, &n2), 1e-12, 0.0);
    assert_int_equal(n, n2);
    assert_true(cost >= oracle - 1e-12);
    fp_policy_destroy(&p);
  }
  /* the performance rule saw pe[r][k] as its loss: replay it */
  fp_policy *p = NULL;
  assert_int_equal(fp_policy_create("performance:margin=0.05", &p, NULL), FP_OK);
  bool sched[30];
  assert_int_equal(fp_loss_policy_run(p, &lp, alpha, sched, NULL, NULL, NULL), FP_OK);
  size_t r = 0;
  double base = NAN;
  for (size_t k = 0; k < T; k++) {
    double loss = pe[r * T + k];
    bool retrain = false;
    if (isnan(base))
      base = loss;
    else
      retrain = loss > base + 0.05;
    assert_int_equal(sched[k], retrain);
    if (retrain) r = k, base = NAN;
  }
  fp_policy_destroy(&p);
  fp_loss_problem_clear(&lp);
}

static void test_auc(void **state)
{
  (void)state;
  const double a[4] = {0.0, 0.1, 0.3, 1.0}, c[4] = {1.0, 1.2, 1.6, 3.0}; /* c = 1 + 2 a */
  assert_close(fp_loss_auc(a, c, 4), 1.0 + 1.0, 1e-15, 0.0);
}

/* UPF on pe[i][j] = 0.1 + 0.02 (j - i): the regression is exact, sigma is at
 * its floor, and with horizon 1 the rule retrains iff 0.02 (t - i) > alpha:
 * with alpha = 0.05 every third period from the last offline model (w - 1). */
static void test_upf_hand_made(void **state)
{
  (void)state;
  const size_t T = 20, w = 4;
  double pe[20 * 20];
  for (size_t i = 0; i < T; i++)
    for (size_t j = 0; j < T; j++) pe[i * T + j] = 0.1 + 0.02 * fabs((double)j - (double)i);
  fp_upf_options o = {.offline = w, .delta = 0.95, .horizon = 1, .ridge = 1e-9, .scale = 1.0};
  bool s[20];
  assert_int_equal(fp_upf_run(pe, T, NULL, 0.05, &o, s, NULL), FP_OK);
  for (size_t t = 0; t < T; t++) {
    bool expect = t >= 6 && (t - 6) % 3 == 0;
    if (s[t] != expect) fail_msg("UPF at t = %zu: %d, expected %d", t, s[t], expect);
  }
  /* the paper's features [i, j, j - i, z] fit this matrix exactly too */
  o.features = FP_UPF_FULL;
  assert_int_equal(fp_upf_run(pe, T, NULL, 0.05, &o, s, NULL), FP_OK);
  for (size_t t = 0; t < T; t++) assert_int_equal(s[t], t >= 6 && (t - 6) % 3 == 0);
  o.features = FP_UPF_AGE;
  /* alpha = 0.03: retrain at age 2; alpha above every gain: never */
  assert_int_equal(fp_upf_run(pe, T, NULL, 0.03, &o, s, NULL), FP_OK);
  for (size_t t = 0; t < T; t++) assert_int_equal(s[t], t >= 5 && (t - 5) % 2 == 0);
  assert_int_equal(fp_upf_run(pe, T, NULL, 10.0, &o, s, NULL), FP_OK);
  for (size_t t = 0; t < T; t++) assert_false(s[t]);
  /* horizon 4: the gain of a retrain at age g over the next 4 periods is
   * 4 * 0.02 g; with alpha = 0.1 it exceeds alpha from g = 2 (0.16 > 0.1;
   * g = 1 gives 0.08) -- the horizon is cut at T, where the gain shrinks */
  o.horizon = 4;
  assert_int_equal(fp_upf_run(pe, T, NULL, 0.1, &o, s, NULL), FP_OK);
  size_t dep = w - 1;
  for (size_t t = w; t < T; t++) {
    size_t H = t + 4 < T ? 4 : T - t;
    bool expect = 0.02 * (double)(t - dep) * (double)H > 0.1;
    if (s[t] != expect) fail_msg("UPF (H = 4) at t = %zu: %d, expected %d", t, s[t], expect);
    if (expect) dep = t;
  }
}

/* Uncertainty: the same mean gain, a noisier history.  With residual noise
 * the delta-quantiles of keep and retrain both move up by about the same
 * amount, so the decision at a clear gain stays; bad options are refused. */
static void test_upf_errors(void **state)
{
  (void)state;
  double pe[16] = {0};
  bool s[4];
  fp_upf_options o = {.offline = 1, .delta = 0.95, .horizon = 1, .ridge = 1e-6, .scale = 0};
  fp_error err;
  fp_error_clear(&err);
  assert_int_equal(fp_upf_run(pe, 4, NULL, 0.1, &o, s, &err), FP_ERR_ARG);
  o.offline = 2;
  assert_int_equal(fp_upf_run(pe, 4, NULL, 0.1, &o, s, &err), FP_ERR_ARG); /* all losses 0 */
  assert_non_null(strstr(err.message, "offline losses"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_oracle_brute_force),
      cmocka_unit_test(test_policy_cost_is_objective),
      cmocka_unit_test(test_auc),
      cmocka_unit_test(test_upf_hand_made),
      cmocka_unit_test(test_upf_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
