/* fpentropy tests: particle streams against the Ornstein-Uhlenbeck closed
 * form and against the PDE density; reproducibility; boundaries.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/problem/density.h>
#include <fpentropy/streams/particles.h>

static const char *const ou1d =
    "[domain]\ndimension = 1\nlower = -8\nupper = 8\ncells = 400\n"
    "[dynamics]\ndrift = -x\ndiffusion = 1\n"
    "[initial]\ndensity = exp(-(x-2)^2/(2*0.25))\n"
    "[time]\nend = 1\noutputs = 3\n";

typedef struct collected {
  size_t count;
  double t[64];
  size_t alive[64];
  double mean[64], var[64];
  double *last;      /* copy of the last snapshot */
  size_t last_n;
} collected;

static int collect(const fp_particle_snapshot *s, void *ctx)
{
  collected *c = ctx;
  double m = 0.0, v = 0.0;
  for (size_t i = 0; i < s->alive; i++) m += s->x[i * (size_t)s->dim];
  m /= (double)s->alive;
  for (size_t i = 0; i < s->alive; i++) v += pow(s->x[i * (size_t)s->dim] - m, 2);
  v /= (double)(s->alive - 1);
  c->t[c->count] = s->t;
  c->alive[c->count] = s->alive;
  c->mean[c->count] = m;
  c->var[c->count] = v;
  c->count++;
  free(c->last);
  c->last = malloc(s->alive * (size_t)s->dim * sizeof *c->last);
  memcpy(c->last, s->x, s->alive * (size_t)s->dim * sizeof *c->last);
  c->last_n = s->alive;
  return 0;
}

static collected simulate(const fp_case *c, size_t n, size_t replicas, uint64_t seed, int threads)
{
  fp_particle_options opt = {.particles = n, .replicas = replicas, .seed = seed, .threads = threads};
  fp_particles *p = NULL;
  fp_error err;
  fp_error_clear(&err);
  collected out;
  memset(&out, 0, sizeof out);
  int rc = fp_particles_create(c, &opt, &p, &err);
  if (rc == FP_OK) rc = fp_particles_run(p, collect, &out, &err);
  if (rc != FP_OK) print_error("%s\n", err.message);
  assert_int_equal(rc, FP_OK);
  fp_particles_destroy(&p);
  return out;
}

static int compare_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Mean, variance and the whole distribution at t = 1 against the closed
 * form N(2 e^-1, 1 - 0.75 e^-2).  Tolerances: 4 standard errors for the
 * moments (the Euler-Maruyama bias, O(dt) = 1e-3 relative, and the
 * in-cell initial spread h^2/12 = 1.3e-4 are far below); the KS statistic
 * against its 0.1% critical value 1.95 / sqrt(N). */
static void test_ou_closed_form(void **state)
{
  (void)state;
  fp_case *c = fp_test_case(ou1d, NULL);
  const size_t n = 20000;
  collected r = simulate(c, n, 1, 42, 0);
  assert_int_equal(r.count, 3);
  double m = 2.0 * exp(-1.0), s2 = 1.0 - 0.75 * exp(-2.0);
  print_message("t=1: mean %.5f (exact %.5f), var %.5f (exact %.5f)\n", r.mean[2], m, r.var[2], s2);
  assert_close(r.mean[2], m, 0, 4.0 * sqrt(s2 / (double)n));
  assert_close(r.var[2], s2, 0, 4.0 * s2 * sqrt(2.0 / (double)n));
  qsort(r.last, r.last_n, sizeof *r.last, compare_double);
  double ks = 0.0;
  for (size_t i = 0; i < r.last_n; i++) {
    double F = gsl_cdf_gaussian_P(r.last[i] - m, sqrt(s2));
    ks = fmax(ks, fmax(fabs(F - (double)i / (double)n), fabs(F - (double)(i + 1) / (double)n)));
  }
  print_message("KS statistic %.4f (critical %.4f)\n", ks, 1.95 / sqrt((double)n));
  assert_true(ks < 1.95 / sqrt((double)n));
  free(r.last);
  fp_case_destroy(&c);
}

/* Same seed, any number of threads: identical particles; other seeds and
 * other replicas differ. */
static void test_reproducible(void **state)
{
  (void)state;
  fp_case *c = fp_test_case(ou1d, NULL);
  collected a = simulate(c, 3000, 2, 7, 1), b = simulate(c, 3000, 2, 7, 2), d = simulate(c, 3000, 2, 8, 2);
  assert_int_equal(a.last_n, b.last_n);
  assert_memory_equal(a.last, b.last, a.last_n * sizeof *a.last);
  assert_true(a.mean[5] == b.mean[5]);
  assert_true(a.mean[5] != d.mean[5]);
  assert_true(a.mean[2] != a.mean[5]); /* replicas 0 and 1 are different streams */
  free(a.last);
  free(b.last);
  free(d.last);
  fp_case_destroy(&c);
}

/* A problem given as grid + field spec + initial density + times
 * (fp_particles_create_on) simulates exactly what the case does. */
static void test_create_on_equals_case(void **state)
{
  (void)state;
  fp_case *c = fp_test_case(ou1d, NULL);
  fp_particle_problem pb = {.grid = c->grid, .initial = c->initial, .times = c->output_times,
                            .ntimes = c->n_output_times};
  fp_case_field_spec(c, &pb.fields);
  fp_particle_options opt = {.particles = 2000, .replicas = 1, .seed = 5, .threads = 1};
  fp_particles *p = NULL;
  fp_error err;
  assert_int_equal(fp_particles_create_on(&pb, &opt, &p, &err), FP_OK);
  collected a = {0};
  assert_int_equal(fp_particles_run(p, collect, &a, &err), FP_OK);
  fp_particles_destroy(&p);
  collected b = simulate(c, 2000, 1, 5, 1);
  assert_int_equal(a.last_n, b.last_n);
  assert_memory_equal(a.last, b.last, a.last_n * sizeof *a.last);
  free(a.last);
  free(b.last);
  /* unordered times are refused */
  double bad[2] = {1.0, 0.5};
  pb.times = bad;
  pb.ntimes = 2;
  assert_int_equal(fp_particles_create_on(&pb, &opt, &p, &err), FP_ERR_ARG);
  assert_null(p);
  fp_case_destroy(&c);
}

/* The L1 distance between the particle histogram and the PDE solution at
 * the same time shrinks like N^-1/2 (bins: 10 PDE cells each, the PDE
 * density averaged over them): 16 times more particles must cut it by more
 * than 2.5 (4 expected; the remaining O(dt) and O(h^2) parts are far
 * smaller). */
static void test_histogram_converges_to_pde(void **state)
{
  (void)state;
  const char *ov[] = {"time.outputs=2", "time.end=0.5", "time.rtol=1e-10", "time.atol=1e-16", NULL};
  fp_case *c = fp_test_case(ou1d, ov);
  const size_t fine = c->grid.ncells, group = 10, bins = fine / group;
  double *p = malloc(fine * sizeof *p);
  fp_test_integrate(c, 0.5, FP_LINSOL_AUTO, p);
  double coarse[64] = {0};
  for (size_t i = 0; i < fine; i++) coarse[i / group] += p[i] / (double)group;
  const double width = c->grid.h[0] * (double)group;
  double dist[2];
  const size_t sizes[2] = {4000, 64000};
  for (int k = 0; k < 2; k++) {
    collected r = simulate(c, sizes[k], 1, 3, 0);
    double hist[64] = {0};
    for (size_t i = 0; i < r.last_n; i++) {
      long bin = (long)floor((r.last[i] - c->grid.lower[0]) / width);
      if (bin >= 0 && bin < (long)bins) hist[bin] += 1.0 / ((double)r.last_n * width);
    }
    dist[k] = 0.0;
    for (size_t j = 0; j < bins; j++) dist[k] += fabs(hist[j] - coarse[j]) * width;
    free(r.last);
  }
  print_message("L1(histogram, PDE) N=4000: %.4f, N=64000: %.4f\n", dist[0], dist[1]);
  assert_true(dist[1] < dist[0] / 2.5);
  free(p);
  fp_case_destroy(&c);
}

/* Weak order 1 of Euler-Maruyama: for dX = -X dt + sqrt(2) dW the scheme's
 * own stationary variance is 2 / (2 - dt) (exact: 1), so the variance error
 * shrinks tenfold when dt does.  Checked at t = 10 from N(0, 1), within 5
 * standard errors of the scheme's prediction. */
static void test_weak_order_in_dt(void **state)
{
  (void)state;
  const char *ov[] = {"initial.density=exp(-x^2/2)", "time.end=10", "time.outputs=2", NULL};
  fp_case *c = fp_test_case(ou1d, ov);
  const double dts[2] = {0.2, 0.02};
  double err[2];
  const size_t n = 100000;
  for (int k = 0; k < 2; k++) {
    fp_particle_options opt = {.particles = n, .replicas = 1, .seed = 11, .dt = dts[k]};
    fp_particles *p = NULL;
    fp_error e;
    collected r;
    memset(&r, 0, sizeof r);
    assert_int_equal(fp_particles_create(c, &opt, &p, &e), FP_OK);
    assert_int_equal(fp_particles_run(p, collect, &r, &e), FP_OK);
    double predicted = 2.0 / (2.0 - dts[k]);
    print_message("dt = %g: variance %.5f, scheme predicts %.5f, exact 1\n", dts[k], r.var[1], predicted);
    assert_close(r.var[1], predicted, 0, 5.0 * predicted * sqrt(2.0 / (double)n));
    err[k] = r.var[1] - 1.0;
    free(r.last);
    fp_particles_destroy(&p);
  }
  assert_true(fabs(err[1]) < fabs(err[0]) / 5.0);
  fp_case_destroy(&c);
}

/* Periodic axes wrap, absorbing walls kill at the rate the PDE loses mass. */
static void test_boundaries(void **state)
{
  (void)state;
  const char *ring = "[domain]\ndimension = 1\nlower = 0\nupper = 1\ncells = 50\nboundary = periodic\n"
                     "[dynamics]\ndrift = 5\ndiffusion = 0.1\n[initial]\ndensity = 1\n"
                     "[time]\nend = 1\noutputs = 2\n";
  fp_case *c = fp_test_case(ring, NULL);
  collected r = simulate(c, 5000, 1, 1, 0);
  for (size_t i = 0; i < r.last_n; i++) assert_true(r.last[i] >= 0.0 && r.last[i] < 1.0);
  assert_int_equal(r.last_n, 5000);
  free(r.last);
  fp_case_destroy(&c);

  const char *box = "[domain]\ndimension = 1\nlower = 0\nupper = 1\ncells = 50\nboundary = absorbing\n"
                    "[dynamics]\ndrift = 0\ndiffusion = 0.1\n[initial]\ndensity = 1\n"
                    "[time]\nend = 0.5\noutputs = 2\n";
  c = fp_test_case(box, NULL);
  r = simulate(c, 20000, 1, 1, 0);
  /* survival of the heat equation on [0,1] with D = 0.1 from a uniform start:
   * sum over odd n of 8/(n pi)^2 exp(-D n^2 pi^2 t) */
  double survival = 0.0;
  for (int k = 1; k < 200; k += 2) survival += 8.0 / pow(k * M_PI, 2) * exp(-0.1 * k * k * M_PI * M_PI * 0.5);
  double frac = (double)r.alive[1] / 20000.0;
  print_message("survival %.4f (exact %.4f)\n", frac, survival);
  /* Euler-Maruyama misses crossings within a step: an O(sqrt(dt)) excess of
   * survivors; with dt = 5e-4 it is below 0.02. */
  assert_true(frac >= survival - 4.0 * sqrt(survival * (1 - survival) / 20000.0));
  assert_true(frac <= survival + 0.02);
  free(r.last);
  fp_case_destroy(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ou_closed_form),
      cmocka_unit_test(test_reproducible),
      cmocka_unit_test(test_create_on_equals_case),
      cmocka_unit_test(test_histogram_converges_to_pde),
      cmocka_unit_test(test_weak_order_in_dt),
      cmocka_unit_test(test_boundaries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
