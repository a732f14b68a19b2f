/* fpentropy tests: closed forms for linear-Gaussian dynamics (gaussian.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GSL's error handler is deliberately left at its aborting default here: the
 * module must never rely on the CLI having turned it off. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/balance/gaussian.h>
#include <fpentropy/problem/grid.h>

#include "test_support.h"

/* ---- model callbacks -------------------------------------------------- */

/* Parameters shared by the callbacks below. */
typedef struct params {
  int dim;
  double c0[3];       /* c(t) = c0 + c1 t */
  double c1[3];
  double D0[3][3];    /* D(t) = D0 (1 + d1 t) */
  double d1;
  double fail_after;  /* D(t) fails for t > fail_after (when > 0) */
} params;

static int c_linear(double t, double out[3], void *ctx)
{
  const params *p = ctx;
  for (int i = 0; i < p->dim; i++) out[i] = p->c0[i] + p->c1[i] * t;
  return 0;
}

static int d_scaled(double t, double out[3][3], void *ctx)
{
  const params *p = ctx;
  if (p->fail_after > 0.0 && t > p->fail_after) return -1;
  for (int i = 0; i < p->dim; i++)
    for (int j = 0; j < p->dim; j++) out[i][j] = p->D0[i][j] * (1.0 + p->d1 * t);
  return 0;
}

static int c_nan(double t, double out[3], void *ctx)
{
  (void)t;
  (void)ctx;
  out[0] = NAN;
  return 0;
}

static fp_gaussian make_gaussian(int dim, const double *mean, const double *cov)
{
  fp_gaussian g;
  memset(&g, 0, sizeof g);
  g.dim = dim;
  for (int i = 0; i < dim; i++) {
    g.mean[i] = mean[i];
    for (int j = 0; j < dim; j++) g.cov[i][j] = cov[i * dim + j];
  }
  return g;
}

static fp_gaussian_frozen make_frozen(int dim, const double *A, const double *c, const double *D)
{
  fp_gaussian_frozen f;
  memset(&f, 0, sizeof f);
  f.dim = dim;
  for (int i = 0; i < dim; i++) {
    f.c[i] = c ? c[i] : 0.0;
    for (int j = 0; j < dim; j++) {
      f.A[i][j] = A[i * dim + j];
      f.D[i][j] = D[i * dim + j];
    }
  }
  return f;
}

/* ---- OU moments -------------------------------------------------------- */

/* a = -x, D = 1, p(0) = N(2, 0.25): m = 2 e^-t, S = 1 - 0.75 e^-2t. */
static void test_ou_1d_closed_form(void **state)
{
  (void)state;
  params par = {.dim = 1, .D0 = {{1.0}}};
  fp_gaussian_model model = {.dim = 1, .A = {{1.0}}, .D = d_scaled, .ctx = &par,
                             .m0 = {2.0}, .S0 = {{0.25}}};
  fp_gaussian_ou *sol = NULL;
  fp_error err;
  assert_int_equal(fp_gaussian_ou_create(&model, &sol, &err), FP_OK);
  assert_non_null(sol);
  assert_ptr_not_equal(fp_gaussian_ou_model(sol), &model); /* a copy */
  /* Increasing times, then going back (restart), then forward again. */
  const double times[] = {0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 0.3, 0.7, 3.0};
  for (size_t n = 0; n < sizeof times / sizeof times[0]; n++) {
    double t = times[n];
    fp_gaussian p, dp;
    assert_int_equal(fp_gaussian_ou_at(sol, t, &p, &dp, &err), FP_OK);
    double m = 2.0 * exp(-t), S = 1.0 - 0.75 * exp(-2.0 * t);
    assert_int_equal(p.dim, 1);
    assert_close(p.mean[0], m, 1e-12, 1e-13);
    assert_close(p.cov[0][0], S, 1e-12, 1e-13);
    assert_close(dp.mean[0], -m, 1e-12, 1e-13);
    assert_close(dp.cov[0][0], -2.0 * S + 2.0, 1e-12, 1e-13);
  }
  fp_gaussian_ou_destroy(&sol);
  assert_null(sol);
  fp_gaussian_ou_destroy(&sol); /* NULL-safe */
  fp_gaussian_ou_destroy(NULL);
}

/* a = -(x - v t), D = 1 + t/4, p(0) = N(m0, S0):
 *   m' = -(m - v t)          =>  m = v (t - 1 + e^-t) + m0 e^-t
 *   S' = -2 S + 2 + t/2      =>  S = 7/8 + t/4 + (S0 - 7/8) e^-2t
 * (particular solution alpha + beta t: beta = 1/4, alpha = (2 - beta)/2). */
static void test_ou_time_dependent(void **state)
{
  (void)state;
  const double v = 0.8, m0 = 0.5, S0 = 0.3;
  params par = {.dim = 1, .c1 = {v}, .D0 = {{1.0}}, .d1 = 0.25};
  fp_gaussian_model model = {.dim = 1, .A = {{1.0}}, .c = c_linear, .D = d_scaled,
                             .ctx = &par, .m0 = {m0}, .S0 = {{S0}}};
  fp_gaussian_ou *sol = NULL;
  fp_error err;
  assert_int_equal(fp_gaussian_ou_create(&model, &sol, &err), FP_OK);
  for (double t = 0.0; t <= 8.0; t += 0.4) {
    fp_gaussian p, dp;
    assert_int_equal(fp_gaussian_ou_at(sol, t, &p, &dp, &err), FP_OK);
    double m = v * (t - 1.0 + exp(-t)) + m0 * exp(-t);
    double S = 0.875 + 0.25 * t + (S0 - 0.875) * exp(-2.0 * t);
    assert_close(p.mean[0], m, 1e-12, 1e-13);
    assert_close(p.cov[0][0], S, 1e-12, 1e-13);
    assert_close(dp.mean[0], -(m - v * t), 1e-12, 1e-13);
    assert_close(dp.cov[0][0], 0.25 - 2.0 * (S0 - 0.875) * exp(-2.0 * t), 1e-12, 1e-13);
  }
  fp_gaussian_ou_destroy(&sol);
}

/* A non-symmetric 2D process relaxes to the Lyapunov solution. */
static void test_ou_2d_relaxes_to_stationary(void **state)
{
  (void)state;
  params par = {.dim = 2, .c0 = {0.2, -0.1}, .D0 = {{1.0, 0.3}, {0.3, 0.5}}};
  fp_gaussian_model model = {.dim = 2, .A = {{1.0, -0.5}, {0.5, 1.0}}, .c = c_linear,
                             .D = d_scaled, .ctx = &par, .m0 = {1.0, -2.0},
                             .S0 = {{0.2, 0.05}, {0.05, 0.1}}};
  fp_gaussian_ou *sol = NULL;
  fp_error err;
  assert_int_equal(fp_gaussian_ou_create(&model, &sol, &err), FP_OK);
  fp_gaussian p, dp, pss;
  assert_int_equal(fp_gaussian_ou_at(sol, 40.0, &p, &dp, &err), FP_OK);
  fp_gaussian_frozen f;
  assert_int_equal(fp_gaussian_model_frozen(&model, 40.0, &f, &err), FP_OK);
  assert_int_equal(fp_gaussian_stationary(&f, &pss, &err), FP_OK);
  for (int i = 0; i < 2; i++) {
    assert_close(p.mean[i], pss.mean[i], 1e-12, 1e-13);
    assert_close(dp.mean[i], 0.0, 0.0, 1e-12);
    for (int j = 0; j < 2; j++) {
      assert_close(p.cov[i][j], pss.cov[i][j], 1e-12, 1e-13);
      assert_close(dp.cov[i][j], 0.0, 0.0, 1e-12);
    }
  }
  /* Lyapunov residual A S + S A^T - 2 D. */
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      double r = -2.0 * f.D[i][j];
      for (int k = 0; k < 2; k++) r += f.A[i][k] * pss.cov[k][j] + pss.cov[i][k] * f.A[j][k];
      assert_close(r, 0.0, 0.0, 1e-14);
    }
  fp_gaussian_ou_destroy(&sol);
}

/* A failing callback gives FP_ERR_SOLVER naming it (not a GSL abort), and the
 * object recovers for earlier times. */
static void test_ou_errors(void **state)
{
  (void)state;
  fp_error err;
  fp_gaussian_ou *sol = NULL;
  params par = {.dim = 1, .D0 = {{1.0}}, .fail_after = 1.0};
  fp_gaussian_model model = {.dim = 1, .A = {{1.0}}, .D = d_scaled, .ctx = &par,
                             .m0 = {0.0}, .S0 = {{1.0}}};
  assert_int_equal(fp_gaussian_ou_create(&model, &sol, &err), FP_OK);
  fp_gaussian p;
  assert_int_equal(fp_gaussian_ou_at(sol, 2.0, &p, NULL, &err), FP_ERR_SOLVER);
  assert_non_null(strstr(err.message, "D(t)"));
  assert_int_equal(fp_gaussian_ou_at(sol, 0.5, &p, NULL, &err), FP_OK);
  assert_close(p.cov[0][0], 1.0, 1e-12, 0.0);
  assert_int_equal(fp_gaussian_ou_at(sol, -1.0, &p, NULL, &err), FP_ERR_ARG);
  assert_int_equal(fp_gaussian_ou_at(sol, NAN, &p, NULL, &err), FP_ERR_ARG);
  fp_gaussian_ou_destroy(&sol);

  /* Invalid models are rejected at creation with *out left NULL. */
  fp_gaussian_model bad = model;
  bad.D = NULL;
  assert_int_equal(fp_gaussian_ou_create(&bad, &sol, &err), FP_ERR_ARG);
  assert_null(sol);
  assert_non_null(strstr(err.message, "D"));
  bad = model;
  bad.S0[0][0] = -1.0;
  assert_int_equal(fp_gaussian_ou_create(&bad, &sol, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "positive definite"));
  bad = model;
  bad.dim = 4;
  assert_int_equal(fp_gaussian_ou_create(&bad, &sol, &err), FP_ERR_ARG);
  bad = model;
  bad.c = c_nan;
  assert_int_equal(fp_gaussian_ou_create(&bad, &sol, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "c(t)"));
  assert_int_equal(fp_gaussian_ou_create(NULL, &sol, &err), FP_ERR_ARG);
  assert_null(sol);
}

/* ---- stationary densities --------------------------------------------- */

static void test_stationary_1d_and_3d(void **state)
{
  (void)state;
  fp_error err;
  fp_gaussian pss;
  /* 1D: S = D/A, m = c/A. */
  fp_gaussian_frozen f1 = make_frozen(1, (double[]){2.0}, (double[]){3.0}, (double[]){0.5});
  assert_int_equal(fp_gaussian_stationary(&f1, &pss, &err), FP_OK);
  assert_int_equal(pss.dim, 1);
  assert_close(pss.cov[0][0], 0.25, 1e-15, 0.0);
  assert_close(pss.mean[0], 1.5, 1e-15, 0.0);

  /* 3D, non-symmetric A, correlated D: check the residuals. */
  const double A[9] = {1.0, 0.4, 0.0, -0.3, 0.8, 0.2, 0.1, -0.2, 1.5};
  const double D[9] = {1.0, 0.2, 0.1, 0.2, 0.7, -0.1, 0.1, -0.1, 0.4};
  const double c[3] = {0.3, -0.2, 0.5};
  fp_gaussian_frozen f3 = make_frozen(3, A, c, D);
  assert_int_equal(fp_gaussian_stationary(&f3, &pss, &err), FP_OK);
  for (int i = 0; i < 3; i++) {
    double r = -c[i];
    for (int k = 0; k < 3; k++) r += A[i * 3 + k] * pss.mean[k];
    assert_close(r, 0.0, 0.0, 1e-15);
    for (int j = 0; j < 3; j++) {
      assert_close(pss.cov[i][j], pss.cov[j][i], 0.0, 0.0);
      r = -2.0 * D[i * 3 + j];
      for (int k = 0; k < 3; k++) r += A[i * 3 + k] * pss.cov[k][j] + pss.cov[i][k] * A[j * 3 + k];
      assert_close(r, 0.0, 0.0, 1e-14);
    }
  }
}

static void test_stationary_unstable(void **state)
{
  (void)state;
  fp_error err;
  fp_gaussian pss;
  const double I2[4] = {1.0, 0.0, 0.0, 1.0};
  /* one negative eigenvalue */
  fp_gaussian_frozen f = make_frozen(2, (double[]){1.0, 0.0, 0.0, -0.1}, NULL, I2);
  assert_int_equal(fp_gaussian_stationary(&f, &pss, &err), FP_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "eigenvalue"));
  /* a pure rotation: eigenvalues +-i, real part 0 */
  f = make_frozen(2, (double[]){0.0, 1.0, -1.0, 0.0}, NULL, I2);
  assert_int_equal(fp_gaussian_stationary(&f, &pss, &err), FP_ERR_UNSUPPORTED);
  /* 1D zero drift */
  f = make_frozen(1, (double[]){0.0}, NULL, (double[]){1.0});
  assert_int_equal(fp_gaussian_stationary(&f, &pss, &err), FP_ERR_UNSUPPORTED);
  /* D not positive definite */
  f = make_frozen(2, I2, NULL, (double[]){1.0, 2.0, 2.0, 1.0});
  assert_int_equal(fp_gaussian_stationary(&f, &pss, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "D"));
}

/* ---- densities and divergences ---------------------------------------- */

static void test_density_and_grid(void **state)
{
  (void)state;
  fp_error err;
  const double mean[2] = {0.5, -0.25};
  const double cov[4] = {0.5, 0.1, 0.1, 0.3};
  fp_gaussian g = make_gaussian(2, mean, cov);
  /* log N at x by hand: det = 0.14, inverse = [0.3 -0.1; -0.1 0.5]/0.14. */
  const double x[3] = {1.0, 0.5, 0.0};
  double rx = 0.5, ry = 0.75;
  double quad = (0.3 * rx * rx - 0.2 * rx * ry + 0.5 * ry * ry) / 0.14;
  double expect = -0.5 * quad - 0.5 * log(0.14) - log(2.0 * M_PI);
  double lp = 0.0, pd = 0.0;
  assert_int_equal(fp_gaussian_log_density(&g, x, &lp, &err), FP_OK);
  assert_close(lp, expect, 1e-14, 0.0);
  assert_int_equal(fp_gaussian_density(&g, x, &pd, &err), FP_OK);
  assert_close(pd, exp(expect), 1e-14, 0.0);

  /* Grid fill: the midpoint rule on +-8 sigma has mass 1 to round-off. */
  fp_grid grid = {.dim = 2, .n = {64, 48, 1}, .lower = {-5.5, -4.6}, .upper = {6.5, 4.1}};
  assert_int_equal(fp_grid_init(&grid, &err), FP_OK);
  double *a = malloc(grid.ncells * sizeof *a);
  double *b = malloc(grid.ncells * sizeof *b);
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(fp_gaussian_fill_grid(&g, &grid, a, &err), FP_OK);
  double mass = 0.0;
  for (size_t i = 0; i < grid.ncells; i++) mass += a[i] * grid.cell_volume;
  assert_close(mass, 1.0, 1e-10, 0.0);
  double xc[3];
  fp_grid_cell_center(&grid, 77, xc);
  assert_int_equal(fp_gaussian_density(&g, xc, &pd, &err), FP_OK);
  /* the fill evaluates the exponent row by row: the same up to the
   * rounding of the exponent, which is relative to its size */
  assert_close(a[77], pd, 8.0 * DBL_EPSILON * (1.0 + fabs(log(pd))), 0.0);

  /* L1 distance: 0 to itself, 2 * (1 - overlap) for a shifted copy, and a
   * positive number bounded by 2 for a far-away one. */
  assert_close(fp_gaussian_l1_distance(&grid, a, a), 0.0, 0.0, 0.0);
  fp_gaussian far = g;
  far.mean[0] += 0.1;
  assert_int_equal(fp_gaussian_fill_grid(&far, &grid, b, &err), FP_OK);
  double l1 = fp_gaussian_l1_distance(&grid, a, b);
  assert_true(l1 > 0.0 && l1 < 2.0);
  /* Shift of delta along x: L1 = 2 (2 Phi(delta / (2 sigma_x|y)) - 1) with
   * the conditional standard deviation sigma^2 = 1/(S^-1)_xx = 0.14/0.3. */
  double sig = sqrt(0.14 / 0.3);
  assert_close(l1, 2.0 * erf(0.1 / (2.0 * sig) / sqrt(2.0)), 1e-4, 0.0);
  assert_true(isnan(fp_gaussian_l1_distance(&grid, a, NULL)));

  /* Dimension mismatch and bad covariances. */
  fp_grid g1 = {.dim = 1, .n = {10, 1, 1}, .lower = {-1.0}, .upper = {1.0}};
  assert_int_equal(fp_grid_init(&g1, &err), FP_OK);
  assert_int_equal(fp_gaussian_fill_grid(&g, &g1, a, &err), FP_ERR_ARG);
  fp_gaussian bad = make_gaussian(2, mean, (double[]){1.0, 0.5, 0.0, 1.0});
  assert_int_equal(fp_gaussian_log_density(&bad, x, &lp, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "symmetric"));
  bad = make_gaussian(2, mean, (double[]){1.0, 2.0, 2.0, 1.0});
  assert_int_equal(fp_gaussian_density(&bad, x, &pd, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "positive definite"));
  bad.dim = 0;
  assert_int_equal(fp_gaussian_density(&bad, x, &pd, &err), FP_ERR_ARG);
  free(a);
  free(b);
}

static void test_kl(void **state)
{
  (void)state;
  fp_error err;
  double kl = -1.0;
  /* 1D: ln(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2. */
  fp_gaussian p = make_gaussian(1, (double[]){0.3}, (double[]){0.5});
  fp_gaussian q = make_gaussian(1, (double[]){-0.4}, (double[]){2.0});
  assert_int_equal(fp_gaussian_kl(&p, &q, &kl, &err), FP_OK);
  double expect = 0.5 * log(2.0 / 0.5) + (0.5 + 0.49) / (2.0 * 2.0) - 0.5;
  assert_close(kl, expect, 1e-14, 0.0);
  assert_int_equal(fp_gaussian_kl(&p, &p, &kl, &err), FP_OK);
  assert_close(kl, 0.0, 0.0, 1e-16);

  /* 2D product densities: KL is the sum of the 1D ones. */
  fp_gaussian p2 = make_gaussian(2, (double[]){0.3, 1.0}, (double[]){0.5, 0.0, 0.0, 1.5});
  fp_gaussian q2 = make_gaussian(2, (double[]){-0.4, 0.0}, (double[]){2.0, 0.0, 0.0, 0.7});
  double expect2 = expect + 0.5 * log(0.7 / 1.5) + (1.5 + 1.0) / (2.0 * 0.7) - 0.5;
  assert_int_equal(fp_gaussian_kl(&p2, &q2, &kl, &err), FP_OK);
  assert_close(kl, expect2, 1e-14, 0.0);

  assert_int_equal(fp_gaussian_kl(&p, &q2, &kl, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "dimensions differ"));
}

/* d/dt KL(p(t) || q) from fp_gaussian_kl_rate() against a centred difference
 * of fp_gaussian_kl() along an OU trajectory. */
static void test_kl_rate_matches_difference(void **state)
{
  (void)state;
  params par = {.dim = 2, .c0 = {0.2, -0.1}, .c1 = {0.1, 0.05},
                .D0 = {{1.0, 0.3}, {0.3, 0.5}}, .d1 = 0.1};
  fp_gaussian_model model = {.dim = 2, .A = {{1.0, -0.5}, {0.5, 1.0}}, .c = c_linear,
                             .D = d_scaled, .ctx = &par, .m0 = {1.0, -2.0},
                             .S0 = {{0.2, 0.05}, {0.05, 0.1}}};
  fp_gaussian q = make_gaussian(2, (double[]){0.5, 0.1}, (double[]){0.8, -0.2, -0.2, 0.6});
  fp_gaussian_ou *sol = NULL;
  fp_error err;
  assert_int_equal(fp_gaussian_ou_create(&model, &sol, &err), FP_OK);
  const double h = 1e-3;
  for (double t = 0.5; t < 3.0; t += 0.5) {
    fp_gaussian p, dp, pm, pp;
    double rate, klm, klp;
    assert_int_equal(fp_gaussian_ou_at(sol, t - h, &pm, NULL, &err), FP_OK);
    assert_int_equal(fp_gaussian_ou_at(sol, t, &p, &dp, &err), FP_OK);
    assert_int_equal(fp_gaussian_ou_at(sol, t + h, &pp, NULL, &err), FP_OK);
    assert_int_equal(fp_gaussian_kl_rate(&p, &dp, &q, &rate, &err), FP_OK);
    assert_int_equal(fp_gaussian_kl(&pm, &q, &klm, &err), FP_OK);
    assert_int_equal(fp_gaussian_kl(&pp, &q, &klp, &err), FP_OK);
    /* centred difference error ~ h^2 |KL'''| / 6 */
    assert_close(rate, (klp - klm) / (2.0 * h), 1e-5, 1e-7);
  }
  fp_gaussian_ou_destroy(&sol);
}

/* ---- entropy balance --------------------------------------------------- */

/* Along a trajectory of a model in dimension dim, check
 *   dKL(p||q_ref)/dt = -sigma_tot + q_hk,
 *   sigma_tot = sigma_hk + sigma_na,
 *   dKL(p||p_ss)/dt = -sigma_na, and with q_ref = p_ss, q_hk = sigma_hk,
 * all to round-off relative to the size of the terms. */
static void check_balance_identities(const fp_gaussian_model *model, const fp_gaussian *q_ref)
{
  fp_gaussian_ou *sol = NULL;
  fp_error err;
  assert_int_equal(fp_gaussian_ou_create(model, &sol, &err), FP_OK);
  for (double t = 0.0; t <= 4.0; t += 0.5) {
    fp_gaussian p, dp, pss;
    fp_gaussian_frozen f;
    double rate, sig_tot, qhk, sig_hk, sig_na, rate_ss, qhk_ss;
    assert_int_equal(fp_gaussian_ou_at(sol, t, &p, &dp, &err), FP_OK);
    assert_int_equal(fp_gaussian_model_frozen(model, t, &f, &err), FP_OK);
    assert_int_equal(fp_gaussian_stationary(&f, &pss, &err), FP_OK);
    assert_int_equal(fp_gaussian_kl_rate(&p, &dp, q_ref, &rate, &err), FP_OK);
    assert_int_equal(fp_gaussian_sigma_tot(&f, &p, &sig_tot, &err), FP_OK);
    assert_int_equal(fp_gaussian_q_hk(&f, &p, q_ref, &qhk, &err), FP_OK);
    assert_int_equal(fp_gaussian_hatano_sasa(&f, &p, &pss, &sig_hk, &sig_na, &err), FP_OK);
    assert_true(sig_tot > 0.0 && sig_hk >= 0.0 && sig_na >= 0.0);
    double scale = fabs(sig_tot) + fabs(qhk);
    assert_close(rate, -sig_tot + qhk, 0.0, 1e-12 * scale);
    assert_close(sig_tot, sig_hk + sig_na, 0.0, 1e-12 * sig_tot);
    /* Remark 1: with q_ref = p_ss the mismatch decays at rate sigma_na. */
    assert_int_equal(fp_gaussian_kl_rate(&p, &dp, &pss, &rate_ss, &err), FP_OK);
    assert_close(rate_ss, -sig_na, 0.0, 1e-12 * sig_tot);
    assert_int_equal(fp_gaussian_q_hk(&f, &p, &pss, &qhk_ss, &err), FP_OK);
    assert_close(qhk_ss, sig_hk, 0.0, 1e-12 * sig_tot);
  }
  fp_gaussian_ou_destroy(&sol);
}

static void test_balance_identities(void **state)
{
  (void)state;
  params p1 = {.dim = 1, .c1 = {0.8}, .D0 = {{1.0}}, .d1 = 0.25};
  fp_gaussian_model m1 = {.dim = 1, .A = {{1.0}}, .c = c_linear, .D = d_scaled, .ctx = &p1,
                          .m0 = {0.5}, .S0 = {{0.3}}};
  fp_gaussian q1 = make_gaussian(1, (double[]){-0.3}, (double[]){1.7});
  check_balance_identities(&m1, &q1);

  params p2 = {.dim = 2, .c0 = {0.2, -0.1}, .c1 = {0.1, 0.05},
               .D0 = {{1.0, 0.3}, {0.3, 0.5}}, .d1 = 0.1};
  fp_gaussian_model m2 = {.dim = 2, .A = {{1.0, -0.5}, {0.5, 1.0}}, .c = c_linear,
                          .D = d_scaled, .ctx = &p2, .m0 = {1.0, -2.0},
                          .S0 = {{0.2, 0.05}, {0.05, 0.1}}};
  fp_gaussian q2 = make_gaussian(2, (double[]){0.5, 0.1}, (double[]){0.8, -0.2, -0.2, 0.6});
  check_balance_identities(&m2, &q2);

  params p3 = {.dim = 3, .c0 = {0.3, -0.2, 0.5}, .c1 = {0.0, 0.1, -0.1},
               .D0 = {{1.0, 0.2, 0.1}, {0.2, 0.7, -0.1}, {0.1, -0.1, 0.4}}, .d1 = 0.2};
  fp_gaussian_model m3 = {.dim = 3, .A = {{1.0, 0.4, 0.0}, {-0.3, 0.8, 0.2}, {0.1, -0.2, 1.5}},
                          .c = c_linear, .D = d_scaled, .ctx = &p3, .m0 = {1.0, 0.0, -1.0},
                          .S0 = {{0.3, 0.0, 0.05}, {0.0, 0.2, 0.0}, {0.05, 0.0, 0.5}}};
  fp_gaussian q3 = make_gaussian(3, (double[]){0.0, 0.5, 0.0},
                                 (double[]){1.0, 0.1, 0.0, 0.1, 0.8, 0.0, 0.0, 0.0, 1.2});
  check_balance_identities(&m3, &q3);
}

/* Equilibrium dynamics (D^-1 A symmetric) have sigma_hk = 0 at any p. */
static void test_sigma_hk_equilibrium(void **state)
{
  (void)state;
  fp_error err;
  fp_gaussian p = make_gaussian(2, (double[]){1.0, -0.5}, (double[]){0.4, 0.1, 0.1, 0.9});
  fp_gaussian pss;
  double hk = -1.0, na = -1.0, tot = -1.0;
  /* A symmetric, D = I. */
  fp_gaussian_frozen f = make_frozen(2, (double[]){1.0, 0.3, 0.3, 2.0}, (double[]){0.5, 0.2},
                                     (double[]){1.0, 0.0, 0.0, 1.0});
  assert_int_equal(fp_gaussian_stationary(&f, &pss, &err), FP_OK);
  assert_int_equal(fp_gaussian_hatano_sasa(&f, &p, &pss, &hk, &na, &err), FP_OK);
  assert_int_equal(fp_gaussian_sigma_tot(&f, &p, &tot, &err), FP_OK);
  assert_close(hk, 0.0, 0.0, 1e-14);
  assert_close(na, tot, 1e-13, 0.0);
  assert_true(na > 0.0);
  /* A non-symmetric but D^-1 A = B symmetric: A = D B, D = diag(1, 2). */
  f = make_frozen(2, (double[]){1.0, 0.3, 0.6, 4.0}, NULL, (double[]){1.0, 0.0, 0.0, 2.0});
  assert_int_equal(fp_gaussian_stationary(&f, &pss, &err), FP_OK);
  assert_int_equal(fp_gaussian_hatano_sasa(&f, &p, &pss, &hk, NULL, &err), FP_OK);
  assert_close(hk, 0.0, 0.0, 1e-14);
  /* Diagonal A with correlated noise is not equilibrium. */
  f = make_frozen(2, (double[]){1.0, 0.0, 0.0, 2.0}, NULL, (double[]){1.0, 0.5, 0.5, 1.0});
  assert_int_equal(fp_gaussian_stationary(&f, &pss, &err), FP_OK);
  assert_int_equal(fp_gaussian_hatano_sasa(&f, &p, &pss, &hk, NULL, &err), FP_OK);
  assert_true(hk > 1e-3);
}

/* A = [[1, -0.5], [0.5, 1]], D = I: p_ss = N(0, I) (A + A^T = 2 I) and at
 * p = p_ss, v_ss = -(A - I) x = -Omega x with Omega the antisymmetric part,
 * so sigma_hk = E|Omega x|^2 = tr(Omega^T Omega) = 2 * 0.25 = 0.5. */
static void test_sigma_hk_rotation(void **state)
{
  (void)state;
  fp_error err;
  const double I2[4] = {1.0, 0.0, 0.0, 1.0};
  fp_gaussian_frozen f = make_frozen(2, (double[]){1.0, -0.5, 0.5, 1.0}, NULL, I2);
  fp_gaussian pss;
  assert_int_equal(fp_gaussian_stationary(&f, &pss, &err), FP_OK);
  for (int i = 0; i < 2; i++) {
    assert_close(pss.mean[i], 0.0, 0.0, 1e-15);
    for (int j = 0; j < 2; j++) assert_close(pss.cov[i][j], I2[i * 2 + j], 0.0, 1e-15);
  }
  double hk, na, tot, qhk;
  assert_int_equal(fp_gaussian_hatano_sasa(&f, &pss, &pss, &hk, &na, &err), FP_OK);
  assert_int_equal(fp_gaussian_sigma_tot(&f, &pss, &tot, &err), FP_OK);
  assert_int_equal(fp_gaussian_q_hk(&f, &pss, &pss, &qhk, &err), FP_OK);
  assert_close(hk, 0.5, 1e-15, 0.0);
  assert_close(na, 0.0, 0.0, 1e-15);
  assert_close(tot, 0.5, 1e-15, 0.0);
  assert_close(qhk, 0.5, 1e-15, 0.0); /* dKL/dt = 0 at p = q_ref = p_ss */

  /* Dimension mismatches are errors, not garbage. */
  fp_gaussian p1 = make_gaussian(1, (double[]){0.0}, (double[]){1.0});
  assert_int_equal(fp_gaussian_sigma_tot(&f, &p1, &tot, &err), FP_ERR_ARG);
  assert_int_equal(fp_gaussian_q_hk(&f, &pss, &p1, &qhk, &err), FP_ERR_ARG);
  assert_int_equal(fp_gaussian_hatano_sasa(&f, &pss, &p1, &hk, &na, &err), FP_ERR_ARG);
  assert_int_equal(fp_gaussian_sigma_tot(NULL, &pss, &tot, &err), FP_ERR_ARG);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ou_1d_closed_form),
      cmocka_unit_test(test_ou_time_dependent),
      cmocka_unit_test(test_ou_2d_relaxes_to_stationary),
      cmocka_unit_test(test_ou_errors),
      cmocka_unit_test(test_stationary_1d_and_3d),
      cmocka_unit_test(test_stationary_unstable),
      cmocka_unit_test(test_density_and_grid),
      cmocka_unit_test(test_kl),
      cmocka_unit_test(test_kl_rate_matches_difference),
      cmocka_unit_test(test_balance_identities),
      cmocka_unit_test(test_sigma_hk_equilibrium),
      cmocka_unit_test(test_sigma_hk_rotation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
