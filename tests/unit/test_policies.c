/* fpentropy tests: retraining policies (policy.h), where the right decisions
 * are known by hand.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fpentropy/policy/policy.h>
#include <fpentropy/policy/retrain_cost.h>

#include "test_support.h"

/* ---- helpers ------------------------------------------------------------ */

static fp_policy *make(const char *spec)
{
  fp_policy *p = NULL;
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_policy_create(spec, &p, &err);
  if (rc != FP_OK) {
    print_error("policy '%s' did not parse: %s\n", spec, err.message);
    fail();
  }
  return p;
}

/* Expect fp_policy_create(spec) to fail with FP_ERR_ARG and a message that
 * contains every one of the NULL-terminated words. */
static void expect_spec_error(const char *spec, const char *const *words)
{
  fp_policy *p = NULL;
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_policy_create(spec, &p, &err);
  if (rc != FP_ERR_ARG || p != NULL) {
    print_error("spec '%s': expected FP_ERR_ARG, got %d\n", spec, rc);
    fail();
  }
  assert_int_equal(err.code, FP_ERR_ARG);
  for (size_t i = 0; words[i]; i++)
    if (!strstr(err.message, words[i])) {
      print_error("spec '%s': message '%s' does not name '%s'\n", spec, err.message, words[i]);
      fail();
    }
}

/* Feed one divergence and return the decision. */
static bool feed(fp_policy *p, size_t k, double d)
{
  fp_policy_obs obs = {.period = k, .t = (double)k, .divergence = d, .has_loss = false};
  bool r = false;
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_policy_observe(p, &obs, &r, &err);
  if (rc != FP_OK) {
    print_error("observe failed at period %zu: %s\n", k, err.message);
    fail();
  }
  return r;
}

static bool feed_loss(fp_policy *p, size_t k, double d, double loss)
{
  fp_policy_obs obs = {.period = k, .t = (double)k, .divergence = d, .has_loss = true,
                       .loss = loss};
  bool r = false;
  assert_int_equal(fp_policy_observe(p, &obs, &r, NULL), FP_OK);
  return r;
}

/* Deterministic noise in [-1, 1] (a 64-bit LCG; no rand()). */
static double noise(unsigned long long *s)
{
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* ---- registry and specs ----------------------------------------------- */

static void test_registry(void **state)
{
  (void)state;
  const char *names[] = {"none", "calendar", "threshold", "alarm", "cusum", "performance",
                         "debt"};
  assert_int_equal(fp_policy_type_count(), 7);
  for (size_t i = 0; i < 7; i++) {
    const fp_policy_type *t = fp_policy_type_find(names[i]);
    assert_non_null(t);
    assert_ptr_equal(fp_policy_type_at(i), t);
    assert_string_equal(t->name, names[i]);
  }
  assert_null(fp_policy_type_at(7));
  assert_null(fp_policy_type_find("nope"));

  /* --help text names every policy and every parameter. */
  FILE *f = tmpfile();
  assert_non_null(f);
  assert_int_equal(fp_policy_help(f, NULL, NULL), FP_OK);
  long size = ftell(f);
  assert_true(size > 0);
  char *text = calloc((size_t)size + 1, 1);
  rewind(f);
  assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  for (size_t i = 0; i < 7; i++) {
    const fp_policy_type *t = fp_policy_type_at(i);
    assert_non_null(strstr(text, t->name));
    for (size_t j = 0; j < t->nparams; j++) assert_non_null(strstr(text, t->params[j].key));
  }
  assert_non_null(strstr(text, "required"));
  free(text);
  fp_error err;
  assert_int_equal(fp_policy_help(stdout, "nope", &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "nope"));
}

static void test_spec_canonical(void **state)
{
  (void)state;
  struct {
    const char *spec, *canonical;
  } cases[] = {
      {"none", "none"},
      {" none : ", "none"},
      {"calendar", "calendar:k=10"},
      {"calendar:k=7", "calendar:k=7"},
      {"threshold:tau=0.1", "threshold:tau=0.1"},
      {"alarm", "alarm:q=0.9,min_history=10"},
      {"cusum: h = 2 ", "cusum:k_ref=0,h=2,signal=auto,increment=raw"},
      {"cusum:signal=loss,h=4,k_ref=0.25", "cusum:k_ref=0.25,h=4,signal=loss,increment=raw"},
      {"performance:margin=0.05", "performance:margin=0.05,baseline_periods=1"},
      {"debt:mu0=0.1,sigma0=0.02,mu1=1,sigma1=0.2",
       "debt:kappa=1,hazard=0.05,p10=0,mu0=0.1,sigma0=0.02,mu1=1,sigma1=0.2,input=sqrt"},
      {"debt:kappa=2,hazard=0.1,p10=0.02,mu0=0,sigma0=1,mu1=3,sigma1=1e-3",
       "debt:kappa=2,hazard=0.1,p10=0.02,mu0=0,sigma0=1,mu1=3,sigma1=0.001,input=sqrt"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fp_policy *p = make(cases[i].spec);
    assert_string_equal(fp_policy_spec(p), cases[i].canonical);
    /* The canonical spec reads back to itself. */
    fp_policy *q = make(fp_policy_spec(p));
    assert_string_equal(fp_policy_spec(q), cases[i].canonical);
    assert_ptr_equal(fp_policy_get_type(p), fp_policy_get_type(q));
    fp_policy_destroy(&q);
    fp_policy_destroy(&p);
    assert_null(p);
  }
  /* A real that needs 17 digits survives the round trip exactly. */
  fp_policy *p = make("threshold:tau=0.30000000000000004");
  assert_string_equal(fp_policy_spec(p), "threshold:tau=0.30000000000000004");
  fp_policy_destroy(&p);
  fp_policy_destroy(&p); /* NULL is a no-op */
  fp_policy_destroy(NULL);
}

static void test_spec_errors(void **state)
{
  (void)state;
  expect_spec_error("foo:x=1", (const char *[]){"unknown policy", "foo", "calendar", NULL});
  expect_spec_error("", (const char *[]){"no policy name", NULL});
  expect_spec_error(":h=1", (const char *[]){"no policy name", NULL});
  expect_spec_error("cusum:h=1,hh=2", (const char *[]){"cusum", "'hh'", "k_ref, h, signal",
                                                        NULL});
  expect_spec_error("none:k=1", (const char *[]){"none", "'k'", NULL});
  expect_spec_error("alarm:q=1.5", (const char *[]){"alarm", "q = 1.5", "out of range",
                                                     "[0, 1]", NULL});
  expect_spec_error("alarm:min_history=0", (const char *[]){"min_history = 0", ">= 1", NULL});
  expect_spec_error("debt:kappa=0,mu0=0,sigma0=1,mu1=1,sigma1=1",
                    (const char *[]){"kappa = 0", "> 0", NULL});
  expect_spec_error("debt:hazard=-0.1,mu0=0,sigma0=1,mu1=1,sigma1=1",
                    (const char *[]){"hazard = -0.1", "[0, 1]", NULL});
  expect_spec_error("threshold:tau=-1", (const char *[]){"tau = -1", ">= 0", NULL});
  expect_spec_error("cusum:h=abc", (const char *[]){"h = 'abc'", "not a finite real", NULL});
  expect_spec_error("cusum:h=inf", (const char *[]){"h = 'inf'", NULL});
  expect_spec_error("calendar:k=2.5", (const char *[]){"k = '2.5'", "integer", NULL});
  expect_spec_error("cusum:h=1,h=2", (const char *[]){"'h'", "twice", NULL});
  expect_spec_error("cusum", (const char *[]){"'h'", "required", NULL});
  expect_spec_error("threshold", (const char *[]){"'tau'", "required", NULL});
  expect_spec_error("threshold:tau", (const char *[]){"'tau'", "key=value", NULL});
  expect_spec_error("threshold:tau=", (const char *[]){"'tau'", "no value", NULL});
  expect_spec_error("cusum:h=1,,k_ref=0", (const char *[]){"empty item", NULL});
  expect_spec_error("cusum:h=1,signal=score", (const char *[]){"signal", "score",
                                                                "auto|divergence|loss", NULL});
  expect_spec_error("performance", (const char *[]){"'margin'", "required", NULL});
  expect_spec_error("debt", (const char *[]){"debt", "calibration", "mu0, sigma0, mu1, sigma1",
                                             NULL});
  expect_spec_error("debt:mu0=0,sigma0=1", (const char *[]){"missing: mu1, sigma1", NULL});
  expect_spec_error("debt:mu0=0,sigma0=0,mu1=1,sigma1=1", (const char *[]){"sigma0 = 0", "> 0",
                                                                            NULL});

  fp_error err;
  assert_int_equal(fp_policy_create(NULL, &(fp_policy *){NULL}, &err), FP_ERR_ARG);
  assert_int_equal(fp_policy_create("none", NULL, &err), FP_ERR_ARG);
  assert_int_equal(fp_policy_create_type(NULL, NULL, &(fp_policy *){NULL}, &err), FP_ERR_ARG);
  /* A type from outside the registry works through create_type. */
  fp_policy *p = NULL;
  assert_int_equal(fp_policy_create_type(&fp_policy_type_cusum, "h=3", &p, &err), FP_OK);
  assert_string_equal(fp_policy_spec(p), "cusum:k_ref=0,h=3,signal=auto,increment=raw");
  fp_policy_destroy(&p);
}

static void test_observe_errors(void **state)
{
  (void)state;
  fp_policy *p = make("cusum:h=1,signal=loss");
  fp_error err;
  bool r = true;
  fp_policy_obs obs = {.period = 3, .divergence = 0.5, .has_loss = false};
  assert_int_equal(fp_policy_observe(p, &obs, &r, &err), FP_ERR_ARG);
  assert_true(r); /* unchanged on failure */
  assert_non_null(strstr(err.message, "loss"));
  assert_non_null(strstr(err.message, "period 3"));
  obs.divergence = NAN;
  assert_int_equal(fp_policy_observe(p, &obs, &r, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "not finite"));
  obs.divergence = 0.0;
  obs.has_loss = true;
  obs.loss = INFINITY;
  assert_int_equal(fp_policy_observe(p, &obs, &r, &err), FP_ERR_ARG);
  assert_int_equal(fp_policy_observe(NULL, &obs, &r, &err), FP_ERR_ARG);
  assert_int_equal(fp_policy_observe(p, NULL, &r, &err), FP_ERR_ARG);
  assert_int_equal(fp_policy_observe(p, &obs, NULL, &err), FP_ERR_ARG);
  fp_policy_destroy(&p);

  /* Statistic and threshold are NaN before the first observation. */
  p = make("threshold:tau=1");
  double s = 0.0, t = 0.0;
  fp_policy_last(p, &s, &t);
  assert_true(isnan(s) && isnan(t));
  fp_policy_destroy(&p);
}

/* ---- none and calendar ------------------------------------------------- */

static void test_none(void **state)
{
  (void)state;
  fp_policy *p = make("none");
  for (size_t k = 0; k < 200; k++) assert_false(feed(p, k, 1e6 * (double)k));
  fp_policy_destroy(&p);
}

static void test_calendar_counts(void **state)
{
  (void)state;
  fp_policy *p = make("calendar:k=7");
  size_t count = 0;
  for (size_t k = 0; k < 100; k++) {
    bool r = feed(p, k, 0.0);
    assert_int_equal(r, k > 0 && k % 7 == 0);
    count += r;
  }
  assert_int_equal(count, 14); /* 7, 14, ..., 98 */
  /* Absolute clock: an external reset does not move the calendar. */
  fp_policy_reset(p);
  assert_false(feed(p, 100, 0.0));
  assert_true(feed(p, 105, 0.0));
  fp_policy_destroy(&p);

  p = make("calendar:k=1"); /* retrain every period but the first */
  for (size_t k = 0; k < 10; k++) assert_int_equal(feed(p, k, 0.0), k > 0);
  fp_policy_destroy(&p);
}

/* ---- threshold ---------------------------------------------------------- */

/* Two regimes: p(t_k) = A for k < s, B for k >= s; KL(B||A) = step,
 * KL(A||B) = back (never needed).  K[k][j] = 0 within a regime. */
static void two_regime_K(size_t T, size_t s, double step, double back, double *K)
{
  for (size_t k = 0; k < T; k++)
    for (size_t j = 0; j < T; j++) {
      bool bk = k >= s, bj = j >= s;
      K[k * T + j] = bk == bj ? 0.0 : (bk ? step : back);
    }
}

static void test_threshold_step(void **state)
{
  (void)state;
  /* Fed by hand: retrain at the first period above tau, not at tau itself. */
  fp_policy *p = make("threshold:tau=0.5");
  const double d[] = {0.0, 0.2, 0.5, 0.49, 0.51, 0.0, 0.1};
  const bool expect[] = {false, false, false, false, true, false, false};
  for (size_t k = 0; k < 7; k++) {
    assert_int_equal(feed(p, k, d[k]), expect[k]);
    double s, t;
    fp_policy_last(p, &s, &t);
    assert_true(s == d[k] && t == 0.5);
  }
  fp_policy_destroy(&p);

  /* Driven as the driver does it: the step at period 20 is seen at 20, the
   * retrain deploys p(t_20), and from then on the mismatch is 0 again. */
  enum { T = 40 };
  double *K = malloc(T * T * sizeof *K);
  two_regime_K(T, 20, 1.0, 2.0, K);
  fp_retrain_problem pb = {.T = T, .K = K, .dt_const = 1.0};
  bool schedule[T];
  double observed[T], mismatch[T];
  fp_retrain_cost cost;
  p = make("threshold:tau=0.5");
  assert_int_equal(fp_policy_run_exact(p, &pb, 3.0, schedule, observed, mismatch, &cost, NULL),
                   FP_OK);
  for (size_t k = 0; k < T; k++) {
    assert_int_equal(schedule[k], k == 20);
    assert_true(observed[k] == (k == 20 ? 1.0 : 0.0));
    assert_true(mismatch[k] == 0.0);
  }
  assert_int_equal(cost.n_retrains, 1);
  assert_true(cost.cost == 3.0);
  /* With tau above the step it never retrains and pays 20 periods of 1. */
  fp_policy *q = make("threshold:tau=1");
  assert_int_equal(fp_policy_run_exact(q, &pb, 3.0, schedule, NULL, NULL, &cost, NULL), FP_OK);
  assert_int_equal(cost.n_retrains, 0);
  assert_true(cost.mismatch_integral == 20.0);
  fp_policy_destroy(&q);
  fp_policy_destroy(&p);
  free(K);
}

/* ---- cusum -------------------------------------------------------------- */

static void test_cusum_step(void **state)
{
  (void)state;
  /* x = 0 before period 30 and 1.5 from 30 on; k_ref = 0.5 so S grows by
   * exactly 1 a period: S = n after n periods of the step, and the alarm
   * comes when n > h, i.e. floor(h / (1.5 - 0.5)) + 1 periods into the step. */
  struct {
    const char *spec;
    size_t first;
  } cases[] = {
      {"cusum:k_ref=0.5,h=3.5", 30 + 3}, /* n = 4 > 3.5 */
      {"cusum:k_ref=0.5,h=3", 30 + 3},   /* n = 3 is not > 3: n = 4 */
      {"cusum:k_ref=0.5,h=0", 30},       /* the first step period */
      {"cusum:k_ref=0.5,h=9.99", 30 + 9},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    fp_policy *p = make(cases[c].spec);
    size_t h_periods = cases[c].first - 30 + 1; /* periods per alarm */
    for (size_t k = 0; k < 60; k++) {
      double x = k < 30 ? 0.0 : 1.5;
      bool r = feed(p, k, x);
      /* After each alarm S restarts from 0, so alarms repeat every
       * h_periods periods while the step lasts. */
      bool expect = k >= cases[c].first && (k - cases[c].first) % h_periods == 0;
      if (r != expect) {
        print_error("%s: period %zu: got %d\n", cases[c].spec, k, r);
        fail();
      }
      double S;
      fp_policy_last(p, &S, NULL);
      double expect_S = k < 30 ? 0.0 : (double)((k - 30) % h_periods + 1);
      assert_true(S == expect_S);
    }
    fp_policy_destroy(&p);
  }

  /* Katz's form: k_ref = 0 on a non-negative signal accumulates it all. */
  fp_policy *p = make("cusum:h=1");
  assert_false(feed(p, 0, 0.25));
  assert_false(feed(p, 1, 0.25));
  assert_false(feed(p, 2, 0.5)); /* S = 1, not > 1 */
  assert_true(feed(p, 3, 0.125));
  assert_false(feed(p, 4, 0.5)); /* reset: S = 0.5 */
  /* External reset. */
  fp_policy_reset(p);
  assert_false(feed(p, 5, 0.75));
  assert_true(feed(p, 6, 0.5));
  fp_policy_destroy(&p);

  /* signal=auto takes the loss when there is one. */
  p = make("cusum:k_ref=0.5,h=3.5");
  for (size_t k = 0; k < 37; k++) {
    bool r = feed_loss(p, k, 100.0 /* ignored */, k < 30 ? 0.0 : 1.5);
    assert_int_equal(r, k == 33);
  }
  fp_policy_destroy(&p);
  p = make("cusum:k_ref=0.5,h=3.5,signal=divergence");
  for (size_t k = 0; k < 37; k++) {
    bool r = feed_loss(p, k, k < 30 ? 0.0 : 1.5, 100.0 /* ignored */);
    assert_int_equal(r, k == 33);
  }
  fp_policy_destroy(&p);
}

/* ---- alarm -------------------------------------------------------------- */

static void test_alarm_quantile(void **state)
{
  (void)state;
  fp_policy *p = make("alarm"); /* q = 0.9, min_history = 10 */
  /* Periods 0..9 fill the history with 1..10; nothing can fire yet, however
   * large the value (period 9 is 10, the largest so far). */
  for (size_t k = 0; k < 10; k++) {
    assert_false(feed(p, k, (double)(k + 1)));
    double t;
    fp_policy_last(p, NULL, &t);
    assert_true(isinf(t));
  }
  /* Period 10: history {1..10}, type-7 quantile at h = 9 * 0.9 = 8.1:
   * 9 + 0.1 (10 - 9) = 9.1.  9.0 does not exceed it. */
  assert_false(feed(p, 10, 9.0));
  double thr;
  fp_policy_last(p, NULL, &thr);
  assert_close(thr, 9.1, 1e-14, 0.0);
  /* Period 11: history {1..8, 9, 9, 10}, h = 10 * 0.9 = 9: the value 9.
   * 9.05 exceeds it (though it is below the maximum and below 9.1). */
  assert_true(feed(p, 11, 9.05));
  fp_policy_last(p, NULL, &thr);
  assert_true(thr == 9.0);
  /* The history was cleared: ten more periods before the next alarm. */
  for (size_t k = 12; k < 22; k++) assert_false(feed(p, k, k == 12 ? 0.5 : 1000.0));
  /* Period 22: history {0.5, 1000 x 9}: h = 8.1 -> 1000; 1000 is not above. */
  assert_false(feed(p, 22, 1000.0));
  assert_true(feed(p, 23, 1000.5));
  fp_policy_destroy(&p);

  /* min_history: with 3 the fourth value can fire, with 4 it cannot. */
  p = make("alarm:q=0.5,min_history=3");
  assert_false(feed(p, 0, 1.0));
  assert_false(feed(p, 1, 1.0));
  assert_false(feed(p, 2, 1.0));
  assert_true(feed(p, 3, 5.0));
  fp_policy_destroy(&p);
  p = make("alarm:q=0.5,min_history=4");
  for (size_t k = 0; k < 3; k++) assert_false(feed(p, k, 1.0));
  assert_false(feed(p, 3, 5.0));
  /* q = 0.5 of {1, 1, 1, 5} is 1: 1.5 fires. */
  assert_true(feed(p, 4, 1.5));
  fp_policy_destroy(&p);

  /* q = 1 is the maximum: only a new record fires. */
  p = make("alarm:q=1,min_history=1");
  assert_false(feed(p, 0, 3.0));
  assert_false(feed(p, 1, 3.0));
  assert_true(feed(p, 2, 3.5));
  fp_policy_destroy(&p);
}

/* ---- performance -------------------------------------------------------- */

static void test_performance_step(void **state)
{
  (void)state;
  /* Loss 0.2 before period 15 and 0.5 from then on for the stale model; a
   * model retrained after the step is back at 0.2 (loss_K). */
  enum { T = 40, S = 15 };
  double *K = calloc(T * T, sizeof *K);
  double *LK = malloc(T * T * sizeof *LK);
  double L0[T];
  for (size_t k = 0; k < T; k++) {
    L0[k] = k < S ? 0.2 : 0.5;
    for (size_t j = 0; j < T; j++) LK[k * T + j] = (k >= S) == (j >= S) ? 0.2 : 0.5;
  }
  fp_retrain_problem pb = {.T = T, .K = K, .dt_const = 1.0, .loss_K = LK, .loss0 = L0};
  bool schedule[T];
  fp_retrain_cost cost;
  fp_policy *p = make("performance:margin=0.1");
  assert_int_equal(fp_policy_run_exact(p, &pb, 1.0, schedule, NULL, NULL, &cost, NULL), FP_OK);
  for (size_t k = 0; k < T; k++) assert_int_equal(schedule[k], k == S);
  double s, t;
  fp_policy_last(p, &s, &t);
  assert_close(t, 0.3, 1e-15, 0.0); /* baseline 0.2 of the new spell + margin */
  fp_policy_destroy(&p);

  /* A margin above the step never fires. */
  p = make("performance:margin=0.3");
  assert_int_equal(fp_policy_run_exact(p, &pb, 1.0, schedule, NULL, NULL, &cost, NULL), FP_OK);
  assert_int_equal(cost.n_retrains, 0);
  fp_policy_destroy(&p);

  /* By hand: the baseline is the mean of the spell's first 3 losses; no
   * decision during them. */
  p = make("performance:margin=0.1,baseline_periods=3");
  assert_false(feed_loss(p, 0, 0.0, 0.1));
  assert_false(feed_loss(p, 1, 0.0, 0.2));
  assert_false(feed_loss(p, 2, 0.0, 9.0)); /* still measuring: baseline 3.1 */
  assert_false(feed_loss(p, 3, 0.0, 3.15));
  assert_true(feed_loss(p, 4, 0.0, 3.25));
  assert_false(feed_loss(p, 5, 0.0, 50.0)); /* new spell measures again */
  fp_policy_destroy(&p);

  /* Without a loss signal it fails, naming the need. */
  p = make("performance:margin=0.1");
  fp_error err;
  fp_policy_obs obs = {.period = 7, .divergence = 0.0};
  bool r;
  assert_int_equal(fp_policy_observe(p, &obs, &r, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "loss signal"));
  pb.loss_K = NULL;
  assert_int_equal(fp_policy_run_exact(p, &pb, 1.0, schedule, NULL, NULL, &cost, &err),
                   FP_ERR_ARG);
  assert_non_null(strstr(err.message, "period 0"));
  fp_policy_destroy(&p);
  free(LK);
  free(K);
}

/* ---- debt: calibration -------------------------------------------------- */

static void test_debt_calibrate(void **state)
{
  (void)state;
  fp_debt_emissions em;
  fp_error err;
  /* y0 = {0.1, 0.2, 0.3, 0 (negative D)}, y1 = {1, 2}. */
  const double D[] = {0.01, 1.0, 0.04, 4.0, 0.09, -1e-3};
  const int Z[] = {0, 1, 0, 1, 0, 0};
  assert_int_equal(fp_debt_calibrate(D, Z, 6, &em, &err), FP_OK);
  assert_close(em.mu0, 0.15, 1e-14, 0.0);
  double sd0 = sqrt((0.05 * 0.05 + 0.05 * 0.05 + 0.15 * 0.15 + 0.15 * 0.15) / 3.0);
  assert_close(em.sigma0, sd0, 1e-14, 0.0);
  assert_close(em.mu1, 1.5, 1e-15, 0.0);
  assert_close(em.sigma1, sqrt(0.5), 1e-15, 0.0);
  assert_int_equal(em.n0, 4);
  assert_int_equal(em.n1, 2);
  assert_false(em.fallback0 || em.fallback1);

  /* sigma floored at 0.01. */
  const double Dflat[] = {0.25, 0.25, 0.25, 4.0, 4.0};
  const int Zflat[] = {0, 0, 0, 1, 1};
  assert_int_equal(fp_debt_calibrate(Dflat, Zflat, 5, &em, &err), FP_OK);
  assert_true(em.mu0 == 0.5 && em.sigma0 == FP_DEBT_SIGMA_FLOOR);
  assert_true(em.mu1 == 2.0 && em.sigma1 == FP_DEBT_SIGMA_FLOOR);

  /* Fallbacks: a stale class of 1 or 0 samples -> mu1 = mu0 + 1, sigma1 = 0.5. */
  const int Zone[] = {0, 0, 0, 1, 0};
  assert_int_equal(fp_debt_calibrate(Dflat, Zone, 5, &em, &err), FP_OK);
  assert_true(em.fallback1 && !em.fallback0 && em.n1 == 1);
  assert_close(em.mu0, (0.5 * 3 + 2.0) / 4.0, 1e-15, 0.0);
  assert_close(em.mu1, em.mu0 + 1.0, 1e-15, 0.0);
  assert_true(em.sigma1 == 0.5);
  const int Znone[] = {0, 0, 0, 0, 0};
  assert_int_equal(fp_debt_calibrate(Dflat, Znone, 5, &em, &err), FP_OK);
  assert_true(em.fallback1 && em.n1 == 0 && em.sigma1 == 0.5);
  /* A stable class of 1 sample: mu0 = that y, sigma0 = 0.5. */
  const int Zstab1[] = {1, 1, 0, 1, 1};
  assert_int_equal(fp_debt_calibrate(Dflat, Zstab1, 5, &em, &err), FP_OK);
  assert_true(em.fallback0 && !em.fallback1 && em.mu0 == 0.5 && em.sigma0 == 0.5);
  /* No stable sample: an error. */
  const int Zall1[] = {1, 1, 1, 1, 1};
  assert_int_equal(fp_debt_calibrate(Dflat, Zall1, 5, &em, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "stable"));
  /* Bad input. */
  const int Zbad[] = {0, 2, 0, 1, 1};
  assert_int_equal(fp_debt_calibrate(Dflat, Zbad, 5, &em, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "stale[1] = 2"));
  const double Dnan[] = {0.1, NAN};
  assert_int_equal(fp_debt_calibrate(Dnan, Z, 2, &em, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "divergence[1]"));
  assert_int_equal(fp_debt_calibrate(D, Z, 0, &em, &err), FP_ERR_ARG);
  assert_int_equal(fp_debt_calibrate(NULL, Z, 3, &em, &err), FP_ERR_ARG);
}

static void test_debt_file(void **state)
{
  (void)state;
  fp_error err;
  char path[64];
  fp_test_write_temp("", path, sizeof path);
  fp_debt_emissions em = {.mu0 = 0.1, .sigma0 = 1.0 / 3.0, .mu1 = 1.2345678901234567,
                          .sigma1 = 0.2, .n0 = 150, .n1 = 50, .fallback0 = false,
                          .fallback1 = true};
  assert_int_equal(fp_debt_emissions_write(path, &em, "case ou1d\npilot: 10 paths", &err),
                   FP_OK);
  fp_debt_emissions back;
  assert_int_equal(fp_debt_emissions_read(path, &back, &err), FP_OK);
  assert_true(back.mu0 == em.mu0 && back.sigma0 == em.sigma0 && back.mu1 == em.mu1 &&
              back.sigma1 == em.sigma1);
  assert_true(back.n0 == 150 && back.n1 == 50 && !back.fallback0 && back.fallback1);

  /* The policy spec references the file; the canonical spec holds the
   * resolved emissions instead of the file, so it rebuilds the same policy
   * without it; explicit keys override the file. */
  char spec[256];
  snprintf(spec, sizeof spec, "debt:kappa=1,hazard=0.05,calibration=%s", path);
  fp_policy *p = make(spec);
  const char *expect = "debt:kappa=1,hazard=0.05,p10=0,mu0=0.1,sigma0=0.3333333333333333,"
                       "mu1=1.2345678901234567,sigma1=0.2,input=sqrt";
  assert_string_equal(fp_policy_spec(p), expect);
  fp_policy_destroy(&p);
  snprintf(spec, sizeof spec, "debt:calibration=%s,mu1=3", path);
  p = make(spec);
  assert_non_null(strstr(fp_policy_spec(p), ",mu1=3,"));
  fp_policy_destroy(&p);

  /* Malformed files: the message names file:line and the key. */
  struct {
    const char *text, *word;
    int code;
  } bad[] = {
      {"mu0 = 0\nsigma0 = 1\nmu1 = 1\n", "'sigma1' is missing", FP_ERR_ARG},
      {"mu0 = 0\nsigma0 = 1\nmu1 = 1\nsigma1 = 1\nmu2 = 3\n", ":5: unknown key 'mu2'",
       FP_ERR_ARG},
      {"# c\n\nmu0 = 0\nsigma0 = 0\nmu1 = 1\nsigma1 = 1\n", ":4: sigma0 = 0 must be > 0",
       FP_ERR_ARG},
      {"mu0 = x\n", ":1: mu0 = 'x'", FP_ERR_ARG},
      {"mu0 = 0\nmu0 = 1\n", ":2: key 'mu0' is given twice", FP_ERR_ARG},
      {"mu0 0\n", ":1: expected 'key = value'", FP_ERR_ARG},
      {"mu0 = 0\nsigma0 = 1\nmu1 = 1\nsigma1 = 1\nfallback1 = 2\n", "fallback1 = '2'",
       FP_ERR_ARG},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char bpath[64];
    fp_test_write_temp(bad[i].text, bpath, sizeof bpath);
    assert_int_equal(fp_debt_emissions_read(bpath, &back, &err), bad[i].code);
    if (!strstr(err.message, bad[i].word) || !strstr(err.message, bpath)) {
      print_error("case %zu: message '%s' lacks '%s'\n", i, err.message, bad[i].word);
      fail();
    }
    /* ... and so does the policy that references it. */
    snprintf(spec, sizeof spec, "debt:calibration=%s", bpath);
    fp_policy *q = NULL;
    assert_int_equal(fp_policy_create(spec, &q, &err), bad[i].code);
    assert_non_null(strstr(err.message, "calibration="));
    assert_null(q);
    unlink(bpath);
  }
  /* A comment-only, hand-written file with extra spaces reads. */
  char hpath[64];
  fp_test_write_temp("  # hand made\nmu0=0.5 # trailing comment\n sigma0 =\t0.1\nmu1 = 2\n"
                     "sigma1 = 0.3\n", hpath, sizeof hpath);
  assert_int_equal(fp_debt_emissions_read(hpath, &back, &err), FP_OK);
  assert_true(back.mu0 == 0.5 && back.sigma0 == 0.1 && back.n0 == 0);
  unlink(hpath);
  /* A missing file is an I/O error naming it. */
  assert_int_equal(fp_debt_emissions_read("/nonexistent/cal.txt", &back, &err), FP_ERR_IO);
  assert_non_null(strstr(err.message, "/nonexistent/cal.txt"));
  fp_policy *q = NULL;
  assert_int_equal(fp_policy_create("debt:calibration=/nonexistent/cal.txt", &q, &err),
                   FP_ERR_IO);
  /* Writing invalid emissions fails and leaves nothing. */
  em.sigma1 = 0.0;
  assert_int_equal(fp_debt_emissions_write(path, &em, NULL, &err), FP_ERR_ARG);
  unlink(path);
}

/* ---- debt: the filter ---------------------------------------------------- */

/* The pilot: a frozen deployment over 200 periods, stable (y = 0.1 +- 0.02)
 * for the first 100 and stale (y = 1 +- 0.1) after a regime switch. */
static void calibrated_emissions(fp_debt_emissions *em)
{
  enum { N = 200 };
  double D[N];
  int Z[N];
  unsigned long long seed = 12345;
  for (size_t i = 0; i < N; i++) {
    Z[i] = i >= 100;
    double y = Z[i] ? 1.0 + 0.1 * noise(&seed) : 0.1 + 0.02 * noise(&seed);
    D[i] = y * y;
  }
  assert_int_equal(fp_debt_calibrate(D, Z, N, em, NULL), FP_OK);
  assert_close(em->mu0, 0.1, 0.05, 0.0);
  assert_close(em->mu1, 1.0, 0.05, 0.0);
}

static fp_policy *make_debt(const fp_debt_emissions *em, const char *extra)
{
  char spec[512];
  snprintf(spec, sizeof spec, "debt:mu0=%.17g,sigma0=%.17g,mu1=%.17g,sigma1=%.17g%s%s", em->mu0,
           em->sigma0, em->mu1, em->sigma1, extra && *extra ? "," : "", extra ? extra : "");
  return make(spec);
}

static void test_debt_two_regimes(void **state)
{
  (void)state;
  fp_debt_emissions em;
  calibrated_emissions(&em);

  /* Abrupt switch at 60: the stale emission explains y = 1 so much better
   * that rho jumps over 1/2 at once.  After the retrain the driver feeds the
   * mismatch against the new reference, which is small again. */
  fp_policy *p = make_debt(&em, "kappa=1,hazard=0.05");
  unsigned long long seed = 99;
  size_t last = 0;
  bool switched = false;
  for (size_t k = 0; k < 150; k++) {
    bool stale_world = k >= 60 && !switched;
    double y = stale_world ? 1.0 + 0.1 * noise(&seed) : 0.1 + 0.02 * noise(&seed);
    bool r = feed(p, k, y * y);
    double rho, thr;
    fp_policy_last(p, &rho, &thr);
    assert_true(thr == 0.5);
    assert_int_equal(r, rho > thr); /* the decision is exactly rho > kappa/(1+kappa) */
    if (r) {
      assert_false(switched); /* exactly one retrain */
      switched = true;
      last = k;
    }
  }
  assert_true(switched);
  assert_int_equal(last, 60);
  fp_policy_destroy(&p);

  /* Gradual switch: y ramps from 0.1 to 1 over periods 60..70.  The filter
   * needs a few periods of evidence: rho crosses 1/2 shortly after 60, and
   * not before the ramp has left the stable band. */
  for (int kappa_i = 0; kappa_i < 3; kappa_i++) {
    const double kappas[] = {0.25, 1.0, 4.0};
    char extra[64];
    snprintf(extra, sizeof extra, "kappa=%g", kappas[kappa_i]);
    p = make_debt(&em, extra);
    size_t first = 0;
    for (size_t k = 0; k < 100 && first == 0; k++) {
      double y = k < 60 ? 0.1 : (k < 70 ? 0.1 + 0.09 * (double)(k - 60) : 1.0);
      bool r = feed(p, k, y * y);
      double rho, thr;
      fp_policy_last(p, &rho, &thr);
      assert_true(thr == kappas[kappa_i] / (1.0 + kappas[kappa_i]));
      assert_int_equal(r, rho > thr);
      if (r) first = k;
    }
    assert_true(first > 60 && first <= 66);
    fp_policy_destroy(&p);
  }
}

static void test_debt_boundary(void **state)
{
  (void)state;
  /* Exactly at the threshold: hazard = p10 = 1/2 make rho_pred = 1/2 and
   * equal emissions keep it, so rho = 1/2 = kappa/(1+kappa) at kappa = 1.
   * Theorem 1 retrains only when rho exceeds the threshold. */
  fp_policy *p = make("debt:kappa=1,hazard=0.5,p10=0.5,mu0=0.3,sigma0=0.2,mu1=0.3,sigma1=0.2");
  for (size_t k = 0; k < 5; k++) {
    assert_false(feed(p, k, 0.04 * (double)k));
    double rho, thr;
    fp_policy_last(p, &rho, &thr);
    assert_true(rho == 0.5 && thr == 0.5);
  }
  fp_policy_destroy(&p);

  /* Just below / just above: one observation from rho = 0 gives
   *   rho = h N1 / (h N1 + (1 - h) N0),  N_s = N(y; mu_s, sigma_s),
   * computed here independently; kappa is then set so that the threshold
   * sits a relative 1e-9 above or below it. */
  const fp_debt_emissions em = {.mu0 = 0.0, .sigma0 = 1.0, .mu1 = 1.0, .sigma1 = 0.5};
  const double h = 0.05, y = 0.8;
  double N0 = exp(-0.5 * y * y) / sqrt(2.0 * M_PI);
  double N1 = exp(-0.5 * (y - 1.0) * (y - 1.0) / 0.25) / (0.5 * sqrt(2.0 * M_PI));
  double rho = h * N1 / (h * N1 + (1.0 - h) * N0);
  assert_close(fp_debt_filter_update(0.0, y * y, h, 0.0, &em), rho, 1e-14, 0.0);
  for (int side = -1; side <= 1; side += 2) {
    double thr = rho * (1.0 + side * 1e-9);
    double kappa = thr / (1.0 - thr);
    char spec[256];
    snprintf(spec, sizeof spec, "debt:kappa=%.17g,hazard=%.17g,mu0=0,sigma0=1,mu1=1,sigma1=0.5",
             kappa, h);
    p = make(spec);
    bool r = feed(p, 0, y * y);
    double got_rho, got_thr;
    fp_policy_last(p, &got_rho, &got_thr);
    assert_close(got_rho, rho, 1e-14, 0.0);
    assert_close(got_thr, thr, 1e-14, 0.0);
    assert_int_equal(r, side < 0); /* threshold below rho: retrain */
    fp_policy_destroy(&p);
  }

  /* rho <- 0 on retrain: the next update starts from the prior hazard. */
  p = make("debt:kappa=0.1,hazard=0.05,mu0=0,sigma0=1,mu1=1,sigma1=0.5");
  assert_true(feed(p, 0, y * y)); /* rho = 0.118 > 1/11 */
  assert_false(feed(p, 1, 0.0));
  double r2;
  fp_policy_last(p, &r2, NULL);
  assert_close(r2, fp_debt_filter_update(0.0, 0.0, 0.05, 0.0, &em), 1e-15, 0.0);
  fp_policy_destroy(&p);

  /* Both likelihoods underflow: the 1e-12 floor keeps rho finite in [0, 1]. */
  const fp_debt_emissions narrow = {.mu0 = 0.0, .sigma0 = 0.01, .mu1 = 0.1, .sigma1 = 0.01};
  double far = fp_debt_filter_update(0.3, 100.0, 0.05, 0.0, &narrow);
  assert_true(far >= 0.0 && far <= 1.0);
}

static void test_debt_no_shift(void **state)
{
  (void)state;
  fp_debt_emissions em;
  calibrated_emissions(&em);
  const double kappas[] = {0.1, 1.0, 4.0};
  for (size_t i = 0; i < 3; i++) {
    char extra[64];
    snprintf(extra, sizeof extra, "kappa=%g,hazard=0.05", kappas[i]);
    fp_policy *p = make_debt(&em, extra);
    /* Constant low divergence at the stable mean. */
    for (size_t k = 0; k < 1000; k++) assert_false(feed(p, k, em.mu0 * em.mu0));
    double rho;
    fp_policy_last(p, &rho, NULL);
    assert_true(rho < 1e-6);
    /* The stable regime's own noise (a fresh stream). */
    fp_policy_reset(p);
    unsigned long long seed = 7 + i;
    for (size_t k = 0; k < 1000; k++) {
      double y = 0.1 + 0.02 * noise(&seed);
      assert_false(feed(p, k, y * y));
    }
    fp_policy_destroy(&p);
  }
}

/* One spec grammar with the estimators: ';' separates items as ',' does, and
 * a trailing separator is allowed; the canonical spec is the same. */
static void test_spec_grammar_shared_with_estimators(void **state)
{
  (void)state;
  fp_error err;
  fp_policy *a = NULL, *b = NULL, *c = NULL;
  assert_int_equal(fp_policy_create("cusum:h=2,k_ref=0.1", &a, &err), FP_OK);
  assert_int_equal(fp_policy_create(" cusum : k_ref = 0.1 ; h=2;", &b, &err), FP_OK);
  assert_string_equal(fp_policy_spec(a), fp_policy_spec(b));
  assert_int_equal(fp_policy_create(fp_policy_spec(a), &c, &err), FP_OK);
  assert_string_equal(fp_policy_spec(c), fp_policy_spec(a));
  fp_policy_destroy(&a);
  fp_policy_destroy(&b);
  fp_policy_destroy(&c);
  assert_int_equal(fp_policy_create("cusum:h=2;;k_ref=0.1", &a, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "empty item"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_grammar_shared_with_estimators),
      cmocka_unit_test(test_registry),
      cmocka_unit_test(test_spec_canonical),
      cmocka_unit_test(test_spec_errors),
      cmocka_unit_test(test_observe_errors),
      cmocka_unit_test(test_none),
      cmocka_unit_test(test_calendar_counts),
      cmocka_unit_test(test_threshold_step),
      cmocka_unit_test(test_cusum_step),
      cmocka_unit_test(test_alarm_quantile),
      cmocka_unit_test(test_performance_step),
      cmocka_unit_test(test_debt_calibrate),
      cmocka_unit_test(test_debt_file),
      cmocka_unit_test(test_debt_two_regimes),
      cmocka_unit_test(test_debt_boundary),
      cmocka_unit_test(test_debt_no_shift),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
