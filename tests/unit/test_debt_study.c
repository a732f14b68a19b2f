/* fpentropy tests: the learning-debt study: calendar numbering, staleness
 * and loss accounting on hand-made paths (same-period and lagged), the
 * policy objects' Katz variants, silent filters at zero hazard, paths, and
 * determinism and resumption of the threaded driver.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fpentropy/policy/debt_study.h>
#include <fpentropy/policy/policy.h>

static fp_debt_row_settings settings(double kappa, unsigned policies, int lag)
{
  fp_debt_row_settings s = {.kappa = kappa, .hazard = 0.05, .p10 = 0.0, .lag = lag,
                            .policies = policies};
  s.em = (fp_debt_emissions){.mu0 = 1.0, .sigma0 = 0.3, .mu1 = 2.5, .sigma1 = 0.3};
  return s;
}

/* A hand-made abrupt path: x = 1, y = beta_t x with no noise but a tiny
 * alternating term (so that b stays positive), onset at `onset`. */
static void hand_path(fp_debt_family fam, size_t onset, fp_debt_path *p)
{
  memset(p, 0, sizeof *p);
  p->family = fam;
  p->onset = onset;
  for (size_t t = 1; t <= FP_DEBT_T; t++) {
    p->beta[t] = onset && t >= onset ? 3.0 : 0.0;
    p->sigma2[t] = 1.0;
    for (int i = 0; i < FP_DEBT_NOBS; i++) {
      p->x[t][i] = 1.0;
      p->y[t][i] = p->beta[t] + (i % 2 ? 0.5 : -0.5);
    }
  }
}

static void run(const fp_debt_path *path, const fp_debt_row_settings *s, fp_debt_rep *rep,
                fp_debt_trace *tr)
{
  fp_debt_row_policies *pol = NULL;
  fp_error err;
  int rc = fp_debt_row_policies_create(s, &pol, &err);
  if (rc != FP_OK) print_error("%s\n", err.message);
  assert_int_equal(rc, FP_OK);
  rc = fp_debt_run_path(path, s, pol, rep, tr, &err);
  if (rc != FP_OK) print_error("%s\n", err.message);
  assert_int_equal(rc, FP_OK);
  fp_debt_row_policies_destroy(&pol);
}

static void test_calendar_times(void **state)
{
  (void)state;
  fp_debt_path *p = calloc(1, sizeof *p);
  fp_debt_trace *tr = calloc(FP_DEBT_POL_COUNT, sizeof *tr);
  hand_path(FP_DEBT_NONE, 0, p);
  unsigned cal = (1u << FP_DEBT_POL_CALENDAR) | (1u << FP_DEBT_POL_CALENDAR5) |
                 (1u << FP_DEBT_POL_CALENDAR20) | (1u << FP_DEBT_POL_CALENDAR40);
  for (double kappa = 0.1; kappa < 5; kappa *= 2.5) {
    fp_debt_row_settings s = settings(kappa, cal, 0);
    fp_debt_rep rep;
    run(p, &s, &rep, tr);
    /* Cadence 10 retrains 20 times, at 10, 20, ..., 200. */
    for (size_t t = 1; t <= FP_DEBT_T; t++)
      assert_int_equal(tr[FP_DEBT_POL_CALENDAR].executed[t], t % 10 == 0);
    assert_true(rep.retrains[FP_DEBT_POL_CALENDAR] == 20.0);
    assert_true(rep.retrains[FP_DEBT_POL_CALENDAR5] == 40.0);
    assert_true(rep.retrains[FP_DEBT_POL_CALENDAR20] == 10.0);
    assert_true(rep.retrains[FP_DEBT_POL_CALENDAR40] == 5.0);
    /* no shift: every retrain is unnecessary, the loss is 20 c_churn exactly */
    assert_true(rep.loss[FP_DEBT_POL_CALENDAR] == 20.0 * (kappa / (1 + kappa)));
    assert_true(isnan(rep.delay[FP_DEBT_POL_CALENDAR]));
  }
  /* Lag 1: decided at 10, ..., 200, executed at 11, ..., 191 (200 never). */
  fp_debt_row_settings s = settings(1.0, cal, 1);
  fp_debt_rep rep;
  run(p, &s, &rep, tr);
  for (size_t t = 1; t <= FP_DEBT_T; t++) {
    assert_int_equal(tr[FP_DEBT_POL_CALENDAR].decision[t], t % 10 == 0);
    assert_int_equal(tr[FP_DEBT_POL_CALENDAR].executed[t], t % 10 == 1 && t > 1);
  }
  assert_true(rep.retrains[FP_DEBT_POL_CALENDAR] == 19.0);
  free(tr);
  free(p);
}

static void test_abrupt_accounting(void **state)
{
  (void)state;
  fp_debt_path *p = calloc(1, sizeof *p);
  fp_debt_trace *tr = calloc(FP_DEBT_POL_COUNT, sizeof *tr);
  hand_path(FP_DEBT_ABRUPT, 53, p);
  double kappa = 0.5, cc = kappa / 1.5, cw = 1 / 1.5;
  fp_debt_row_settings s = settings(kappa, 1u << FP_DEBT_POL_CALENDAR, 0);
  fp_debt_rep rep;
  run(p, &s, &rep, tr);
  /* Stale at 53..59 (7 waits); the retrain at 60 is while stale (free); the
   * other 19 retrains (10..50, 70..200) are unnecessary.  Delay 60 - 53. */
  for (size_t t = 1; t <= FP_DEBT_T; t++)
    assert_int_equal(tr[FP_DEBT_POL_CALENDAR].Z[t], t >= 53 && t <= 60);
  assert_true(rep.stale_waits[FP_DEBT_POL_CALENDAR] == 7.0);
  assert_true(rep.unnecessary[FP_DEBT_POL_CALENDAR] == 19.0);
  assert_true(rep.loss[FP_DEBT_POL_CALENDAR] == 19.0 * cc + 7.0 * cw);
  assert_true(rep.delay[FP_DEBT_POL_CALENDAR] == 7.0);
  /* Lag 1: stale at 53..60 (8 waits, the decision period included); the
   * execution at 61 finds Z = 0 (r = 60 >= tau): 19 unnecessary executions. */
  s.lag = 1;
  run(p, &s, &rep, tr);
  assert_true(rep.stale_waits[FP_DEBT_POL_CALENDAR] == 8.0);
  assert_true(rep.unnecessary[FP_DEBT_POL_CALENDAR] == 19.0);
  assert_true(rep.loss[FP_DEBT_POL_CALENDAR] == 19.0 * cc + 8.0 * cw);
  assert_true(rep.delay[FP_DEBT_POL_CALENDAR] == 8.0);
  /* A retrain in the onset period itself costs nothing and ends staleness:
   * onset 60 under calendar 10. */
  hand_path(FP_DEBT_VARIANCE, 60, p);
  s.lag = 0;
  run(p, &s, &rep, tr);
  assert_true(rep.stale_waits[FP_DEBT_POL_CALENDAR] == 0.0);
  assert_true(rep.unnecessary[FP_DEBT_POL_CALENDAR] == 19.0);
  assert_true(rep.delay[FP_DEBT_POL_CALENDAR] == 0.0);
  free(tr);
  free(p);
}

static void test_gradual_staleness(void **state)
{
  (void)state;
  fp_nig s, q;
  assert_int_equal(fp_nig_init(0.0, 1, 2, 1, &q, NULL), FP_OK);
  double cut = 0.5 * sqrt(0.5);
  s = q;
  s.m = cut * (1 + 1e-12);
  assert_int_equal(fp_debt_stale(FP_DEBT_GRADUAL, 0, 5, 0, &s, &q), 1); /* before any onset */
  s.m = -cut * (1 + 1e-12);
  assert_int_equal(fp_debt_stale(FP_DEBT_GRADUAL, 0, 5, 0, &s, &q), 1);
  s.m = cut * (1 - 1e-12);
  assert_int_equal(fp_debt_stale(FP_DEBT_GRADUAL, 0, 5, 0, &s, &q), 0);
  assert_int_equal(fp_debt_stale(FP_DEBT_NONE, 0, 5, 0, &s, &q), 0);
  assert_int_equal(fp_debt_stale(FP_DEBT_ABRUPT, 30, 29, 0, &s, &q), 0);
  assert_int_equal(fp_debt_stale(FP_DEBT_ABRUPT, 30, 30, 29, &s, &q), 1);
  assert_int_equal(fp_debt_stale(FP_DEBT_ABRUPT, 30, 31, 30, &s, &q), 0);
  /* On a hand path with beta jumping to 3 at 53, a frozen deployment
   * (calendar 40, retrains 40, 80, ...) turns stale once the shadow mean
   * moves more than the cut: the delay counts from that first stale period. */
  fp_debt_path *p = calloc(1, sizeof *p);
  fp_debt_trace *tr = calloc(FP_DEBT_POL_COUNT, sizeof *tr);
  hand_path(FP_DEBT_GRADUAL, 53, p);
  fp_debt_row_settings st = settings(1.0, 1u << FP_DEBT_POL_CALENDAR40, 0);
  fp_debt_rep rep;
  run(p, &st, &rep, tr);
  size_t first = 0;
  for (size_t t = 1; t <= FP_DEBT_T && !first; t++)
    if (tr[FP_DEBT_POL_CALENDAR40].Z[t]) first = t;
  assert_true(first >= 53 && first < 80);
  assert_true(rep.delay[FP_DEBT_POL_CALENDAR40] == (double)(80 - first));
  free(tr);
  free(p);
}

static void test_policy_variants(void **state)
{
  (void)state;
  fp_policy *p = NULL;
  bool r;
  /* CUSUM with increment=positive never decreases within a spell. */
  assert_int_equal(fp_policy_create("cusum:h=4,signal=loss,increment=positive", &p, NULL), FP_OK);
  const double g[] = {1.5, -3.0, 2.0, -1.0, 0.6, 0.0};
  const double S[] = {1.5, 1.5, 3.5, 3.5, 4.1, 0.0};
  for (int i = 0; i < 6; i++) {
    fp_policy_obs o = {.period = (size_t)i + 1, .divergence = 0, .has_loss = true, .loss = g[i]};
    assert_int_equal(fp_policy_observe(p, &o, &r, NULL), FP_OK);
    double stat;
    fp_policy_last(p, &stat, NULL);
    if (i < 5) assert_close(stat, S[i], 1e-15, 0);
    assert_int_equal(r, i == 4); /* 4.1 > 4, then reset to 0 */
  }
  fp_policy_destroy(&p);
  /* Alarm: needs 10 past values, so the first alarm of a spell is its 11th
   * period; the history empties on retrain. */
  assert_int_equal(fp_policy_create("alarm:q=0.9,min_history=10", &p, NULL), FP_OK);
  for (int spell = 0; spell < 2; spell++)
    for (int i = 1; i <= 11; i++) {
      fp_policy_obs o = {.period = (size_t)i, .divergence = (double)i};
      assert_int_equal(fp_policy_observe(p, &o, &r, NULL), FP_OK);
      assert_int_equal(r, i == 11);
    }
  fp_policy_destroy(&p);
  /* Debt filter: equality with the threshold waits; rho resets to 0.  Equal
   * emissions make rho' = rho_pred: 0.5 (= theta for kappa = 1), then 0.75. */
  assert_int_equal(fp_policy_create("debt:kappa=1,hazard=0.5,mu0=1,sigma0=1,mu1=1,sigma1=1,input=direct",
                                    &p, NULL), FP_OK);
  const int expect[] = {0, 1, 0, 1};
  const double rho[] = {0.5, 0.75, 0.5, 0.75};
  for (int i = 0; i < 4; i++) {
    fp_policy_obs o = {.period = (size_t)i + 1, .divergence = 1.0};
    assert_int_equal(fp_policy_observe(p, &o, &r, NULL), FP_OK);
    double stat;
    fp_policy_last(p, &stat, NULL);
    assert_close(stat, rho[i], 1e-15, 0);
    assert_int_equal(r, expect[i]);
  }
  fp_policy_destroy(&p);
  /* input=direct reads the value as it is (negative allowed); input=sqrt
   * takes sqrt(max(D, 0)): the same y gives the same rho. */
  fp_debt_emissions em = {.mu0 = 0, .sigma0 = 1, .mu1 = 2, .sigma1 = 0.5};
  assert_close(fp_debt_filter_update_y(0.2, 1.5, 0.1, 0, &em),
               fp_debt_filter_update(0.2, 2.25, 0.1, 0, &em), 1e-15, 0);
}

static void test_silent_at_zero_hazard(void **state)
{
  (void)state;
  fp_debt_path *p = calloc(1, sizeof *p);
  gsl_rng *r = gsl_rng_alloc(fp_debt_rng_type);
  unsigned filters = (1u << FP_DEBT_POL_DEBT) | (1u << FP_DEBT_POL_PROXY);
  for (int fam = 0; fam < FP_DEBT_FAMILY_COUNT; fam++)
    for (unsigned j = 0; j < 5; j++) {
      gsl_rng_set(r, (unsigned long)fp_debt_rng_seed(1, 9, (unsigned)fam, j));
      fp_debt_path_generate((fp_debt_family)fam, 0.2, r, p);
      fp_debt_row_settings s = settings(0.1, filters, 0);
      s.hazard = 0.0;
      fp_debt_rep rep;
      run(p, &s, &rep, NULL);
      assert_true(rep.retrains[FP_DEBT_POL_DEBT] == 0.0);
      assert_true(rep.retrains[FP_DEBT_POL_PROXY] == 0.0);
      if (fam == FP_DEBT_NONE) {
        assert_true(rep.loss[FP_DEBT_POL_DEBT] == 0.0);
        assert_true(isnan(rep.bss[FP_DEBT_POL_DEBT])); /* BS0 = 0: undefined */
      }
    }
  gsl_rng_free(r);
  free(p);
}

static void test_paths(void **state)
{
  (void)state;
  fp_debt_path *p = calloc(1, sizeof *p);
  gsl_rng *r = gsl_rng_alloc(fp_debt_rng_type);
  size_t with_onset = 0, n = 400;
  double sum_onset = 0;
  for (unsigned j = 0; j < n; j++) {
    gsl_rng_set(r, (unsigned long)fp_debt_rng_seed(3, 0, 1, j));
    fp_debt_path_generate(FP_DEBT_VARIANCE, 0.1, r, p);
    if (p->onset) {
      with_onset++;
      sum_onset += (double)p->onset;
      assert_true(p->onset >= FP_DEBT_BURNIN + 1);
      double f = p->sigma2[p->onset];
      assert_true(f >= 3.0 && f <= 6.0);
      assert_true(p->sigma2[p->onset - 1] == 1.0);
    }
    for (size_t t = 1; t <= FP_DEBT_T; t++) assert_true(p->beta[t] == 0.0);
  }
  /* P(no onset) = 0.9^180 ~ 6e-9; E[tau] = 21 + 0.9/0.1 = 30 (s.e. ~0.5). */
  assert_int_equal(with_onset, n);
  assert_close(sum_onset / (double)with_onset, 30.0, 0, 2.0);
  gsl_rng_set(r, 5);
  fp_debt_path_generate(FP_DEBT_NONE, 0.2, r, p);
  assert_int_equal(p->onset, 0);
  /* Shift sizes: abrupt jumps N(0, 2^2), variance factors U(3, 6), gradual
   * steps N(0, 0.15^2); and the per-period data: x ~ N(0, 1), eps ~ N(0, 1)
   * before any shift.  2000 paths each; tolerances about 4 s.e. */
  double s1 = 0, s2 = 0, f1 = 0, g2 = 0, xm = 0, xv = 0, em = 0, ev = 0;
  size_t ng = 0, nx = 0;
  for (unsigned j = 0; j < 2000; j++) {
    gsl_rng_set(r, (unsigned long)fp_debt_rng_seed(5, 1, 1, j));
    fp_debt_path_generate(FP_DEBT_ABRUPT, 0.2, r, p);
    double b = p->beta[FP_DEBT_T];
    s1 += b, s2 += b * b;
    for (size_t t = 1; t <= FP_DEBT_BURNIN; t++)
      for (int i = 0; i < FP_DEBT_NOBS; i++) {
        xm += p->x[t][i], xv += p->x[t][i] * p->x[t][i];
        em += p->y[t][i], ev += p->y[t][i] * p->y[t][i];
        nx++;
      }
    gsl_rng_set(r, (unsigned long)fp_debt_rng_seed(5, 2, 2, j));
    fp_debt_path_generate(FP_DEBT_VARIANCE, 0.2, r, p);
    f1 += p->sigma2[FP_DEBT_T];
    gsl_rng_set(r, (unsigned long)fp_debt_rng_seed(5, 3, 3, j));
    fp_debt_path_generate(FP_DEBT_GRADUAL, 0.2, r, p);
    for (size_t t = p->onset + 1; t <= FP_DEBT_T; t++) {
      double d = p->beta[t] - p->beta[t - 1];
      g2 += d * d;
      ng++;
    }
  }
  assert_close(s1 / 2000, 0.0, 0, 4 * 2 / sqrt(2000.0));
  assert_close(sqrt(s2 / 2000), 2.0, 0, 4 * 2 / sqrt(2 * 2000.0));
  assert_close(f1 / 2000, 4.5, 0, 4 * sqrt(0.75) / sqrt(2000.0));
  assert_close(sqrt(g2 / (double)ng), 0.15, 0, 4 * 0.15 / sqrt(2.0 * (double)ng));
  assert_close(xm / (double)nx, 0.0, 0, 4 / sqrt((double)nx));
  assert_close(xv / (double)nx, 1.0, 0, 4 * sqrt(2.0 / (double)nx));
  assert_close(em / (double)nx, 0.0, 0, 4 / sqrt((double)nx)); /* y = eps before onset */
  assert_close(ev / (double)nx, 1.0, 0, 4 * sqrt(2.0 / (double)nx));
  /* The same seed gives the same path. */
  fp_debt_path *q = calloc(1, sizeof *q);
  gsl_rng_set(r, (unsigned long)fp_debt_rng_seed(3, 0, 1, 7));
  fp_debt_path_generate(FP_DEBT_GRADUAL, 0.05, r, p);
  gsl_rng_set(r, (unsigned long)fp_debt_rng_seed(3, 0, 1, 7));
  fp_debt_path_generate(FP_DEBT_GRADUAL, 0.05, r, q);
  assert_memory_equal(p, q, sizeof *p);
  free(q);
  gsl_rng_free(r);
  free(p);
}

static char *slurp(const char *dir, const char *name)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  return s;
}

static void study(const char *dir, size_t threads, volatile sig_atomic_t *stop, int expect)
{
  fp_debt_study_options opt = {.reps = 4, .seed = 11, .threads = threads,
                               .blocks = FP_DEBT_BLOCK_MAIN | FP_DEBT_BLOCK_LAG, .interrupted = stop};
  fp_error err;
  int rc = fp_debt_study_run(&opt, dir, NULL, &err);
  if (rc != expect) print_error("%s\n", err.message);
  assert_int_equal(rc, expect);
}

static void test_determinism_and_resume(void **state)
{
  (void)state;
  char d1[] = "/tmp/fp_debt_t1_XXXXXX", d3[] = "/tmp/fp_debt_t3_XXXXXX";
  assert_non_null(mkdtemp(d1));
  assert_non_null(mkdtemp(d3));
  study(d1, 1, NULL, FP_OK);
  study(d3, 3, NULL, FP_OK);
  char *c1 = slurp(d1, "cells.csv"), *c3 = slurp(d3, "cells.csv");
  char *w1 = slurp(d1, "wins.csv"), *w3 = slurp(d3, "wins.csv");
  assert_string_equal(c1, c3);
  assert_string_equal(w1, w3);
  /* Resume: an interrupted run keeps nothing new; removing some checkpoints
   * and rerunning recomputes them to the same numbers. */
  volatile sig_atomic_t stop = 1;
  study(d3, 2, &stop, FP_ERR_INTERRUPTED);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -f %s/checkpoints/main_abrupt_* %s/checkpoints/lag_*", d3, d3);
  assert_int_equal(system(cmd), 0);
  study(d3, 2, NULL, FP_OK);
  char *c3b = slurp(d3, "cells.csv");
  assert_string_equal(c1, c3b);
  char *sum = slurp(d3, "summary.txt");
  assert_non_null(strstr(sum, "resumed from checkpoints"));
  free(sum);
  free(c3b);
  free(c1), free(c3), free(w1), free(w3);
  snprintf(cmd, sizeof cmd, "rm -rf %s %s", d1, d3);
  assert_int_equal(system(cmd), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_calendar_times),
      cmocka_unit_test(test_abrupt_accounting),
      cmocka_unit_test(test_gradual_staleness),
      cmocka_unit_test(test_policy_variants),
      cmocka_unit_test(test_silent_at_zero_hazard),
      cmocka_unit_test(test_paths),
      cmocka_unit_test(test_determinism_and_resume),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
