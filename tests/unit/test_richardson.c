/* fpentropy tests: Richardson arithmetic (richardson.h) and the estimated run (estimate.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/balance/richardson.h>
#include <fpentropy/problem/case.h>
#include <fpentropy/time/estimate.h>
#include <fpentropy/time/run.h>

#include "test_support.h"

/* A manufactured refinement sequence Q(h) = Q* + C h^p + D h^(p+1). */
static double manufactured(double h, double p, double d)
{
  return 1.25 + 0.7 * pow(h, p) + d * pow(h, p + 1.0);
}

/* A pure power: the estimate is exact up to round-off, for order 2 and
 * any other order and ratio. */
static void test_pure_power_is_exact(void **state)
{
  (void)state;
  for (double h = 0.2; h > 1e-3; h /= 2) {
    double qh = manufactured(h, 2.0, 0.0), q2h = manufactured(2 * h, 2.0, 0.0);
    assert_close(fp_richardson_error(qh, q2h, 2.0, 2.0), 1.25 - qh, 1e-12, 1e-15);
    assert_close(fp_richardson_value(qh, q2h, 2.0, 2.0), 1.25, 0.0, 1e-14);
    /* the textbook forms (Q_h - Q_2h)/3 and (4 Q_h - Q_2h)/3 */
    assert_close(fp_richardson_error(qh, q2h, 2.0, 2.0), (qh - q2h) / 3.0, 1e-15, 0.0);
    assert_close(fp_richardson_value(qh, q2h, 2.0, 2.0), (4 * qh - q2h) / 3.0, 1e-15, 0.0);
  }
  for (double p = 1.0; p <= 4.0; p += 1.0) {
    double r = 3.0, h = 0.05;
    double qh = manufactured(h, p, 0.0), qrh = manufactured(r * h, p, 0.0);
    assert_close(fp_richardson_value(qh, qrh, r, p), 1.25, 0.0, 1e-13);
    assert_close(fp_richardson_order(qh, qrh, manufactured(r * r * h, p, 0.0), r), p, 1e-10, 0.0);
  }
}

/* With a higher-order term the estimate is right to leading order: the
 * estimated/true ratio tends to 1 like h, and the extrapolated error
 * falls at order p + 1 while the plain one falls at order p. */
static void test_known_order_with_correction(void **state)
{
  (void)state;
  double prev_plain = NAN, prev_rich = NAN;
  for (double h = 0.1; h > 5e-4; h /= 2) {
    double qh = manufactured(h, 2.0, 3.0), q2h = manufactured(2 * h, 2.0, 3.0),
           q4h = manufactured(4 * h, 2.0, 3.0);
    double truth = 1.25 - qh, estimate = fp_richardson_error(qh, q2h, 2.0, 2.0);
    /* estimate/true = (C + 7/3 D h) / (C + D h) = 1 + (4/3) D h / C + ... */
    assert_close(estimate / truth, (0.7 + 7.0 * h) / (0.7 + 3.0 * h), 1e-9, 0.0);
    double plain = fabs(truth), rich = fabs(fp_richardson_value(qh, q2h, 2.0, 2.0) - 1.25);
    if (isfinite(prev_plain)) {
      assert_close(log2(prev_plain / plain), 2.0, 0.0, 8.0 * h); /* 2 + (D h / C) / ln 2 */
      assert_close(log2(prev_rich / rich), 3.0, 0.0, 1e-6);
    }
    prev_plain = plain, prev_rich = rich;
    double observed = NAN;
    fp_richardson_verdict v = fp_richardson_assess(qh, q2h, q4h, 2.0, 2.0, 0.5, 1e-14, &observed);
    /* the observed order 2 + O(h) */
    assert_close(observed, 2.0, 0.0, 60.0 * h);
    if (h < 0.02) assert_int_equal(v, FP_RICHARDSON_RELIABLE);
  }
}

static void test_verdicts(void **state)
{
  (void)state;
  double p = NAN;
  /* a first-order sequence is flagged */
  assert_int_equal(fp_richardson_assess(1.01, 1.02, 1.04, 2.0, 2.0, 0.5, 0.0, &p),
                   FP_RICHARDSON_ORDER_OFF);
  assert_close(p, 1.0, 1e-12, 0.0);
  /* a log-divergent one (constant increments, like sigma_tot at an absorbing wall): order 0 */
  assert_int_equal(fp_richardson_assess(1.3, 1.155, 1.01, 2.0, 2.0, 0.5, 0.0, &p),
                   FP_RICHARDSON_ORDER_OFF);
  assert_close(p, 0.0, 0.0, 1e-12);
  /* differences changing sign */
  assert_int_equal(fp_richardson_assess(1.0, 1.01, 0.97, 2.0, 2.0, 0.5, 0.0, &p),
                   FP_RICHARDSON_OSCILLATING);
  /* a fine difference under the noise level: no order */
  assert_int_equal(fp_richardson_assess(1.0, 1.0 + 1e-15, 1.0 + 4e-15, 2.0, 2.0, 0.5, 1e-13, &p),
                   FP_RICHARDSON_NOISE);
  assert_true(isnan(p));
  assert_int_equal(fp_richardson_assess(1.0, 1.0 + 1e-3, 1.0 + 5e-3, 2.0, 2.0, 0.5, 1e-13, &p),
                   FP_RICHARDSON_RELIABLE);
  assert_close(p, 2.0, 1e-9, 0.0);
  assert_string_equal(fp_richardson_verdict_name(FP_RICHARDSON_OSCILLATING), "oscillating");
  /* degenerate arguments */
  assert_true(isnan(fp_richardson_error(1.0, 2.0, 1.0, 2.0)));
  assert_true(isnan(fp_richardson_error(1.0, 2.0, 2.0, 0.0)));
  assert_true(isnan(fp_richardson_order(1.0, 1.0, 2.0, 2.0)));
}

/* ---- the estimated run: coarse-grid bookkeeping ----------------------- */

static const char *const ou1d =
    "[domain]\ndimension = 1\nlower = -8\nupper = 8\ncells = 160\n"
    "[dynamics]\ndrift = -x\ndiffusion = 1\n"
    "[initial]\ndensity = exp(-(x-2)^2/(2*0.25))\n[reference]\ndensity = exp(-x^2/2)\n"
    "[time]\nend = 0.5\noutputs = 6\nrtol = 1e-8\natol = 1e-14\n"
    "[output]\nsnapshots = 0\n";

typedef struct rows {
  size_t n;
  double kl[16], sigma[16], t[16];
} rows;

static int keep_row(const fp_balance_row *row, void *ctx)
{
  rows *r = ctx;
  if (r->n < 16) r->t[r->n] = row->t, r->kl[r->n] = row->kl, r->sigma[r->n++] = row->sigma_tot;
  return 0;
}

static void test_estimated_run_matches_separate_coarse_run(void **state)
{
  (void)state;
  const char *const on[] = {"output.error_estimate=on", NULL};
  fp_case *c = fp_test_case(ou1d, on);
  fp_error err;
  rows fine = {0}, coarse = {0};
  fp_run_options opt = {.write_files = false, .on_row = keep_row, .row_ctx = &fine};
  fp_estimate e;
  fp_run_result res;
  assert_int_equal(fp_run_case_estimated(c, &opt, &res, &e, &err), FP_OK);
  assert_int_equal(e.levels, 2);
  assert_int_equal(e.cells[0], 160);
  assert_int_equal(e.cells[1], 80);
  assert_int_equal(e.n_times, 6);
  assert_int_equal(fine.n, 6); /* the caller's row callback sees the case's grid only */
  assert_close(e.rtol[1], 1e-9, 1e-15, 0.0);
  int kl = fp_estimate_find(&e, "kl"), sg = fp_estimate_find(&e, "sigma_tot");
  assert_true(kl >= 0 && sg >= 0);
  assert_true(e.has_exact[kl]);
  assert_int_equal(fp_estimate_find(&e, "min_p"), -1);
  assert_int_equal(fp_estimate_find(&e, "residual"), -1);

  /* the same coarse grid run on its own, with the tightened tolerances */
  const char *const coarse_set[] = {"domain.cells=80", "time.rtol=1e-9", "time.atol=1e-15", NULL};
  fp_case *cc = fp_test_case(ou1d, coarse_set);
  cc->rtol = e.rtol[1], cc->atol = e.atol[1]; /* bit for bit what the estimate used */
  fp_run_options copt = {.write_files = false, .on_row = keep_row, .row_ctx = &coarse};
  assert_int_equal(fp_run_case(cc, &copt, NULL, &err), FP_OK);
  assert_int_equal(coarse.n, 6);
  size_t nq = e.n_quantities;
  for (size_t k = 0; k < 6; k++) {
    assert_true(coarse.t[k] == fine.t[k]);
    assert_close(e.value[1][k * nq + (size_t)kl], coarse.kl[k], 0.0, 0.0);
    assert_close(e.err[k * nq + (size_t)kl], (fine.kl[k] - coarse.kl[k]) / 3.0, 0.0, 0.0);
    assert_close(e.rich[k * nq + (size_t)sg], (4.0 * fine.sigma[k] - coarse.sigma[k]) / 3.0, 1e-15,
                 1e-16);
    /* and the estimate is a good one on this smooth case */
    double truth = e.exact[k * nq + (size_t)kl] - fine.kl[k];
    if (k > 0) assert_close(e.err[k * nq + (size_t)kl] / truth, 1.0, 0.05, 0.0);
  }
  fp_estimate_clear(&e);
  fp_case_destroy(&cc);
  fp_case_destroy(&c);
}

/* verify mode: three grids, an observed order near 2 at every output but t = 0
 * (where the initial data are sampled and the differences are tiny). */
static void test_verify_mode_orders(void **state)
{
  (void)state;
  const char *const verify[] = {"output.error_estimate=verify", NULL};
  fp_case *c = fp_test_case(ou1d, verify);
  fp_error err;
  fp_run_options opt = {.write_files = false};
  fp_estimate e;
  assert_int_equal(fp_run_case_estimated(c, &opt, NULL, &e, &err), FP_OK);
  assert_int_equal(e.levels, 3);
  assert_int_equal(e.cells[2], 40);
  assert_non_null(e.order);
  int kl = fp_estimate_find(&e, "kl"), mass = fp_estimate_find(&e, "mass");
  size_t nq = e.n_quantities;
  for (size_t k = 1; k < e.n_times; k++) {
    assert_int_equal(e.verdict[k * nq + (size_t)kl], FP_RICHARDSON_RELIABLE);
    assert_close(e.order[k * nq + (size_t)kl], 2.0, 0.0, 0.1);
    /* mass is conserved to round-off on every grid: noise, no order */
    assert_int_equal(e.verdict[k * nq + (size_t)mass], FP_RICHARDSON_NOISE);
  }
  fp_estimate_clear(&e);
  fp_case_destroy(&c);
}

static void test_estimate_needs_divisible_cells(void **state)
{
  (void)state;
  const char *const verify[] = {"output.error_estimate=verify", "domain.cells=162", NULL};
  fp_case *c = fp_test_case(ou1d, verify);
  fp_error err;
  fp_run_options opt = {.write_files = false};
  assert_int_equal(fp_run_case_estimated(c, &opt, NULL, NULL, &err), FP_ERR_CASE);
  assert_non_null(strstr(err.message, "divisible by 4"));
  fp_case_destroy(&c);
  /* off is exactly one plain run */
  const char *const off[] = {"domain.cells=81", NULL};
  c = fp_test_case(ou1d, off);
  fp_estimate e;
  assert_int_equal(fp_run_case_estimated(c, &opt, NULL, &e, &err), FP_OK);
  assert_int_equal(e.levels, 1);
  assert_int_equal(e.n_quantities, 0);
  fp_estimate_clear(&e);
  fp_case_destroy(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pure_power_is_exact),
      cmocka_unit_test(test_known_order_with_correction),
      cmocka_unit_test(test_verdicts),
      cmocka_unit_test(test_estimated_run_matches_separate_coarse_run),
      cmocka_unit_test(test_verify_mode_orders),
      cmocka_unit_test(test_estimate_needs_divisible_cells),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
