/* fpentropy tests: schedule costs (retrain_cost.h) and the hindsight-optimal
 * schedule (oracle.h): brute force over all 2^T schedules, the oracle below
 * every policy, and the policy runner on the evaluator's code path.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/policy/oracle.h>
#include <fpentropy/policy/policy.h>
#include <fpentropy/policy/retrain_cost.h>

#include "test_support.h"

/* ---- helpers ------------------------------------------------------------ */

/* What a failing estimator callback reports. */
static int estimator_failure(fp_error *err)
{
  if (err) {
    err->code = FP_ERR_NUMERIC;
    snprintf(err->message, sizeof err->message, "estimator failed");
  }
  return FP_ERR_NUMERIC;
}

/* Deterministic uniform numbers in [0, 1) (64-bit LCG; no rand()). */
static double uniform(unsigned long long *s)
{
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(*s >> 11) / 9007199254740992.0;
}

/* K[k][j] = KL(N(m_k, s_k^2) || N(m_j, s_j^2)) for a random walk of 1D
 * Gaussians, D0[k] against q_ref = N(0, 1), dt random in [0.5, 1.5]: the
 * structure the PDE gives (K[k][k] = 0, growth with the gap). */
static double kl_1d(double m1, double s1, double m2, double s2)
{
  return log(s2 / s1) + (s1 * s1 + (m1 - m2) * (m1 - m2)) / (2.0 * s2 * s2) - 0.5;
}

typedef struct gaussian_path {
  size_t T;
  double *K, *D0, *dt, *t;
} gaussian_path;

static void make_path(size_t T, unsigned long long seed, gaussian_path *g)
{
  g->T = T;
  g->K = malloc(T * T * sizeof *g->K);
  g->D0 = malloc(T * sizeof *g->D0);
  g->dt = malloc(T * sizeof *g->dt);
  g->t = malloc(T * sizeof *g->t);
  double *m = malloc(T * sizeof *m), *s = malloc(T * sizeof *s);
  double mean = 0.2, sd = 1.0, time = 0.0;
  for (size_t k = 0; k < T; k++) {
    /* drift with an abrupt jump at T/2 */
    mean += 0.05 * (uniform(&seed) - 0.3) + (k == T / 2 ? 0.8 : 0.0);
    sd *= exp(0.04 * (uniform(&seed) - 0.4));
    m[k] = mean;
    s[k] = sd;
    g->dt[k] = 0.5 + uniform(&seed);
    time += g->dt[k];
    g->t[k] = time;
  }
  for (size_t k = 0; k < T; k++) {
    g->D0[k] = kl_1d(m[k], s[k], 0.0, 1.0);
    for (size_t j = 0; j < T; j++) g->K[k * T + j] = k == j ? 0.0 : kl_1d(m[k], s[k], m[j], s[j]);
  }
  free(m);
  free(s);
}

static void free_path(gaussian_path *g)
{
  free(g->K);
  free(g->D0);
  free(g->dt);
  free(g->t);
}

/* The least cost over all 2^T schedules, by the evaluator. */
static double brute_force(const fp_retrain_problem *pb, double c, size_t *n_best)
{
  size_t T = pb->T;
  bool schedule[16];
  double best = INFINITY;
  for (unsigned long mask = 0; mask < (1ul << T); mask++) {
    for (size_t k = 0; k < T; k++) schedule[k] = (mask >> k) & 1u;
    fp_retrain_cost cost;
    assert_int_equal(fp_retrain_evaluate(pb, c, schedule, NULL, NULL, &cost, NULL), FP_OK);
    if (cost.cost < best) {
      best = cost.cost;
      *n_best = cost.n_retrains;
    }
  }
  return best;
}

/* ---- the evaluator ------------------------------------------------------ */

static void test_evaluate_by_hand(void **state)
{
  (void)state;
  /* T = 4.  K lower triangle (diagonal and upper part must not be read:
   * they hold poison). */
  const double P = NAN;
  const double K[16] = {
      P,   P,   P,   P,   /* k = 0 */
      1.0, P,   P,   P,   /* k = 1 */
      2.0, 0.5, P,   P,   /* k = 2 */
      4.0, 1.5, 0.25, P,  /* k = 3 */
  };
  const double D0[4] = {0.125, 3.0, 5.0, 7.0};
  const double dt[4] = {1.0, 2.0, 1.0, 0.5};
  fp_retrain_problem pb = {.T = 4, .K = K, .D0 = D0, .dt = dt};
  double observed[4], mismatch[4];
  fp_retrain_cost cost;

  /* Never retrain: D0 throughout. */
  bool never[4] = {false, false, false, false};
  assert_int_equal(fp_retrain_evaluate(&pb, 10.0, never, observed, mismatch, &cost, NULL), FP_OK);
  assert_int_equal(cost.n_retrains, 0);
  assert_true(cost.mismatch_integral == 0.125 + 6.0 + 5.0 + 3.5);
  assert_true(cost.cost == cost.mismatch_integral);

  /* Retrain at 1: period 1 is charged 0 (same-period action), periods 2, 3
   * are served by the model of period 1: K[2][1], K[3][1]. */
  bool at1[4] = {false, true, false, false};
  assert_int_equal(fp_retrain_evaluate(&pb, 10.0, at1, observed, mismatch, &cost, NULL), FP_OK);
  const double obs1[4] = {0.125, 3.0, 0.5, 1.5}, mis1[4] = {0.125, 0.0, 0.5, 1.5};
  for (size_t k = 0; k < 4; k++) assert_true(observed[k] == obs1[k] && mismatch[k] == mis1[k]);
  assert_true(cost.mismatch_integral == 0.125 + 0.5 + 0.75);
  assert_true(cost.cost == 10.0 + 1.375);

  /* Retrain at 0 and 2. */
  bool at02[4] = {true, false, true, false};
  assert_int_equal(fp_retrain_evaluate(&pb, 1.0, at02, observed, mismatch, &cost, NULL), FP_OK);
  const double obs02[4] = {0.125, 1.0, 2.0, 0.25}, mis02[4] = {0.0, 1.0, 0.0, 0.25};
  for (size_t k = 0; k < 4; k++) assert_true(observed[k] == obs02[k] && mismatch[k] == mis02[k]);
  assert_true(cost.cost == 2.0 + 2.0 + 0.125);

  /* D0 = NULL means the case's q_ref is p(t_0): D0[k] = K[k][0], D0[0] = 0. */
  pb.D0 = NULL;
  assert_int_equal(fp_retrain_evaluate(&pb, 1.0, never, observed, NULL, &cost, NULL), FP_OK);
  const double obsn[4] = {0.0, 1.0, 2.0, 4.0};
  for (size_t k = 0; k < 4; k++) assert_true(observed[k] == obsn[k]);
  /* Constant weights. */
  pb.dt = NULL;
  pb.dt_const = 0.5;
  assert_int_equal(fp_retrain_evaluate(&pb, 1.0, never, NULL, NULL, &cost, NULL), FP_OK);
  assert_true(cost.cost == 3.5);
}

static void test_problem_errors(void **state)
{
  (void)state;
  double K[9] = {0, 0, 0, 1, 0, 0, 2, 1, 0};
  double dt[3] = {1, 1, 1};
  bool schedule[3] = {false, false, false};
  fp_retrain_cost cost;
  fp_error err;
  fp_retrain_problem pb = {.T = 3, .K = K, .dt = dt};
  assert_int_equal(fp_retrain_problem_check(&pb, &err), FP_OK);

  pb.T = 0;
  assert_int_equal(fp_retrain_evaluate(&pb, 1.0, schedule, NULL, NULL, &cost, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "T = 0"));
  pb.T = 3;
  K[7] = NAN;
  assert_int_equal(fp_oracle_solve(&pb, 1.0, NULL, &cost, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "K[2][1]"));
  K[7] = 1.0;
  dt[1] = -1.0;
  assert_int_equal(fp_oracle_solve(&pb, 1.0, NULL, &cost, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "period 1"));
  dt[1] = 1.0;
  assert_int_equal(fp_oracle_solve(&pb, -1.0, NULL, &cost, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "c = -1"));
  assert_int_equal(fp_oracle_solve(&pb, NAN, NULL, &cost, &err), FP_ERR_ARG);
  double L0[3] = {0, 0, 0};
  pb.loss_K = K;
  assert_int_equal(fp_retrain_problem_check(&pb, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "loss0"));
  pb.loss0 = L0;
  assert_int_equal(fp_retrain_problem_check(&pb, &err), FP_OK);
  pb.loss_K = NULL;
  pb.K = NULL;
  assert_int_equal(fp_retrain_problem_check(&pb, &err), FP_ERR_ARG);
  assert_int_equal(fp_retrain_problem_check(NULL, &err), FP_ERR_ARG);
  pb.K = K;
  assert_int_equal(fp_retrain_evaluate(&pb, 1.0, NULL, NULL, NULL, &cost, &err), FP_ERR_ARG);
  fp_policy *p = NULL;
  assert_int_equal(fp_policy_create("none", &p, NULL), FP_OK);
  assert_int_equal(fp_policy_run_exact(p, &pb, 1.0, NULL, NULL, NULL, &cost, &err), FP_ERR_ARG);
  assert_int_equal(fp_policy_run_exact(NULL, &pb, 1.0, schedule, NULL, NULL, &cost, &err),
                   FP_ERR_ARG);
  fp_policy_destroy(&p);
}

/* ---- the oracle --------------------------------------------------------- */

static void test_oracle_brute_force(void **state)
{
  (void)state;
  unsigned long long seed = 2024;
  size_t checked = 0;
  for (size_t T = 1; T <= 12; T++) {
    for (int trial = 0; trial < 6; trial++) {
      /* Random non-negative K (some exact zeros), random D0, random dt. */
      double *K = malloc(T * T * sizeof *K);
      double D0[12], dt[12];
      for (size_t k = 0; k < T; k++) {
        D0[k] = uniform(&seed) < 0.2 ? 0.0 : 3.0 * uniform(&seed);
        dt[k] = trial % 2 ? 0.1 + uniform(&seed) : 1.0;
        for (size_t j = 0; j < T; j++)
          K[k * T + j] = j >= k || uniform(&seed) < 0.1 ? 0.0 : 2.0 * uniform(&seed);
      }
      fp_retrain_problem pb = {.T = T, .K = K, .D0 = trial % 3 ? D0 : NULL, .dt = dt};
      const double costs[] = {0.0, 0.05, 0.3, 1.0, 2.5, 10.0, 100.0};
      for (size_t ci = 0; ci < sizeof costs / sizeof costs[0]; ci++) {
        size_t n_brute = 0;
        double best = brute_force(&pb, costs[ci], &n_brute);
        bool schedule[12];
        fp_retrain_cost cost;
        assert_int_equal(fp_oracle_solve(&pb, costs[ci], schedule, &cost, NULL), FP_OK);
        if (!(fabs(cost.cost - best) <= 1e-12 * fabs(best))) {
          print_error("T = %zu trial %d c = %g: oracle %.17g, brute force %.17g\n", T, trial,
                      costs[ci], cost.cost, best);
          fail();
        }
        /* The reported cost is the evaluator's cost of the returned schedule. */
        fp_retrain_cost again;
        assert_int_equal(fp_retrain_evaluate(&pb, costs[ci], schedule, NULL, NULL, &again, NULL),
                         FP_OK);
        assert_true(again.cost == cost.cost && again.n_retrains == cost.n_retrains);
        if (costs[ci] == 0.0) assert_true(cost.cost == 0.0);
        checked++;
      }
      free(K);
    }
  }
  assert_int_equal(checked, 12 * 6 * 7);
}

static void test_oracle_structure(void **state)
{
  (void)state;
  /* Zero mismatch: nothing is worth a retrain, whatever c > 0. */
  enum { T = 20 };
  double *K = calloc(T * T, sizeof *K);
  fp_retrain_problem pb = {.T = T, .K = K, .dt_const = 1.0};
  bool schedule[T];
  fp_retrain_cost cost;
  assert_int_equal(fp_oracle_solve(&pb, 0.5, schedule, &cost, NULL), FP_OK);
  assert_int_equal(cost.n_retrains, 0);
  /* Ties go to the later retrain: with c = 0 and no mismatch, none either. */
  assert_int_equal(fp_oracle_solve(&pb, 0.0, schedule, &cost, NULL), FP_OK);
  assert_int_equal(cost.n_retrains, 0);

  /* A single step of height a at period 5 lasting to the end (15 periods):
   * retraining at 5 costs c, waiting costs 15 a.  The oracle retrains at 5
   * exactly when c < 15 a. */
  for (size_t k = 5; k < T; k++)
    for (size_t j = 0; j < 5; j++) K[k * T + j] = 0.2; /* a = 0.2: 15 a = 3 */
  assert_int_equal(fp_oracle_solve(&pb, 2.9, schedule, &cost, NULL), FP_OK);
  for (size_t k = 0; k < T; k++) assert_int_equal(schedule[k], k == 5);
  assert_close(cost.cost, 2.9, 1e-15, 0.0);
  assert_int_equal(fp_oracle_solve(&pb, 3.1, schedule, &cost, NULL), FP_OK);
  assert_int_equal(cost.n_retrains, 0);
  assert_close(cost.cost, 3.0, 1e-14, 0.0);
  free(K);
}

static void test_oracle_pareto(void **state)
{
  (void)state;
  gaussian_path g;
  make_path(80, 11, &g);
  fp_retrain_problem pb = {.T = g.T, .K = g.K, .D0 = g.D0, .dt = g.dt, .t = g.t};
  double c[40];
  fp_pareto_point pts[40];
  for (size_t i = 0; i < 40; i++) c[i] = 1e-4 * pow(10.0, 7.0 * (double)i / 39.0);
  assert_int_equal(fp_oracle_pareto(&pb, c, 40, pts, NULL), FP_OK);
  for (size_t i = 0; i < 40; i++) {
    assert_true(pts[i].c == c[i]);
    assert_close(pts[i].cost, c[i] * (double)pts[i].n_retrains + pts[i].mismatch_integral, 1e-14,
                 0.0);
    if (i > 0) {
      /* More expensive retrains: no more of them, no less mismatch. */
      assert_true(pts[i].n_retrains <= pts[i - 1].n_retrains);
      assert_true(pts[i].mismatch_integral >= pts[i - 1].mismatch_integral * (1.0 - 1e-12));
    }
  }
  assert_true(pts[0].n_retrains > 10);
  /* Beyond the never-retrain cost nothing is retrained. */
  bool never[80] = {false};
  fp_retrain_cost none;
  assert_int_equal(fp_retrain_evaluate(&pb, 0.0, never, NULL, NULL, &none, NULL), FP_OK);
  double big = none.cost * 1.01;
  fp_pareto_point last;
  assert_int_equal(fp_oracle_pareto(&pb, &big, 1, &last, NULL), FP_OK);
  assert_int_equal(last.n_retrains, 0);
  assert_true(last.mismatch_integral == none.mismatch_integral);
  fp_error err;
  double bad = -1.0;
  assert_int_equal(fp_oracle_pareto(&pb, &bad, 1, &last, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "c[0]"));
  free_path(&g);
}

/* ---- policies on exact data --------------------------------------------- */

static void test_policies_vs_oracle(void **state)
{
  (void)state;
  const char *specs[] = {
      "none",
      "calendar:k=1",
      "calendar:k=3",
      "calendar:k=10",
      "calendar:k=25",
      "threshold:tau=0.01",
      "threshold:tau=0.05",
      "threshold:tau=0.2",
      "threshold:tau=1",
      "cusum:h=0.1",
      "cusum:h=0.5",
      "cusum:k_ref=0.02,h=0.2",
      "alarm",
      "alarm:q=0.5,min_history=3",
      "debt:kappa=1,mu0=0.1,sigma0=0.05,mu1=0.5,sigma1=0.2",
      "debt:kappa=0.25,hazard=0.1,p10=0.02,mu0=0.05,sigma0=0.05,mu1=0.4,sigma1=0.3",
      "performance:margin=0.02",
  };
  const size_t nspecs = sizeof specs / sizeof specs[0];
  for (unsigned long long seed = 1; seed <= 4; seed++) {
    gaussian_path g;
    make_path(120, seed, &g);
    /* A loss signal for the performance rule: 0.1 + the mismatch. */
    size_t T = g.T;
    double *LK = malloc(T * T * sizeof *LK), *L0 = malloc(T * sizeof *L0);
    for (size_t k = 0; k < T; k++) {
      L0[k] = 0.1 + g.D0[k];
      for (size_t j = 0; j < T; j++) LK[k * T + j] = 0.1 + g.K[k * T + j];
    }
    fp_retrain_problem pb = {.T = T, .K = g.K, .D0 = g.D0, .dt = g.dt, .t = g.t,
                             .loss_K = LK, .loss0 = L0};
    const double costs[] = {0.01, 0.1, 1.0};
    bool *schedule = malloc(T * sizeof *schedule);
    double *observed = malloc(T * sizeof *observed), *mismatch = malloc(T * sizeof *mismatch);
    double *obs2 = malloc(T * sizeof *obs2), *mis2 = malloc(T * sizeof *mis2);
    for (size_t ci = 0; ci < 3; ci++) {
      fp_retrain_cost oracle;
      assert_int_equal(fp_oracle_solve(&pb, costs[ci], NULL, &oracle, NULL), FP_OK);
      for (size_t s = 0; s < nspecs; s++) {
        fp_policy *p = NULL;
        fp_error err;
        if (fp_policy_create(specs[s], &p, &err) != FP_OK) {
          print_error("%s: %s\n", specs[s], err.message);
          fail();
        }
        fp_retrain_cost cost;
        assert_int_equal(
            fp_policy_run_exact(p, &pb, costs[ci], schedule, observed, mismatch, &cost, &err),
            FP_OK);
        if (!(oracle.cost <= cost.cost * (1.0 + 1e-12))) {
          print_error("%s, c = %g: policy %.17g below the oracle %.17g\n", specs[s], costs[ci],
                      cost.cost, oracle.cost);
          fail();
        }
        /* The evaluator reproduces the run bit for bit. */
        fp_retrain_cost again;
        assert_int_equal(fp_retrain_evaluate(&pb, costs[ci], schedule, obs2, mis2, &again, NULL),
                         FP_OK);
        assert_true(again.cost == cost.cost && again.n_retrains == cost.n_retrains &&
                    again.mismatch_integral == cost.mismatch_integral);
        assert_memory_equal(observed, obs2, T * sizeof *obs2);
        assert_memory_equal(mismatch, mis2, T * sizeof *mis2);
        /* The policy saw observed[k] and, replayed by hand, decides the same. */
        fp_policy_reset(p);
        size_t last = SIZE_MAX;
        for (size_t k = 0; k < T; k++) {
          double d = last == SIZE_MAX ? g.D0[k] : g.K[k * T + last];
          assert_true(d == observed[k]);
          fp_policy_obs o = {.period = k, .t = g.t[k], .divergence = d, .has_loss = true,
                             .loss = last == SIZE_MAX ? L0[k] : LK[k * T + last]};
          bool r;
          assert_int_equal(fp_policy_observe(p, &o, &r, NULL), FP_OK);
          assert_int_equal(r, schedule[k]);
          if (r) last = k;
        }
        /* A second run (it resets the policy first) gives the same. */
        fp_retrain_cost third;
        assert_int_equal(fp_policy_run_exact(p, &pb, costs[ci], schedule, NULL, NULL, &third,
                                             NULL), FP_OK);
        assert_true(third.cost == cost.cost);
        fp_policy_destroy(&p);
      }
    }
    free(schedule);
    free(observed);
    free(mismatch);
    free(obs2);
    free(mis2);
    free(LK);
    free(L0);
    free_path(&g);
  }
}

static void test_calendar_exact(void **state)
{
  (void)state;
  /* calendar:k=7 over T = 100 through the runner equals the evaluator on
   * the hand-made schedule {7, 14, ..., 98}. */
  gaussian_path g;
  make_path(100, 5, &g);
  fp_retrain_problem pb = {.T = 100, .K = g.K, .D0 = g.D0, .dt = g.dt};
  bool run[100], hand[100];
  for (size_t k = 0; k < 100; k++) hand[k] = k > 0 && k % 7 == 0;
  fp_policy *p = NULL;
  assert_int_equal(fp_policy_create("calendar:k=7", &p, NULL), FP_OK);
  fp_retrain_cost a, b;
  assert_int_equal(fp_policy_run_exact(p, &pb, 0.3, run, NULL, NULL, &a, NULL), FP_OK);
  assert_int_equal(fp_retrain_evaluate(&pb, 0.3, hand, NULL, NULL, &b, NULL), FP_OK);
  assert_memory_equal(run, hand, sizeof run);
  assert_int_equal(a.n_retrains, 14);
  assert_true(a.cost == b.cost);
  fp_policy_destroy(&p);
  free_path(&g);
}

/* ---- policies on an estimated signal ------------------------------------ */

typedef struct noisy {
  unsigned long long seed;
  double amplitude;
  size_t calls;
  size_t last_seen[200];
  size_t fail_at; /* report an error at this period (SIZE_MAX: never) */
} noisy;

static int noisy_signal(void *ctx, size_t k, size_t last, double exact, fp_policy_obs *obs,
                        fp_error *err)
{
  noisy *n = ctx;
  if (k == n->fail_at) return estimator_failure(err);
  assert_int_equal(k, n->calls);
  assert_true(obs->period == k && obs->divergence == exact);
  n->last_seen[k] = last;
  n->calls++;
  obs->divergence = exact * (1.0 + n->amplitude * (2.0 * uniform(&n->seed) - 1.0)) +
                    0.01 * n->amplitude * (2.0 * uniform(&n->seed) - 1.0);
  return FP_OK;
}

static void test_run_signal(void **state)
{
  (void)state;
  gaussian_path g;
  make_path(150, 21, &g);
  fp_retrain_problem pb = {.T = 150, .K = g.K, .D0 = g.D0, .dt = g.dt, .t = g.t};
  const char *specs[] = {"threshold:tau=0.05", "cusum:h=0.3", "alarm:q=0.8,min_history=5",
                         "debt:mu0=0.1,sigma0=0.05,mu1=0.5,sigma1=0.2"};
  bool sched[150], sched_exact[150];
  double obs[150], mis[150], obs2[150], mis2[150];
  for (size_t s = 0; s < 4; s++) {
    fp_policy *p = NULL;
    assert_int_equal(fp_policy_create(specs[s], &p, NULL), FP_OK);
    /* Zero noise: identical to the exact run. */
    noisy n0 = {.seed = 1, .amplitude = 0.0, .fail_at = SIZE_MAX};
    fp_retrain_cost a, b;
    assert_int_equal(fp_policy_run_signal(p, &pb, 0.2, noisy_signal, &n0, sched, obs, mis, &a,
                                          NULL), FP_OK);
    assert_int_equal(fp_policy_run_exact(p, &pb, 0.2, sched_exact, obs2, mis2, &b, NULL), FP_OK);
    assert_memory_equal(sched, sched_exact, sizeof sched);
    assert_true(a.cost == b.cost);
    /* With noise: the policy decides on the estimate, the schedule is
     * scored exactly, and the callback saw the deployed model's period. */
    noisy n = {.seed = 7 + s, .amplitude = 0.3, .fail_at = SIZE_MAX};
    assert_int_equal(fp_policy_run_signal(p, &pb, 0.2, noisy_signal, &n, sched, obs, mis, &a,
                                          NULL), FP_OK);
    assert_int_equal(n.calls, 150);
    size_t last = FP_RETRAIN_NONE;
    for (size_t k = 0; k < 150; k++) {
      assert_true(n.last_seen[k] == last);
      if (sched[k]) last = k;
    }
    assert_int_equal(fp_retrain_evaluate(&pb, 0.2, sched, obs2, mis2, &b, NULL), FP_OK);
    assert_memory_equal(obs, obs2, sizeof obs);
    assert_memory_equal(mis, mis2, sizeof mis);
    assert_true(a.cost == b.cost && a.n_retrains == b.n_retrains);
    fp_retrain_cost oracle;
    assert_int_equal(fp_oracle_solve(&pb, 0.2, NULL, &oracle, NULL), FP_OK);
    assert_true(oracle.cost <= a.cost * (1.0 + 1e-12));
    /* A failing callback stops the run and names the period. */
    noisy bad = {.seed = 1, .fail_at = 17};
    fp_error err;
    assert_int_equal(fp_policy_run_signal(p, &pb, 0.2, noisy_signal, &bad, sched, NULL, NULL, &a,
                                          &err), FP_ERR_NUMERIC);
    assert_non_null(strstr(err.message, "period 17"));
    assert_non_null(strstr(err.message, "estimator failed"));
    fp_policy_destroy(&p);
  }
  free_path(&g);
}

/* ---- excess loss -------------------------------------------------------- */

static void test_excess_loss(void **state)
{
  (void)state;
  /* observed before action, delta = 0.5:  Z = 0 0 1 1 1 0 1 0 */
  const double observed[8] = {0.0, 0.5, 0.6, 2.0, 0.7, 0.1, 0.9, 0.2};
  const bool schedule[8] = {true, false, false, true, false, true, false, false};
  int Z[8];
  fp_error err;
  assert_int_equal(fp_stale_states(observed, 8, 0.5, Z, &err), FP_OK);
  const int Zexp[8] = {0, 0, 1, 1, 1, 0, 1, 0};
  assert_memory_equal(Z, Zexp, sizeof Z);
  fp_excess_loss L;
  assert_int_equal(fp_excess_loss_compute(schedule, Z, 8, 2.0, &L, &err), FP_OK);
  /* retrain with Z = 0: periods 0, 5 (2); wait with Z = 1: periods 2, 4, 6 (3);
   * the retrain at 3 with Z = 1 is free. */
  assert_int_equal(L.n_unnecessary, 2);
  assert_int_equal(L.n_stale_wait, 3);
  assert_int_equal(L.n_stale, 4);
  assert_close(L.c_churn, 2.0 / 3.0, 1e-15, 0.0);
  assert_close(L.c_wait, 1.0 / 3.0, 1e-15, 0.0);
  assert_close(L.loss, 2.0 * 2.0 / 3.0 + 3.0 / 3.0, 1e-15, 0.0);
  /* Katz's backtest arithmetic (Section 7), kappa = 2: 22 stale waits and 3
   * unnecessary retrains give 9.33. */
  enum { N = 30 };
  bool s2[N];
  int z2[N];
  for (size_t k = 0; k < N; k++) {
    z2[k] = k < 22;
    s2[k] = k >= 27;
  }
  assert_int_equal(fp_excess_loss_compute(s2, z2, N, 2.0, &L, NULL), FP_OK);
  assert_close(L.loss, 22.0 / 3.0 + 3.0 * 2.0 / 3.0, 1e-14, 0.0);

  assert_int_equal(fp_excess_loss_compute(schedule, Z, 8, 0.0, &L, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "kappa"));
  int Zbad[8] = {0, 0, 2, 0, 0, 0, 0, 0};
  assert_int_equal(fp_excess_loss_compute(schedule, Zbad, 8, 1.0, &L, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "Z[2]"));
  assert_int_equal(fp_stale_states(observed, 8, NAN, Z, &err), FP_ERR_ARG);
  assert_int_equal(fp_stale_states(NULL, 8, 0.5, Z, &err), FP_ERR_ARG);

  /* On a policy run: the debt filter, scored by the Z rule on its own
   * observed series. */
  gaussian_path g;
  make_path(60, 3, &g);
  fp_retrain_problem pb = {.T = 60, .K = g.K, .D0 = g.D0, .dt = g.dt};
  bool sched[60];
  double obs[60];
  int z[60];
  fp_retrain_cost cost;
  fp_policy *p = NULL;
  assert_int_equal(fp_policy_create("threshold:tau=0.1", &p, NULL), FP_OK);
  assert_int_equal(fp_policy_run_exact(p, &pb, 0.1, sched, obs, NULL, &cost, NULL), FP_OK);
  assert_int_equal(fp_stale_states(obs, 60, 0.1, z, NULL), FP_OK);
  assert_int_equal(fp_excess_loss_compute(sched, z, 60, 1.0, &L, NULL), FP_OK);
  /* The threshold rule at tau = delta retrains exactly when Z = 1: no
   * excess loss at all. */
  assert_int_equal(L.n_unnecessary, 0);
  assert_int_equal(L.n_stale_wait, 0);
  assert_true(L.loss == 0.0);
  assert_int_equal(L.n_stale, cost.n_retrains);
  fp_policy_destroy(&p);
  free_path(&g);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_evaluate_by_hand),
      cmocka_unit_test(test_problem_errors),
      cmocka_unit_test(test_oracle_brute_force),
      cmocka_unit_test(test_oracle_structure),
      cmocka_unit_test(test_oracle_pareto),
      cmocka_unit_test(test_policies_vs_oracle),
      cmocka_unit_test(test_calendar_exact),
      cmocka_unit_test(test_run_signal),
      cmocka_unit_test(test_excess_loss),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
