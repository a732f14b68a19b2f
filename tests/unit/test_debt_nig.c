/* fpentropy tests: the NIG posterior of the learning-debt study: conjugate
 * update against a hand-computed batch posterior, the Student-t predictive
 * against GSL's t density, and the closed-form KL against two-dimensional
 * quadrature (GSL QAGI over ln sigma^2 and beta).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <math.h>
#include <stdio.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>

#include <fpentropy/policy/nig.h>

static fp_nig make(double m, double k, double a, double b)
{
  fp_nig p;
  fp_error err;
  assert_int_equal(fp_nig_init(m, k, a, b, &p, &err), FP_OK);
  return p;
}

/* ---- update ------------------------------------------------------------ */

static void test_update_by_hand(void **state)
{
  (void)state;
  /* Prior (0, 1, 2, 1), data (1, 1), (2, 3): sum x^2 = 5, sum xy = 7,
   * sum y^2 = 10, so by hand k = 6, m = 7/6, a = 3,
   * b = 1 + (10 - 6 (7/6)^2)/2 = 1 + 11/12 = 23/12. */
  fp_nig p = make(0, 1, 2, 1);
  const double x[] = {1, 2}, y[] = {1, 3};
  assert_int_equal(fp_nig_update(&p, x, y, 2, NULL), FP_OK);
  assert_close(p.k, 6.0, 1e-15, 0);
  assert_close(p.m, 7.0 / 6.0, 1e-15, 0);
  assert_close(p.a, 3.0, 1e-15, 0);
  assert_close(p.b, 23.0 / 12.0, 1e-15, 0);
  assert_close(p.lgamma_a, log(2.0), 1e-14, 0);     /* Gamma(3) = 2 */
  assert_close(p.digamma_a, 1.5 - M_EULER, 1e-14, 0); /* psi(3) = 1 + 1/2 - gamma */
}

static void test_update_batch_vs_sequential(void **state)
{
  (void)state;
  /* Random prior and 25 points: one batch update, five updates of five, and
   * the least-squares form of the batch posterior
   *   b_n = b0 + [RSS + k0 Sxx/(k0 + Sxx) (bhat - m0)^2]/2,  bhat = Sxy/Sxx,
   * must agree. */
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 7);
  double x[25], y[25];
  for (int i = 0; i < 25; i++) {
    x[i] = gsl_ran_gaussian(r, 1.3);
    y[i] = 0.7 * x[i] + gsl_ran_gaussian(r, 0.5);
  }
  double m0 = 0.3, k0 = 2.5, a0 = 1.5, b0 = 0.8;
  fp_nig batch = make(m0, k0, a0, b0), seq = batch;
  assert_int_equal(fp_nig_update(&batch, x, y, 25, NULL), FP_OK);
  for (int j = 0; j < 5; j++) assert_int_equal(fp_nig_update(&seq, x + 5 * j, y + 5 * j, 5, NULL), FP_OK);
  double sxx = 0, sxy = 0;
  for (int i = 0; i < 25; i++) sxx += x[i] * x[i], sxy += x[i] * y[i];
  double bhat = sxy / sxx, rss = 0;
  for (int i = 0; i < 25; i++) rss += (y[i] - bhat * x[i]) * (y[i] - bhat * x[i]);
  double b_ls = b0 + 0.5 * (rss + k0 * sxx / (k0 + sxx) * (bhat - m0) * (bhat - m0));
  double m_ls = (k0 * m0 + sxx * bhat) / (k0 + sxx);
  assert_close(batch.b, b_ls, 1e-12, 0);
  assert_close(batch.m, m_ls, 1e-12, 0);
  assert_close(batch.k, k0 + sxx, 1e-14, 0);
  assert_close(batch.a, a0 + 12.5, 0, 0);
  assert_close(seq.b, batch.b, 1e-12, 0);
  assert_close(seq.m, batch.m, 1e-12, 0);
  assert_close(seq.k, batch.k, 1e-13, 0);
  gsl_rng_free(r);
  /* Errors: non-finite data, NULL arrays. */
  fp_error err;
  const double bad[] = {NAN};
  assert_int_equal(fp_nig_update(&seq, bad, bad, 1, &err), FP_ERR_ARG);
  assert_int_equal(fp_nig_update(&seq, NULL, NULL, 1, &err), FP_ERR_ARG);
  assert_int_equal(fp_nig_init(0, -1, 1, 1, &seq, &err), FP_ERR_ARG);
}

/* ---- predictive -------------------------------------------------------- */

static void test_log_score(void **state)
{
  (void)state;
  fp_nig p = make(0.4, 3.0, 4.5, 2.2);
  const double x[] = {-1.2, 0.3, 2.0, 0.0, 1.1}, y[] = {0.5, -0.2, 3.0, 0.1, -1.4};
  double expect = 0.0;
  for (int i = 0; i < 5; i++) {
    double s = sqrt(p.b / p.a * (1 + x[i] * x[i] / p.k));
    expect += log(gsl_ran_tdist_pdf((y[i] - p.m * x[i]) / s, 2 * p.a) / s);
  }
  assert_close(fp_nig_log_score(&p, x, y, 5), expect / 5, 1e-13, 0);
}

/* ---- KL against quadrature --------------------------------------------- */

typedef struct kl_ctx {
  const fp_nig *p, *q;
  double w0, wscale; /* ln sigma^2 = w0 + wscale v */
  double s2;         /* the outer point, for the inner integral */
  double lr_ig;      /* the inverse-gamma log ratio at s2 */
  int near;          /* integrate lr + exp(-lr) - 1 instead of lr */
  double dlgamma;    /* lnG(a_q) - lnG(a_p), by lnpoch */
  gsl_integration_workspace *inner;
} kl_ctx;

/* x + expm1(-x) >= 0 without cancellation (Taylor series near 0). */
static double g_pos(double x)
{
  if (fabs(x) > 0.1) return x + expm1(-x);
  double term = x * x / 2, sum = 0;
  for (int n = 2; n < 30 && fabs(term) > 1e-19 * fabs(sum); n++) {
    sum += term;
    term *= -x / (n + 1);
  }
  return sum;
}

/* KL(p||q) = E_p[lr] = E_p[lr + exp(-lr) - 1] because E_p[exp(-lr)] = 1
 * (q integrates to one): the second integrand is >= 0 everywhere, so the
 * quadrature meets a relative tolerance even for nearly equal posteriors,
 * where E_p[lr] alone would be a sum of large cancelling parts.
 * Inner integrand: phi(z) g(lr_IG + lr_N) with lr_N the conditional-normal
 * log ratio at
 * beta = m_p + z sigma/sqrt(k_p), written in relative differences:
 *   ln N_p - ln N_q = ln(k_p/k_q)/2 - z^2/2 + (k_q/k_p)(z + delta)^2/2
 *                  = -ln(1+eps)/2 + eps z^2/2 + (1+eps)(z delta + delta^2/2),
 * eps = k_q/k_p - 1, delta = (m_p - m_q) sqrt(k_p)/sigma. */
static double inner_f(double z, void *arg)
{
  const kl_ctx *c = arg;
  double eps = (c->q->k - c->p->k) / c->p->k;
  double delta = (c->p->m - c->q->m) * sqrt(c->p->k / c->s2);
  double lr = -0.5 * log1p(eps) + 0.5 * eps * z * z + (1 + eps) * (z * delta + 0.5 * delta * delta);
  double total = c->lr_ig + lr;
  return exp(-0.5 * z * z) / sqrt(2 * M_PI) * (c->near ? g_pos(total) : total);
}

/* Outer integrand over v: the inverse-gamma density of sigma^2 in the
 * variable ln sigma^2 (Jacobian sigma^2) times [IG log ratio + inner]. */
static double outer_f(double v, void *arg)
{
  kl_ctx *c = arg;
  const fp_nig *p = c->p, *q = c->q;
  double w = c->w0 + c->wscale * v;
  double s2 = exp(w);
  double logdens = p->a * log(p->b) - p->lgamma_a - p->a * w - p->b / s2;
  double dens = exp(logdens) * c->wscale;
  if (dens == 0.0) return 0.0;
  /* ln IG_p - ln IG_q = a_p ln b_p - a_q ln b_q - lnG(a_p) + lnG(a_q)
   *                   - (a_p - a_q) ln s2 - (b_p - b_q)/s2 */
  double lr = p->a * log(p->b / q->b) + (p->a - q->a) * log(q->b) + c->dlgamma -
              (p->a - q->a) * w - (p->b - q->b) / s2;
  c->s2 = s2;
  c->lr_ig = lr;
  gsl_function f = {inner_f, c};
  double res, abserr;
  gsl_integration_qagi(&f, 0, 1e-13, 1000, c->inner, &res, &abserr);
  return dens * res;
}

static double kl_quadrature(const fp_nig *p, const fp_nig *q)
{
  kl_ctx c = {.p = p, .q = q};
  /* The non-negative form only where the log ratio stays small (exp(-lr)
   * would overflow for far-apart pairs, where plain lr has no cancellation). */
  c.near = fabs(q->m - p->m) * sqrt(p->k * p->a / p->b) < 0.1 && fabs(q->k / p->k - 1) < 0.05 &&
           fabs(q->a / p->a - 1) < 0.05 && fabs(q->b / p->b - 1) < 0.05;
  c.w0 = log(p->b / p->a);
  c.wscale = 1.0 / sqrt(p->a);
  if (q->a == p->a) c.dlgamma = 0.0;
  else {
    gsl_sf_result r;
    assert_int_equal(gsl_sf_lnpoch_e(p->a, q->a - p->a, &r), GSL_SUCCESS);
    c.dlgamma = r.val;
  }
  c.inner = gsl_integration_workspace_alloc(1000);
  gsl_integration_workspace *outer = gsl_integration_workspace_alloc(1000);
  gsl_function f = {outer_f, &c};
  double res, abserr;
  gsl_integration_qagi(&f, 0, 1e-12, 1000, outer, &res, &abserr);
  gsl_integration_workspace_free(outer);
  gsl_integration_workspace_free(c.inner);
  return res;
}

static void check_pair(const fp_nig *p, const fp_nig *q, const char *what)
{
  double closed = fp_nig_kl(p, q), quad = kl_quadrature(p, q);
  double rel = fabs(closed - quad) / fabs(quad);
  if (!(rel <= 1e-8))
    print_error("%s: NIG(%g,%g,%g,%g) || NIG(%g,%g,%g,%g): closed %.17g, quadrature %.17g, rel %.3g\n",
                what, p->m, p->k, p->a, p->b, q->m, q->k, q->a, q->b, closed, quad, rel);
  assert_true(rel <= 1e-8);
  assert_true(closed > 0.0);
}

static void test_kl_quadrature(void **state)
{
  (void)state;
  gsl_set_error_handler_off();
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 2026);
  for (int i = 0; i < 12; i++) { /* generic random pairs */
    fp_nig p = make(gsl_ran_gaussian(r, 2), 0.5 + 50 * gsl_rng_uniform(r), 1 + 100 * gsl_rng_uniform(r),
                    0.3 + 60 * gsl_rng_uniform(r));
    fp_nig q = make(gsl_ran_gaussian(r, 2), 0.5 + 50 * gsl_rng_uniform(r), 1 + 100 * gsl_rng_uniform(r),
                    0.3 + 60 * gsl_rng_uniform(r));
    check_pair(&p, &q, "random");
  }
  for (int i = 0; i < 6; i++) { /* near-identical: relative changes ~1e-4 */
    fp_nig p = make(gsl_ran_gaussian(r, 1), 1 + 20 * gsl_rng_uniform(r), 2 + 40 * gsl_rng_uniform(r),
                    1 + 20 * gsl_rng_uniform(r));
    double e = 1e-4;
    fp_nig q = make(p.m + e * gsl_ran_gaussian(r, 1), p.k * (1 + e * gsl_ran_gaussian(r, 1)),
                    i % 2 ? p.a : p.a * (1 + e * gsl_ran_gaussian(r, 1)),
                    p.b * (1 + e * gsl_ran_gaussian(r, 1)));
    check_pair(&p, &q, "near-identical");
  }
  /* Far apart, and pairs as the study makes them (the prior against a shadow
   * 200 periods on, and shadow one period after a retrain). */
  fp_nig prior = make(0, 1, 2, 1);
  fp_nig far = make(6.0, 900.0, 502.0, 4000.0);
  check_pair(&far, &prior, "far (shadow || prior)");
  check_pair(&prior, &far, "far (prior || shadow)");
  fp_nig s1 = make(0.95, 640.0, 402.0, 380.0), s0 = make(0.90, 635.0, 399.5, 377.0);
  check_pair(&s1, &s0, "one period after a retrain");
  gsl_rng_free(r);
}

static void test_kl_identical(void **state)
{
  (void)state;
  const double pars[][4] = {{0, 1, 2, 1}, {1.5, 640, 402, 380}, {-3, 0.2, 0.7, 50}};
  for (int i = 0; i < 3; i++) {
    fp_nig p = make(pars[i][0], pars[i][1], pars[i][2], pars[i][3]);
    fp_nig q = p;
    assert_true(fp_nig_kl(&p, &q) == 0.0);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_update_by_hand),
      cmocka_unit_test(test_update_batch_vs_sequential),
      cmocka_unit_test(test_log_score),
      cmocka_unit_test(test_kl_quadrature),
      cmocka_unit_test(test_kl_identical),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
