/* fpentropy tests: the discrete entropy balance.  The identities are
 * algebraic, so they are checked on arbitrary positive densities, not only
 * on solutions: A.7 and A.13 to round-off, sigma_tot >= 0 face by face, the
 * Hatano-Sasa split, Remark 1 (q_ref = p_ss gives dkl/dt = -sigma_na), and
 * the boundary term of absorbing walls.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <fpentropy/balance/balance.h>
#include <fpentropy/problem/case.h>
#include <fpentropy/fv/operator.h>
#include <fpentropy/fv/stationary.h>

static const char *const nonequilibrium_2d =
    "[domain]\ndimension = 2\nlower = -3, -2\nupper = 3, 2\ncells = 20, 16\n"
    "boundary = reflecting, periodic\n"
    "[dynamics]\ndrift_x = -x + 0.7*sin(y)\ndrift_y = 1.5 - 0.3*x\n"
    "diffusion_xx = 1 + 0.3*sin(x)\ndiffusion_yy = 0.6 + 0.1*cos(y)\n"
    "[initial]\ndensity = exp(-(x-1)^2 - y^2)\n[time]\nend = 1\n";

typedef struct fixture {
  fp_case *c;
  fp_operator *op;
  fp_balance *b;
  double *p, *q, *pss;
  size_t n;
} fixture;

static void fill_random(double *p, size_t n, unsigned long s, double lo)
{
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005UL + 1442695040888963407UL;
    p[i] = lo + (double)(s >> 11) / 9007199254740992.0;
  }
}

static void fixture_open(fixture *f, const char *text, const char *const *ov)
{
  fp_error err;
  f->c = fp_test_case(text, ov);
  assert_int_equal(fp_operator_create(f->c, &f->op, &err), FP_OK);
  assert_int_equal(fp_balance_create(f->op, &f->b, &err), FP_OK);
  f->n = f->c->grid.ncells;
  f->p = malloc(f->n * sizeof *f->p);
  f->q = malloc(f->n * sizeof *f->q);
  f->pss = malloc(f->n * sizeof *f->pss);
  fill_random(f->p, f->n, 3, 0.05);
  fill_random(f->q, f->n, 5, 0.2);
}

static void fixture_close(fixture *f)
{
  free(f->p);
  free(f->q);
  free(f->pss);
  fp_balance_destroy(&f->b);
  fp_operator_destroy(&f->op);
  fp_case_destroy(&f->c);
}

/* Round-off: a few hundred ulps of the magnitude of the summed terms. */
#define ROUNDOFF(row) (256 * DBL_EPSILON * (row).scale)

static void test_identities_random_density(void **state)
{
  (void)state;
  fixture f;
  fixture_open(&f, nonequilibrium_2d, NULL);
  fp_error err;
  double residual;
  assert_int_equal(fp_stationary_solve(f.op, NULL, f.pss, &residual, &err), FP_OK);
  fp_balance_row row;
  assert_int_equal(fp_balance_compute(f.b, 0.0, f.p, f.q, NULL, f.pss, &row, &err), FP_OK);
  print_message("dkl_dt %.6e sigma %.6e q_hk %.6e residual %.2e a7 %.2e scale %.2e\n", row.dkl_dt,
                row.sigma_tot, row.q_hk, row.residual, row.residual_a7, row.scale);
  assert_true(fabs(row.residual) <= ROUNDOFF(row));
  assert_true(fabs(row.residual_a7) <= ROUNDOFF(row));
  assert_true(row.sigma_tot > 0.0);
  assert_true(row.min_face_sigma >= 0.0); /* face by face */
  assert_true(row.boundary == 0.0);
  assert_true(row.has_split);
  assert_true(fabs(row.split_residual) <= ROUNDOFF(row));
  assert_true(row.sigma_hk_hs > 0.0); /* driven: current at steady state */
  assert_true(row.sigma_na > 0.0);
  assert_true(isnan(row.dkl_dt_fd));
  fixture_close(&f);
}

/* The balance keeps log q and log p_ss between calls while their values
 * stay the same: changing them in place (same arrays) must give the row a
 * fresh workspace computes. */
static void test_reference_changed_in_place(void **state)
{
  (void)state;
  fixture f;
  fixture_open(&f, nonequilibrium_2d, NULL);
  fp_error err;
  fill_random(f.pss, f.n, 11, 0.1);
  fp_balance_row first, again, fresh;
  assert_int_equal(fp_balance_compute(f.b, 0.0, f.p, f.q, NULL, f.pss, &first, &err), FP_OK);
  assert_int_equal(fp_balance_compute(f.b, 0.0, f.p, f.q, NULL, f.pss, &again, &err), FP_OK);
  assert_true(again.kl == first.kl && again.q_hk == first.q_hk && again.sigma_na == first.sigma_na);
  f.q[7] *= 3.0;
  f.pss[9] *= 0.25;
  assert_int_equal(fp_balance_compute(f.b, 0.0, f.p, f.q, NULL, f.pss, &again, &err), FP_OK);
  fp_balance *b2 = NULL;
  assert_int_equal(fp_balance_create(f.op, &b2, &err), FP_OK);
  assert_int_equal(fp_balance_compute(b2, 0.0, f.p, f.q, NULL, f.pss, &fresh, &err), FP_OK);
  assert_true(again.kl == fresh.kl && again.q_hk == fresh.q_hk);
  assert_true(again.sigma_hk_hs == fresh.sigma_hk_hs && again.sigma_na == fresh.sigma_na);
  assert_true(again.kl != first.kl && again.sigma_na != first.sigma_na);
  fp_balance_destroy(&b2);
  fixture_close(&f);
}

/* Remark 1: with q_ref = p_ss, dkl/dt = -sigma_na <= 0 and q_hk = sigma_hk. */
static void test_remark1_discrete(void **state)
{
  (void)state;
  fixture f;
  fixture_open(&f, nonequilibrium_2d, NULL);
  fp_error err;
  double residual;
  assert_int_equal(fp_stationary_solve(f.op, NULL, f.pss, &residual, &err), FP_OK);
  fp_balance_row row;
  assert_int_equal(fp_balance_compute(f.b, 0.0, f.p, f.pss, NULL, f.pss, &row, &err), FP_OK);
  assert_true(row.dkl_dt < 0.0);
  assert_close(row.dkl_dt, -row.sigma_na, 0, ROUNDOFF(row));
  assert_close(row.q_hk, row.sigma_hk_hs, 0, ROUNDOFF(row));
  fixture_close(&f);
}

/* At p = p_ss the current of a gradient drift vanishes: sigma_tot = 0
 * (A.15's equality case); a driven case keeps sigma_tot = sigma_hk > 0. */
static void test_equality_case(void **state)
{
  (void)state;
  const char *gradient = "[domain]\ndimension = 2\nlower = -3\nupper = 3\ncells = 16\n"
                         "[dynamics]\npotential = x^2/2 + y^4/4 + 0.2*x*y\ndiffusion = 1 + 0.1*x^2\n"
                         "[initial]\ndensity = 1\n[time]\nend = 1\n";
  const char *const texts[] = {gradient, nonequilibrium_2d};
  for (int k = 0; k < 2; k++) {
    fixture f;
    fixture_open(&f, texts[k], NULL);
    fp_error err;
    double residual;
    assert_int_equal(fp_stationary_solve(f.op, NULL, f.pss, &residual, &err), FP_OK);
    fp_balance_row row;
    assert_int_equal(fp_balance_compute(f.b, 0.0, f.pss, f.q, NULL, f.pss, &row, &err), FP_OK);
    print_message("%s: sigma_tot at p_ss = %.3e\n", k ? "driven" : "gradient", row.sigma_tot);
    if (k == 0)
      assert_true(row.sigma_tot < 1e-20);
    else
      assert_true(row.sigma_tot > 1e-2);
    assert_close(row.sigma_tot, row.sigma_hk_hs, 1e-10, 1e-20);
    assert_true(fabs(row.sigma_na) < 1e-20);
    fixture_close(&f);
  }
}

/* Absorbing walls: the boundary term is reported and the identities still
 * close; no stationary density exists. */
static void test_absorbing_boundary_term(void **state)
{
  (void)state;
  const char *text = "[domain]\ndimension = 1\nlower = 0\nupper = 2\ncells = 40\n"
                     "boundary = absorbing\n[dynamics]\ndrift = 0.5\ndiffusion = 1\n"
                     "[initial]\ndensity = 1\n[time]\nend = 1\n";
  fixture f;
  fixture_open(&f, text, NULL);
  fp_error err;
  fp_balance_row row;
  assert_int_equal(fp_stationary_solve(f.op, NULL, f.pss, NULL, &err), FP_ERR_UNSUPPORTED);
  assert_int_equal(fp_balance_compute(f.b, 0.0, f.p, f.q, NULL, NULL, &row, &err), FP_OK);
  assert_true(row.boundary != 0.0);
  assert_true(fabs(row.residual) <= ROUNDOFF(row));
  assert_true(fabs(row.residual_a7) <= ROUNDOFF(row));
  assert_false(row.has_split);
  fixture_close(&f);
}

/* Cells with p <= 0 have no logarithm: they are counted, add nothing to kl
 * (0 log 0 = 0, so kl is unbiased: it equals the sum over the positive
 * cells), and the identities stay exact.  Subnormal p > 0 keeps its exact
 * logarithm (no floor). */
static void test_nonpositive_cells_reported(void **state)
{
  (void)state;
  fixture f;
  fixture_open(&f, nonequilibrium_2d, NULL);
  fp_error err;
  for (size_t i = 0; i < 5; i++) f.p[i] = 0.0;
  f.p[5] = -1e-20;
  f.p[6] = 1e-310; /* subnormal */
  fp_balance_row row;
  assert_int_equal(fp_balance_compute(f.b, 0.0, f.p, f.q, NULL, NULL, &row, &err), FP_OK);
  assert_int_equal(row.nonpositive_cells, 6);
  assert_true(row.nonpositive_mass < 0.0);
  double kl = 0.0, vol = f.c->grid.cell_volume;
  for (size_t i = 0; i < f.n; i++)
    if (f.p[i] > 0.0) kl += f.p[i] * (log(f.p[i]) - log(f.q[i]));
  kl *= vol;
  print_message("kl %.17g independent %.17g\n", row.kl, kl);
  assert_true(fabs(row.kl - kl) <= 64 * DBL_EPSILON * row.kl_scale);
  assert_true(fabs(row.residual) <= ROUNDOFF(row));
  assert_true(fabs(row.residual_a7) <= ROUNDOFF(row));
  fixture_close(&f);
}

/* The same identities with a full tensor D (Selling edges): A.7, A.13 with
 * sigma_tot and q_hk summed face by face, every face term >= 0, and the
 * split with p_ss from the same operator. */
static void test_identities_full_tensor(void **state)
{
  (void)state;
  static const char *const tensor_2d =
      "[domain]\ndimension = 2\nlower = -3, -2\nupper = 3, 2\ncells = 20, 16\n"
      "boundary = reflecting, periodic\n"
      "[dynamics]\ndrift_x = -x + 0.7*sin(y)\ndrift_y = 1.5 - 0.3*x\n"
      "diffusion_xx = 1 + 0.3*sin(x)\ndiffusion_yy = 0.6 + 0.1*cos(y)\n"
      "diffusion_xy = 0.3 + 0.1*cos(x)\n"
      "[initial]\ndensity = exp(-(x-1)^2 - y^2)\n[time]\nend = 1\n";
  fixture f;
  fixture_open(&f, tensor_2d, NULL);
  assert_true(fp_operator_full_tensor(f.op));
  fp_error err;
  double residual;
  assert_int_equal(fp_stationary_solve(f.op, NULL, f.pss, &residual, &err), FP_OK);
  fp_balance_row row;
  assert_int_equal(fp_balance_compute(f.b, 0.0, f.p, f.q, NULL, f.pss, &row, &err), FP_OK);
  print_message("tensor: sigma %.6e q_hk %.6e residual %.2e a7 %.2e split %.2e min face %.2e\n",
                row.sigma_tot, row.q_hk, row.residual, row.residual_a7, row.split_residual,
                row.min_face_sigma);
  assert_true(row.has_split);
  assert_true(fabs(row.residual) <= ROUNDOFF(row));
  assert_true(fabs(row.residual_a7) <= ROUNDOFF(row));
  assert_true(fabs(row.split_residual) <= ROUNDOFF(row));
  assert_true(row.min_face_sigma >= 0.0);
  assert_true(row.sigma_hk_hs >= 0.0 && row.sigma_na >= 0.0);
  /* Remark 1 with q_ref = p_ss of the same operator */
  assert_int_equal(fp_balance_compute(f.b, 0.0, f.p, f.pss, NULL, f.pss, &row, &err), FP_OK);
  assert_true(fabs(row.dkl_dt + row.sigma_na) <= ROUNDOFF(row));
  assert_true(fabs(row.q_hk - row.sigma_hk_hs) <= ROUNDOFF(row));
  fixture_close(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_identities_random_density),
      cmocka_unit_test(test_remark1_discrete),
      cmocka_unit_test(test_reference_changed_in_place),
      cmocka_unit_test(test_equality_case),
      cmocka_unit_test(test_absorbing_boundary_term),
      cmocka_unit_test(test_nonpositive_cells_reported),
      cmocka_unit_test(test_identities_full_tensor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
