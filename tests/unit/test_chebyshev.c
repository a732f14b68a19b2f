/* fpentropy tests: the Chebyshev series of exp(tau L) (time/chebyshev.c) -
 * its coefficients against GSL's scaled Bessel functions, its truncation
 * rule, its spectral bound against the matrix, a whole expansion against
 * a dense matrix exponential computed here, several outputs from one series
 * against one series each, and the exponential integrator's multi-output
 * steps against single ones (with the state changed between two calls).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_bessel.h>

#include <fpentropy/fv/operator.h>
#include <fpentropy/problem/case.h>
#include <fpentropy/problem/density.h>
#include <fpentropy/time/solver.h>

#include "time/chebyshev_impl.h"

/* the rotating OU case on a small grid (time-independent, diagonal D) */
static const char *const ou2d_small =
    "[domain]\ndimension = 2\nlower = -6\nupper = 6\ncells = 40\n"
    "[dynamics]\ndrift_x = -x + 0.5*y\ndrift_y = -0.5*x - y\ndiffusion = 1\n"
    "[initial]\ndensity = exp(-((x-2)^2 + y^2)/(2*0.25))\n"
    "[time]\nend = 1\natol = 1e-12\n";

/* c_k = e^-z I_k(z) to 1e-11 relative (where above 1e-200; 1e-15 against
 * 40-digit values at z = 2500), and K the
 * smallest with 2 sum_{k>K} c_k <= tol, both judged with GSL's values. */
static void test_coefficients(void **state)
{
  (void)state;
  gsl_set_error_handler_off();
  const double zs[] = {1e-3, 0.5, 3.0, 40.0, 172.0, 2500.0};
  const double tols[] = {1e-6, 1e-14};
  for (size_t a = 0; a < sizeof zs / sizeof zs[0]; a++)
    for (size_t b = 0; b < 2; b++) {
      double z = zs[a], tol = tols[b], tail = -1.0;
      int cap = fp_cheb_terms_bound(z) + 1;
      double *c = malloc((size_t)cap * sizeof *c), *ref = malloc((size_t)cap * sizeof *ref);
      int K = fp_cheb_coefficients(z, tol, c, cap, &tail);
      assert_true(K >= 0 && K < cap);
      gsl_sf_result r;
      for (int k = 0; k < cap; k++) {
        ref[k] = gsl_sf_bessel_In_scaled_e(k, z, &r) == GSL_SUCCESS ? r.val : 0.0;
        /* 1e-11: GSL's uniform expansion is itself off by ~1.5e-12 relative
         * at z = 2500 (beyond its own error estimate); see the 40-digit
         * values below */
        if (k <= K && ref[k] > 1e-200) assert_true(fabs(c[k] - ref[k]) <= 1e-11 * ref[k]);
      }
      if (z == 2500.0) {
        /* mpmath, 40 digits: besseli(k, 2500) * exp(-2500), k = 3, 7, 9 */
        const double exact[] = {0.007964892051497778233688491, 0.007901414514504727436114374,
                                0.007850996971472719488531218};
        const int ks[] = {3, 7, 9};
        for (int q = 0; q < 3; q++) assert_true(fabs(c[ks[q]] - exact[q]) <= 1e-15 * exact[q]);
      }
      double gsl_tail = 0.0;
      for (int k = K + 1; k < cap; k++) gsl_tail += 2.0 * ref[k];
      assert_true(gsl_tail <= tol * (1.0 + 1e-9));
      assert_true(fabs(tail - gsl_tail) <= 1e-6 * tol); /* GSL: ~1e-9 relative out there */
      if (K > 0) assert_true(gsl_tail + 2.0 * ref[K] > tol); /* K - 1 would not do */
      print_message("z = %-7g tol %g: K = %d (sqrt(2 z log(1/tol)) = %.0f)\n", z, tol, K,
                    sqrt(2.0 * z * log(1.0 / tol)));
      free(c);
      free(ref);
    }
  /* refused: z too small for the recurrence, not finite, a bad tolerance */
  double c[64], tail;
  assert_int_equal(fp_cheb_coefficients(1e-300, 1e-10, c, 64, &tail), -1);
  assert_int_equal(fp_cheb_coefficients(INFINITY, 1e-10, c, 64, &tail), -1);
  assert_int_equal(fp_cheb_coefficients(NAN, 1e-10, c, 64, &tail), -1);
  assert_int_equal(fp_cheb_coefficients(1.0, NAN, c, 64, &tail), -1);
  assert_int_equal(fp_cheb_coefficients(1e4, 1e-10, c, 64, &tail), -1); /* needs > 63 terms */
}

static const char *const ou1d =
    "[domain]\ndimension = 1\nlower = -5\nupper = 5\ncells = 40\n"
    "[dynamics]\ndrift = -x + 0.5\ndiffusion = 0.7\n"
    "[initial]\ndensity = exp(-(x-2)^2)\n"
    "[reference]\ndensity = exp(-x^2/2)\n"
    "[time]\nend = 1\n";

/* F = exp(M), n x n, by scaling and squaring with a degree-24 Taylor
 * polynomial (||M / 2^s||_1 <= 1/4: truncation below 1e-30). */
static void dense_expm(size_t n, const double *M, double *F)
{
  double norm = 0.0;
  for (size_t j = 0; j < n; j++) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += fabs(M[i * n + j]);
    norm = fmax(norm, s);
  }
  int sq = 0;
  while (norm > 0.25) norm *= 0.5, sq++;
  double *X = malloc(n * n * sizeof *X), *T = malloc(n * n * sizeof *T);
  for (size_t i = 0; i < n * n; i++) X[i] = ldexp(M[i], -sq);
  for (size_t i = 0; i < n * n; i++) F[i] = (i % (n + 1) == 0) ? 1.0 : 0.0;
  for (int k = 24; k >= 1; k--) { /* F = I + X F / k */
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) {
        double s = 0.0;
        for (size_t q = 0; q < n; q++) s += X[i * n + q] * F[q * n + j];
        T[i * n + j] = (i == j ? 1.0 : 0.0) + s / k;
      }
    memcpy(F, T, n * n * sizeof *F);
  }
  for (int q = 0; q < sq; q++) {
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) {
        double s = 0.0;
        for (size_t r = 0; r < n; r++) s += F[i * n + r] * F[r * n + j];
        T[i * n + j] = s;
      }
    memcpy(F, T, n * n * sizeof *F);
  }
  free(X);
  free(T);
}

static void test_expansion(void **state)
{
  (void)state;
  fp_case *c = fp_test_case(ou1d, NULL);
  fp_operator *op = fp_test_operator(c);
  const size_t n = c->grid.ncells;
  fp_csr_view L;
  fp_operator_matrix(op, &L);
  double *M = calloc(n * n, sizeof *M);
  for (size_t i = 0; i < n; i++)
    for (int64_t q = L.row_ptr[i]; q < L.row_ptr[i + 1]; q++) M[i * n + (size_t)L.col[q]] = L.value[q];
  /* the bound is the largest column sum of |L| */
  double rho = fp_cheb_spectral_bound(op), colmax = 0.0;
  for (size_t j = 0; j < n; j++) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += fabs(M[i * n + j]);
    colmax = fmax(colmax, s);
  }
  assert_true(rho == colmax);

  double *p = malloc(n * sizeof *p), *out = malloc(n * sizeof *out), *work = malloc(3 * n * sizeof *work);
  double *F = malloc(n * n * sizeof *F), *tM = malloc(n * n * sizeof *tM);
  double *fused = malloc(n * sizeof *fused);
  fp_error err;
  fp_stencil *scaled = NULL;
  assert_int_equal(fp_cheb_stencil_create(op, rho, &scaled, &err), FP_OK);
  assert_non_null(scaled);
  assert_int_equal(fp_density_sample(&c->grid, c->initial, 0.0, "initial", false, p, NULL, &err), FP_OK);
  const double taus[] = {1e-3, 0.05, 0.7};
  for (size_t a = 0; a < 3; a++) {
    double tau = taus[a], z = 0.5 * rho * tau, tail = 0.0;
    int cap = fp_cheb_terms_bound(z) + 1;
    double *coef = malloc((size_t)cap * sizeof *coef);
    int K = fp_cheb_coefficients(z, 1e-13, coef, cap, &tail);
    double growth, growth_fused;
    const double *cs[1] = {coef};
    fp_cheb_apply(op, NULL, rho, 1, cs, &K, p, &out, work, n, &growth);
    /* the fused recurrence on the scaled stencil: the same sum up to the
     * rounding of a L (no division in its loop) */
    fp_cheb_apply(op, scaled, rho, 1, cs, &K, p, &fused, work, n, &growth_fused);
    double fused_diff = 0.0;
    for (size_t i = 0; i < n; i++) fused_diff = fmax(fused_diff, fabs(fused[i] - out[i]));
    print_message("tau %g: fused recurrence differs by %.2e\n", tau, fused_diff);
    assert_true(fused_diff <= 1e-14 * (K + 1) * growth);
    assert_true(fabs(growth_fused - growth) <= 1e-14 * (K + 1) * growth);
    for (size_t i = 0; i < n * n; i++) tM[i] = tau * M[i];
    dense_expm(n, tM, F);
    double maxerr = 0.0, mass_in = 0.0, mass_out = 0.0;
    for (size_t i = 0; i < n; i++) {
      double s = 0.0;
      for (size_t j = 0; j < n; j++) s += F[i * n + j] * p[j];
      maxerr = fmax(maxerr, fabs(out[i] - s));
      mass_in += p[i], mass_out += out[i];
    }
    print_message("tau %g: z = %.1f, K = %d, growth %.3f, max error %.2e (bound %.2e)\n", tau, z, K,
                  growth, maxerr, tail * growth);
    /* the series' own bound, plus the round-off of K recurrence steps */
    assert_true(maxerr <= tail * growth + 1e-14 * (K + 1) * growth);
    /* each T_k(A) keeps the mass of p times T_k(1) = 1, the series sums to
     * c_0 + 2 sum c_k (1 - tail) */
    assert_true(fabs(mass_out - mass_in) <= (tail + 1e-14 * (K + 1)) * mass_in);
    free(coef);
  }
  fp_stencil_destroy(&scaled);
  free(fused);
  free(p);
  free(out);
  free(work);
  free(F);
  free(tM);
  free(M);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

/* Three outputs from one recurrence are the three single series: the same
 * terms, each up to its own K, added in the same order (equal bits). */
static void test_multi_output(void **state)
{
  (void)state;
  fp_case *c = fp_test_case(ou2d_small, NULL);
  fp_operator *op = fp_test_operator(c);
  const size_t n = c->grid.ncells;
  fp_error err;
  double rho = fp_cheb_spectral_bound(op);
  fp_stencil *scaled = NULL;
  assert_int_equal(fp_cheb_stencil_create(op, rho, &scaled, &err), FP_OK);
  double *p = malloc(n * sizeof *p), *work = malloc(3 * n * sizeof *work);
  double *outs = malloc(3 * n * sizeof *outs), *single = malloc(n * sizeof *single);
  assert_int_equal(fp_density_sample(&c->grid, c->initial, 0.0, "initial", false, p, NULL, &err), FP_OK);
  const double taus[3] = {0.02, 0.05, 0.11};
  int K[3], cap = fp_cheb_terms_bound(0.5 * rho * taus[2]) + 1;
  double *coef = malloc(3 * (size_t)cap * sizeof *coef), tail[3], growth[3];
  const double *cs[3];
  double *out[3];
  for (int j = 0; j < 3; j++) {
    cs[j] = coef + j * cap;
    out[j] = outs + j * n;
    K[j] = fp_cheb_coefficients(0.5 * rho * taus[j], 1e-13, coef + j * cap, cap, &tail[j]);
    assert_true(K[j] > 0 && (j == 0 || K[j] > K[j - 1]));
  }
  for (int variant = 0; variant < 2; variant++) {
    const fp_stencil *st = variant ? scaled : NULL;
    fp_cheb_apply(op, st, rho, 3, cs, K, p, out, work, n, growth);
    for (int j = 0; j < 3; j++) {
      double g1;
      fp_cheb_apply(op, st, rho, 1, &cs[j], &K[j], p, &single, work, n, &g1);
      double diff = 0.0;
      for (size_t i = 0; i < n; i++) diff = fmax(diff, fabs(out[j][i] - single[i]));
      print_message("%s: output %d (K = %d) differs from its own series by %.2e\n",
                    variant ? "stencil" : "general", j, K[j], diff);
      /* every term is added by the same expression in both: equal bits */
      assert_true(diff == 0.0);
      assert_true(growth[j] == g1);
    }
  }
  fp_stencil_destroy(&scaled);
  free(coef);
  free(p);
  free(work);
  free(outs);
  free(single);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

/* The exponential integrator with the output schedule (multi-output steps)
 * gives every output within its error bound of the one without; and when
 * the caller changes the state between two outputs, the next output is
 * computed from the changed state, not handed out from the series. */
static void test_schedule(void **state)
{
  (void)state;
  fp_case *c = fp_test_case(ou2d_small, NULL);
  fp_operator *op = fp_test_operator(c);
  const size_t n = c->grid.ncells;
  fp_error err;
  double *p0 = malloc(n * sizeof *p0);
  assert_int_equal(fp_density_sample(&c->grid, c->initial, 0.0, "initial", false, p0, NULL, &err), FP_OK);
  const double times[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
  const size_t nt = sizeof times / sizeof times[0];
  for (int change = 0; change < 2; change++) {
    fp_solver *with = NULL, *without = NULL;
    fp_solver_options opt;
    fp_solver_options_from_case(c, op, &opt);
    opt.integrator = FP_INTEGRATOR_EXPONENTIAL;
    assert_int_equal(fp_solver_create(op, 0.0, p0, &opt, &without, &err), FP_OK);
    opt.output_times = times;
    opt.n_output_times = nt;
    assert_int_equal(fp_solver_create(op, 0.0, p0, &opt, &with, &err), FP_OK);
    for (size_t k = 0; k < nt; k++) {
      assert_int_equal(fp_solver_advance(with, times[k], &err), FP_OK);
      assert_int_equal(fp_solver_advance(without, times[k], &err), FP_OK);
      /* the state is read-only to callers; writing through the pointer
       * stands for any way it might change between two outputs */
      double *a = (double *)(uintptr_t)fp_solver_state(with);
      double *b = (double *)(uintptr_t)fp_solver_state(without), diff = 0.0;
      for (size_t i = 0; i < n; i++) diff = fmax(diff, fabs(a[i] - b[i]));
      /* each within 0.1 atol of exp(t L) p0 per step, k + 1 steps */
      assert_true(diff <= 0.2 * (double)(k + 1) * c->atol);
      if (change && k == 1) { /* the caller moves some mass: later outputs must follow it */
        size_t top = 0;
        for (size_t i = 0; i < n; i++) top = a[i] > a[top] ? i : top;
        double m = a[top];
        a[top] = 0.0, a[top + 1] += m;
        b[top] = 0.0, b[top + 1] += m;
      }
    }
    fp_solver_stats sw, so;
    fp_solver_get_stats(with, &sw);
    fp_solver_get_stats(without, &so);
    print_message("change %d: %ld operator applications with the schedule, %ld without\n",
                  change, sw.rhs_evals, so.rhs_evals);
    /* the schedule's series share their terms: groups of 4 outputs take
     * about 2 series' worth (K grows like the square root of the span), so
     * at most 60 % of the applications when nothing interrupts them */
    assert_true(sw.rhs_evals < so.rhs_evals);
    if (!change) assert_true(sw.rhs_evals <= 0.6 * so.rhs_evals);
    fp_solver_destroy(&with);
    fp_solver_destroy(&without);
  }
  free(p0);
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_coefficients),
      cmocka_unit_test(test_expansion),
      cmocka_unit_test(test_multi_output),
      cmocka_unit_test(test_schedule),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
