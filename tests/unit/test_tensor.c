/* fpentropy tests: the monotone full-tensor scheme (Selling edges): the
 * decomposition, the M-matrix property and positivity on a coarse
 * anisotropic grid, exactness of the discrete stationary state of gradient
 * dynamics, face-wise sigma >= 0, conservation and second-order consistency.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <fpentropy/balance/balance.h>
#include <fpentropy/balance/gaussian.h>
#include <fpentropy/fv/operator.h>
#include <fpentropy/fv/selling.h>
#include <fpentropy/fv/stationary.h>
#include <fpentropy/problem/case.h>
#include <fpentropy/problem/fields.h>

static unsigned long lcg(unsigned long *s)
{
  *s = *s * 6364136223846793005UL + 1442695040888963407UL;
  return *s >> 11;
}
static double uniform(unsigned long *s) { return (double)lcg(s) / 9007199254740992.0; }

/* M = sum w_k e_k e_k^T with w_k >= 0 for random SPD matrices, including
 * strongly anisotropic ones (which need offsets beyond the 3^d cells). */
static void test_selling_reconstructs(void **state)
{
  (void)state;
  unsigned long s = 7;
  for (int dim = 2; dim <= 3; dim++)
    for (int trial = 0; trial < 2000; trial++) {
      double B[3][3] = {{0}}, M[3][3] = {{0}};
      double spread = trial < 1000 ? 1.0 : 8.0; /* the second half: condition numbers ~1e3 */
      for (int i = 0; i < dim; i++)
        for (int j = 0; j < dim; j++) B[i][j] = (2 * uniform(&s) - 1) * (i == j ? spread : 1.0);
      for (int i = 0; i < dim; i++)
        for (int j = 0; j < dim; j++)
          for (int k = 0; k < dim; k++) M[i][j] += B[i][k] * B[j][k];
      for (int i = 0; i < dim; i++) M[i][i] += 1e-3;
      fp_selling sd;
      assert_int_equal(fp_selling_decompose(M, dim, &sd), 0);
      assert_int_equal(sd.terms, dim == 2 ? 3 : 6);
      double R[3][3] = {{0}}, norm = 0.0;
      for (int k = 0; k < sd.terms; k++) {
        assert_true(sd.weight[k] >= 0.0);
        for (int i = 0; i < dim; i++)
          for (int j = 0; j < dim; j++) R[i][j] += sd.weight[k] * sd.offset[k][i] * sd.offset[k][j];
      }
      for (int i = 0; i < dim; i++)
        for (int j = 0; j < dim; j++) norm = fmax(norm, fabs(M[i][j]));
      for (int i = 0; i < dim; i++)
        for (int j = 0; j < dim; j++) assert_true(fabs(R[i][j] - M[i][j]) <= 1e-12 * norm);
    }
  double notpd[3][3] = {{1, 2, 0}, {2, 1, 0}, {0, 0, 1}};
  fp_selling sd;
  assert_int_equal(fp_selling_decompose(notpd, 2, &sd), -1);
}

/* A coarse grid and a tensor close to the limit of the 3x3 stencil
 * (|D_xy| = 0.9 sqrt(D_xx D_yy), rotated principal axes): L is an M-matrix
 * (off-diagonal entries >= 0, column sums 0), and a run from a narrow
 * density stays non-negative at every output.  The former centred cross
 * terms gave p < 0 here (-7e-4 of max p at 32^2 on the case). */
static const char *const anisotropic_2d =
    "[domain]\ndimension = 2\nlower = -4\nupper = 4\ncells = 16\nboundary = reflecting\n"
    "[dynamics]\ndrift_x = -x + 0.5*y\ndrift_y = -0.5*x - y\n"
    "diffusion_xx = 1.0\ndiffusion_yy = 1.0\ndiffusion_xy = 0.9\n"
    "[initial]\ndensity = exp(-((x-1.5)^2 + (y+1)^2) / (2*0.15))\n"
    "[time]\nend = 0.5\noutputs = 6\nrtol = 1e-6\natol = 1e-12\n[output]\nsnapshots = 0\n";

static void test_m_matrix_and_positivity(void **state)
{
  (void)state;
  fp_case *c = fp_test_case(anisotropic_2d, NULL);
  fp_operator *op = fp_test_operator(c);
  assert_true(fp_operator_full_tensor(op));
  assert_true(fp_operator_two_point(op));
  fp_csr_view L;
  fp_operator_matrix(op, &L);
  double *colsum = calloc(L.rows, sizeof *colsum), scale = 0.0;
  for (size_t i = 0; i < L.rows; i++)
    for (int64_t q = L.row_ptr[i]; q < L.row_ptr[i + 1]; q++) {
      if ((size_t)L.col[q] != i) assert_true(L.value[q] >= 0.0);
      colsum[L.col[q]] += L.value[q];
      scale = fmax(scale, fabs(L.value[q]));
    }
  for (size_t i = 0; i < L.rows; i++) assert_true(fabs(colsum[i]) <= 64 * DBL_EPSILON * scale);
  free(colsum);
  size_t n = c->grid.ncells;
  double *p = malloc(n * sizeof *p);
  for (double t = 0.1; t < 0.55; t += 0.1) {
    fp_test_integrate(c, t, 0, p);
    double minp = INFINITY, maxp = 0.0;
    for (size_t i = 0; i < n; i++) minp = fmin(minp, p[i]), maxp = fmax(maxp, p[i]);
    print_message("t = %.1f: min p = %.3e (max p %.3e)\n", t, minp, maxp);
    assert_true(minp >= 0.0);
  }
  free(p);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

/* Gradient dynamics with a full, space-dependent D and a non-quadratic
 * potential (hidden equilibrium: a = -D grad V + div D): the discrete
 * Boltzmann state exp(-V_i) has zero flux on every edge, L q = 0, and the
 * stationary solve returns it, in 2D and 3D. */
static void check_gradient_exact(const char *text)
{
  fp_case *c = fp_test_case(text, NULL);
  fp_operator *op = fp_test_operator(c);
  fp_fields *fields = NULL;
  fp_error err;
  assert_int_equal(fp_fields_create(c, &fields, &err), FP_OK);
  size_t n = c->grid.ncells;
  double *q = malloc(n * sizeof *q), *r = malloc(n * sizeof *r), *pss = malloc(n * sizeof *pss);
  double mass = 0.0;
  for (size_t i = 0; i < n; i++) {
    double x[FP_MAX_DIM];
    fp_grid_cell_center(&c->grid, i, x);
    q[i] = exp(-fp_fields_potential(fields, x, 0.0));
    mass += q[i] * c->grid.cell_volume;
  }
  for (size_t i = 0; i < n; i++) q[i] /= mass;
  fp_face_view faces;
  fp_operator_faces(op, &faces);
  double *flux = malloc(faces.count * sizeof *flux);
  fp_operator_face_fluxes(op, q, flux);
  double worst = 0.0, active = 0.0;
  for (size_t f = 0; f < faces.count; f++) {
    double pL = q[faces.left[f]], pR = q[faces.right[f]];
    double size = faces.dcoef[f] * (fp_bernoulli(-faces.pe[f]) * pL + fp_bernoulli(faces.pe[f]) * pR);
    if (faces.dcoef[f] > 0.0) active += 1.0;
    if (size > 0.0) worst = fmax(worst, fabs(flux[f]) / size);
  }
  fp_operator_apply(op, q, r);
  double rmax = 0.0, lq = 0.0;
  fp_csr_view L;
  fp_operator_matrix(op, &L);
  for (size_t i = 0; i < n; i++) {
    rmax = fmax(rmax, fabs(r[i]));
    for (int64_t k = L.row_ptr[i]; k < L.row_ptr[i + 1]; k++) lq = fmax(lq, fabs(L.value[k]) * q[L.col[k]]);
  }
  double residual;
  assert_int_equal(fp_stationary_solve(op, NULL, pss, &residual, &err), FP_OK);
  double dist = 0.0, qmax = 0.0;
  for (size_t i = 0; i < n; i++) dist = fmax(dist, fabs(pss[i] - q[i])), qmax = fmax(qmax, q[i]);
  print_message("%zu edges (%.0f with weight): max |F|/terms %.2e, max |Lq| / max |L_ij q_j| %.2e, "
                "p_ss - q %.2e of max q\n",
                faces.count, active, worst, rmax / lq, dist / qmax);
  assert_true(active > (double)n); /* diagonal edges carry weight */
  assert_true(worst <= 1e-13);
  assert_true(rmax <= 1e-13 * lq);
  assert_true(dist <= 1e-10 * qmax);
  free(flux);
  free(q);
  free(r);
  free(pss);
  fp_fields_destroy(&fields);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

static void test_gradient_stationary_exact(void **state)
{
  (void)state;
  check_gradient_exact(
      "[domain]\ndimension = 2\nlower = -3\nupper = 3\ncells = 24, 20\nboundary = reflecting, periodic\n"
      "[dynamics]\npotential = x^2/2 + 0.2*x^4/4 + 0.5*cos(pi*y/3) + 0.3*sin(pi*y/3)*x\n"
      "diffusion_xx = 1 + 0.2*sin(x)\ndiffusion_yy = 0.8\ndiffusion_xy = 0.4 + 0.1*cos(pi*y/3)\n"
      "[initial]\ndensity = exp(-x^2)\n[time]\nend = 1\n");
  check_gradient_exact(
      "[domain]\ndimension = 3\nlower = -3\nupper = 3\ncells = 10, 12, 8\nboundary = reflecting\n"
      "[dynamics]\npotential = (x^2 + y^2 + z^2)/2 + 0.1*x^4 + 0.2*x*y - 0.1*y*z\n"
      "diffusion_xx = 1.0\ndiffusion_yy = 0.8 + 0.1*sin(z)\ndiffusion_zz = 0.6\n"
      "diffusion_xy = 0.3\ndiffusion_xz = -0.1\ndiffusion_yz = 0.2*cos(x)\n"
      "[initial]\ndensity = exp(-x^2)\n[time]\nend = 1\n");
}

/* Every face term F_f X_f |f| of sigma_tot is >= 0 for arbitrary positive
 * densities (3D, every offset sign present). */
static void test_face_sigma_nonnegative(void **state)
{
  (void)state;
  fp_case *c = fp_test_case(
      "[domain]\ndimension = 3\nlower = -2\nupper = 2\ncells = 8\nboundary = reflecting, periodic, reflecting\n"
      "[dynamics]\ndrift_x = -x + y\ndrift_y = sin(z)\ndrift_z = -z - x\n"
      "diffusion_xx = 1.0\ndiffusion_yy = 0.8\ndiffusion_zz = 0.6\n"
      "diffusion_xy = -0.3\ndiffusion_xz = 0.1\ndiffusion_yz = 0.2\n"
      "[initial]\ndensity = exp(-x^2)\n[time]\nend = 1\n",
      NULL);
  fp_operator *op = fp_test_operator(c);
  fp_error err;
  fp_balance *b = NULL;
  assert_int_equal(fp_balance_create(op, &b, &err), FP_OK);
  size_t n = c->grid.ncells;
  double *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q);
  unsigned long s = 11;
  for (int trial = 0; trial < 20; trial++) {
    for (size_t i = 0; i < n; i++) p[i] = exp(8 * (uniform(&s) - 0.5)), q[i] = 0.1 + uniform(&s);
    fp_balance_row row;
    assert_int_equal(fp_balance_compute(b, 0.0, p, q, NULL, NULL, &row, &err), FP_OK);
    assert_true(row.min_face_sigma >= 0.0);
    assert_true(row.sigma_tot > 0.0);
    const double *prod = fp_balance_production(b);
    for (size_t i = 0; i < n; i++) assert_true(prod[i] >= 0.0);
    assert_true(fabs(row.residual) <= 256 * DBL_EPSILON * row.scale);
  }
  free(p);
  free(q);
  fp_balance_destroy(&b);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

/* Second order: L applied to the stationary Gaussian of a nonequilibrium
 * OU process with full D (closed form N(0, S), A S + S A^T = 2 D) is 0 up
 * to the truncation error, which drops by 4 per halving of h. */
static double truncation(size_t cells)
{
  char over[64];
  snprintf(over, sizeof over, "domain.cells=%zu", cells);
  const char *const ov[] = {over, NULL};
  fp_case *c = fp_test_case(
      "[domain]\ndimension = 2\nlower = -7\nupper = 7\ncells = 20\nboundary = reflecting\n"
      "[dynamics]\ndrift_x = -x + 0.6*y\ndrift_y = -0.6*x - 1.2*y\n"
      "diffusion_xx = 1.0\ndiffusion_yy = 0.7\ndiffusion_xy = 0.35\n"
      "[initial]\ndensity = exp(-x^2)\n[time]\nend = 1\n",
      ov);
  fp_operator *op = fp_test_operator(c);
  fp_gaussian_frozen fr = {.dim = 2, .A = {{1, -0.6, 0}, {0.6, 1.2, 0}, {0, 0, 0}},
                           .D = {{1.0, 0.35, 0}, {0.35, 0.7, 0}, {0, 0, 0}}};
  fp_gaussian pss;
  fp_error err;
  assert_int_equal(fp_gaussian_stationary(&fr, &pss, &err), FP_OK);
  size_t n = c->grid.ncells;
  double *p = malloc(n * sizeof *p), *r = malloc(n * sizeof *r);
  assert_int_equal(fp_gaussian_fill_grid(&pss, &c->grid, p, &err), FP_OK);
  fp_operator_apply(op, p, r);
  double l1 = 0.0;
  for (size_t i = 0; i < n; i++) l1 += fabs(r[i]) * c->grid.cell_volume;
  free(p);
  free(r);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
  return l1;
}

static void test_second_order_consistency(void **state)
{
  (void)state;
  double e1 = truncation(40), e2 = truncation(80), e3 = truncation(160);
  print_message("||L p_ss||_1: %.3e %.3e %.3e, orders %.3f %.3f\n", e1, e2, e3, log2(e1 / e2),
                log2(e2 / e3));
  assert_true(log2(e2 / e3) > 1.95 && log2(e2 / e3) < 2.05);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_selling_reconstructs),
      cmocka_unit_test(test_m_matrix_and_positivity),
      cmocka_unit_test(test_gradient_stationary_exact),
      cmocka_unit_test(test_face_sigma_nonnegative),
      cmocka_unit_test(test_second_order_consistency),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
