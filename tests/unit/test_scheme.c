/* fpentropy tests: properties of the finite-volume operator (conservation,
 * M-matrix structure, discrete detailed balance, the stationary solve, the
 * FFT preconditioner).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/problem/density.h>
#include <fpentropy/fv/operator.h>
#include <fpentropy/fv/stationary.h>

#include "fv/precond_fft.h"

/* A 2D case with a non-gradient drift, variable diagonal D and mixed
 * boundaries; %s is replaced by the boundary list. */
static const char *const drift_2d =
    "[domain]\ndimension = 2\nlower = -3, -2\nupper = 3, 2\ncells = 24, 18\n"
    "boundary = reflecting, periodic\n"
    "[dynamics]\ndrift_x = -x + 0.7*sin(y)\ndrift_y = 1.5 - 0.3*x\n"
    "diffusion_xx = 1 + 0.3*sin(x)\ndiffusion_yy = 0.6 + 0.1*cos(y)\n"
    "[initial]\ndensity = exp(-(x-1)^2 - y^2)\n[time]\nend = 1\n";

static void fill_random(double *p, size_t n, unsigned seed)
{
  /* A deterministic positive sequence (no rand(): reproducible everywhere). */
  unsigned long s = seed;
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005UL + 1442695040888963407UL;
    p[i] = 0.1 + (double)(s >> 11) / 9007199254740992.0;
  }
}

static void test_bernoulli(void **state)
{
  (void)state;
  assert_close(fp_bernoulli(0.0), 1.0, 0, 0);
  const double z[] = {1e-300, 1e-12, 1e-5, 0.3, 1.0, 10.0, 300.0, 700.0};
  for (size_t k = 0; k < sizeof z / sizeof z[0]; k++) {
    /* B(-z) = B(z) e^z: the identity behind exact detailed balance. */
    double lhs = fp_bernoulli(-z[k]), rhs = fp_bernoulli(z[k]) * exp(z[k]);
    assert_close(lhs, rhs, 1e-13, 0);
    assert_true(fp_bernoulli(z[k]) > 0.0);
  }
  assert_close(fp_bernoulli(1e-8), 1.0 - 0.5e-8, 1e-15, 0);
  assert_close(fp_bernoulli(-800.0), 800.0, 1e-15, 0);
  assert_true(fp_bernoulli(800.0) == 0.0);
}

/* Mass conservation of the operator: sum_i (L p)_i |V| = 0 for any p. */
static void test_columns_sum_to_zero(void **state)
{
  (void)state;
  fp_case *c = fp_test_case(drift_2d, NULL);
  fp_operator *op = fp_test_operator(c);
  size_t n = c->grid.ncells;
  double *p = malloc(n * sizeof *p), *dp = malloc(n * sizeof *dp);
  fill_random(p, n, 7);
  fp_operator_apply(op, p, dp);
  double total = 0.0, magnitude = 0.0;
  for (size_t i = 0; i < n; i++) total += dp[i], magnitude += fabs(dp[i]);
  assert_true(fabs(total) <= 64 * DBL_EPSILON * magnitude);
  /* The CSR matrix is the same operator. */
  fp_csr_view L;
  fp_operator_matrix(op, &L);
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (int64_t q = L.row_ptr[i]; q < L.row_ptr[i + 1]; q++) s += L.value[q] * p[L.col[q]];
    assert_close(s, dp[i], 1e-12, 1e-12 * magnitude / (double)n);
  }
  free(p);
  free(dp);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

/* Two-point exponentially fitted fluxes give an M-matrix: non-negative
 * off-diagonal entries, so p stays >= 0. */
static void test_m_matrix(void **state)
{
  (void)state;
  const char *const strong[] = {"dynamics.drift_x=-40*x", "dynamics.drift_y=25", NULL};
  fp_case *c = fp_test_case(drift_2d, strong);
  fp_operator *op = fp_test_operator(c);
  assert_true(fp_operator_two_point(op));
  fp_csr_view L;
  fp_operator_matrix(op, &L);
  size_t off = 0;
  for (size_t i = 0; i < L.rows; i++)
    for (int64_t q = L.row_ptr[i]; q < L.row_ptr[i + 1]; q++)
      if ((size_t)L.col[q] != i) {
        assert_true(L.value[q] >= 0.0);
        off++;
      }
  assert_true(off > 3 * L.rows);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

/* Gradient drift through a potential with variable diagonal D: the discrete
 * Boltzmann state exp(-V_i) has zero flux on every face, and the stationary
 * solve finds it. */
static void test_discrete_detailed_balance(void **state)
{
  (void)state;
  const char *text =
      "[domain]\ndimension = 2\nlower = -3, -3\nupper = 3, 3\ncells = 30, 26\n"
      "[dynamics]\npotential = x^2/2 + y^4/4 + 0.3*x*y + sin(x)\n"
      "diffusion_xx = 1 + 0.5*sin(x)^2\ndiffusion_yy = 0.5 + 0.2*x^2/(1+x^2)\n"
      "[initial]\ndensity = exp(-x^2-y^2)\n[time]\nend = 1\n";
  fp_case *c = fp_test_case(text, NULL);
  fp_operator *op = fp_test_operator(c);
  fp_error err;
  size_t n = c->grid.ncells;
  double *p = malloc(n * sizeof *p), *pss = malloc(n * sizeof *pss);
  fp_face_view faces;
  fp_operator_faces(op, &faces);
  double *flux = malloc(faces.count * sizeof *flux);
  for (size_t i = 0; i < n; i++) {
    double x[3];
    fp_grid_cell_center(&c->grid, i, x);
    p[i] = exp(-(x[0] * x[0] / 2 + pow(x[1], 4) / 4 + 0.3 * x[0] * x[1] + sin(x[0])));
  }
  double mass = fp_density_mass(&c->grid, p);
  for (size_t i = 0; i < n; i++) p[i] /= mass;
  fp_operator_face_fluxes(op, p, flux);
  for (size_t f = 0; f < faces.count; f++) {
    /* relative to the size of the two one-sided terms of the flux */
    uint32_t L = faces.left[f], R = faces.right[f];
    double size = faces.dcoef[f] * (p[L] * fp_bernoulli(-faces.pe[f]) + p[R] * fp_bernoulli(faces.pe[f]));
    assert_true(fabs(flux[f]) <= 1e-13 * size);
  }
  double residual = 1.0;
  assert_int_equal(fp_stationary_solve(op, p, pss, &residual, &err), FP_OK);
  assert_true(residual < 1e-13);
  for (size_t i = 0; i < n; i++) assert_close(pss[i], p[i], 1e-10, 1e-14);
  free(p);
  free(pss);
  free(flux);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

/* Without a potential a gradient drift is still in detailed balance in 1D:
 * the stationary flux is zero on every face (reflecting walls). */
static void test_stationary_1d_zero_flux(void **state)
{
  (void)state;
  const char *text = "[domain]\ndimension = 1\nlower = -4\nupper = 4\ncells = 64\n"
                     "[dynamics]\ndrift = -x^3 + x\ndiffusion = 0.5 + 0.1*x^2\n"
                     "[initial]\ndensity = 1\n[time]\nend = 1\n";
  fp_case *c = fp_test_case(text, NULL);
  fp_operator *op = fp_test_operator(c);
  fp_error err;
  double pss[64], flux[64];
  double residual;
  assert_int_equal(fp_stationary_solve(op, NULL, pss, &residual, &err), FP_OK);
  assert_close(fp_density_mass(&c->grid, pss), 1.0, 1e-14, 0);
  fp_face_view faces;
  fp_operator_faces(op, &faces);
  fp_operator_face_fluxes(op, pss, flux);
  for (size_t f = 0; f < faces.count; f++) assert_true(fabs(flux[f]) < 1e-12);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

/* A non-gradient 2D drift has a stationary state with a circulating current:
 * non-zero face fluxes, zero divergence. */
static void test_stationary_nonequilibrium(void **state)
{
  (void)state;
  const char *text = "[domain]\ndimension = 2\nlower = -5\nupper = 5\ncells = 40\n"
                     "[dynamics]\ndrift_x = -x + 0.5*y\ndrift_y = -0.5*x - y\ndiffusion = 1\n"
                     "[initial]\ndensity = exp(-x^2-y^2)\n[time]\nend = 1\n";
  fp_case *c = fp_test_case(text, NULL);
  fp_operator *op = fp_test_operator(c);
  fp_error err;
  size_t n = c->grid.ncells;
  double *pss = malloc(n * sizeof *pss), *dp = malloc(n * sizeof *dp);
  double residual;
  assert_int_equal(fp_stationary_solve(op, NULL, pss, &residual, &err), FP_OK);
  fp_operator_apply(op, pss, dp);
  double maxdp = 0.0;
  for (size_t i = 0; i < n; i++) maxdp = fmax(maxdp, fabs(dp[i]));
  assert_true(maxdp < 1e-11);
  fp_face_view faces;
  fp_operator_faces(op, &faces);
  double *flux = malloc(faces.count * sizeof *flux);
  fp_operator_face_fluxes(op, pss, flux);
  double maxflux = 0.0;
  for (size_t f = 0; f < faces.count; f++) maxflux = fmax(maxflux, fabs(flux[f]));
  assert_true(maxflux > 1e-3); /* J_ss = 0.5 (y, -x) p_ss: order 0.1 */
  free(pss);
  free(dp);
  free(flux);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

/* The fast-transform preconditioner solves (I - gamma D Delta) z = r exactly
 * for pure constant diffusion, for every boundary type. */
static void test_fft_preconditioner_exact(void **state)
{
  (void)state;
  const char *const bcs[] = {"domain.boundary=reflecting, periodic, absorbing",
                             "domain.boundary=absorbing, reflecting, periodic",
                             "domain.boundary=periodic, absorbing, reflecting"};
  for (size_t b = 0; b < 3; b++) {
    const char *text = "[domain]\ndimension = 3\nlower = 0\nupper = 1, 2, 1.5\ncells = 8, 6, 10\n"
                       "[dynamics]\ndiffusion_xx = 1\ndiffusion_yy = 0.5\ndiffusion_zz = 2\n"
                       "[initial]\ndensity = 1\n[time]\nend = 1\n";
    const char *ov[] = {bcs[b], NULL};
    fp_case *c = fp_test_case(text, ov);
    fp_operator *op = NULL;
    fp_precond_fft *pc = NULL;
    fp_error err;
    assert_int_equal(fp_operator_create(c, &op, &err), FP_OK);
    assert_int_equal(fp_precond_fft_create(&c->grid, b == 1, &pc, &err), FP_OK);
    size_t n = c->grid.ncells;
    double *r = malloc(n * sizeof *r), *z = malloc(n * sizeof *z), *Lz = malloc(n * sizeof *Lz);
    fill_random(r, n, 11);
    double D[3];
    fp_operator_mean_diffusion(op, D);
    assert_close(D[1], 0.5, 1e-15, 0);
    const double gamma = 0.37;
    fp_precond_fft_solve(pc, gamma, D, r, z);
    fp_operator_apply(op, z, Lz);
    for (size_t i = 0; i < n; i++) assert_close(z[i] - gamma * Lz[i], r[i], 1e-11, 1e-12);
    free(r);
    free(z);
    free(Lz);
    fp_precond_fft_destroy(&pc);
    fp_operator_destroy(&op);
    fp_case_destroy(&c);
  }
}

/* Absorbing walls remove mass: the operator's column sums equal the wall
 * fluxes. */
static void test_absorbing_loses_mass(void **state)
{
  (void)state;
  const char *text = "[domain]\ndimension = 1\nlower = 0\nupper = 1\ncells = 20\n"
                     "boundary = absorbing\n[dynamics]\ndrift = 0.3\ndiffusion = 1\n"
                     "[initial]\ndensity = 1\n[time]\nend = 1\n";
  fp_case *c = fp_test_case(text, NULL);
  fp_operator *op = fp_test_operator(c);
  double p[20], dp[20], flux[32];
  for (int i = 0; i < 20; i++) p[i] = 1.0;
  fp_operator_apply(op, p, dp);
  fp_face_view faces;
  fp_operator_faces(op, &faces);
  assert_int_equal(faces.count, 21);
  fp_operator_face_fluxes(op, p, flux);
  double out = 0.0;
  for (size_t f = 0; f < faces.count; f++) {
    if (faces.left[f] == FP_NO_CELL) out -= flux[f];
    if (faces.right[f] == FP_NO_CELL) out += flux[f];
  }
  assert_true(out > 0.0);
  assert_close(fp_density_mass(&c->grid, dp), -out * faces.area[0], 1e-13, 0);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

/* D_kk <= 0 somewhere is reported with the point. */
static void test_nonpositive_diffusion_rejected(void **state)
{
  (void)state;
  const char *text = "[domain]\ndimension = 1\nlower = -1\nupper = 1\ncells = 10\n"
                     "[dynamics]\ndrift = 0\ndiffusion = x\n"
                     "[initial]\ndensity = 1\n[time]\nend = 1\n";
  fp_case *c = fp_test_case(text, NULL);
  fp_operator *op = NULL;
  fp_error err;
  fp_error_clear(&err);
  assert_int_equal(fp_operator_create(c, &op, &err), FP_ERR_NUMERIC);
  assert_null(op);
  assert_non_null(strstr(err.message, "not positive"));
  assert_non_null(strstr(err.message, "x = -0.8")); /* the first face */
  fp_case_destroy(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bernoulli),
      cmocka_unit_test(test_columns_sum_to_zero),
      cmocka_unit_test(test_m_matrix),
      cmocka_unit_test(test_discrete_detailed_balance),
      cmocka_unit_test(test_stationary_1d_zero_flux),
      cmocka_unit_test(test_stationary_nonequilibrium),
      cmocka_unit_test(test_fft_preconditioner_exact),
      cmocka_unit_test(test_absorbing_loses_mass),
      cmocka_unit_test(test_nonpositive_diffusion_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
