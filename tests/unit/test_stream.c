/* fpentropy tests: the labelled stream driver (stream.h): policy names, the exact training KL
 * against the Gaussian closed form, calendar counts on 200 days, the loss channel replayed by
 * hand on the exact run, and the sampled loss against the exact pe.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/policy/stream.h>
#include <fpentropy/problem/case.h>
#include <fpentropy/streams/labels.h>

#include "test_support.h"

/* 1D: mean 0.01 t, variance 1 + 0.005 t, rule w = 2 - 0.005 t, b = -0.002 t. */
static const char *case_1d =
    "[domain]\ndimension = 1\nlower = -10\nupper = 12\ncells = 440\n"
    "[dynamics]\ndrift = 0\ndiffusion = 0.5\n"
    "[initial]\ndensity = exp(-x^2/2)\n"
    "[time]\nend = 199\noutputs = 200\n"
    "[labels]\nw = 2 - 0.005*t\nb = -0.002*t\nfeatures = density\n"
    "density = exp(-(x - 0.01*t)^2 / (2*(1 + 0.005*t)))\nbatch = 40\n";

typedef struct stream_case {
  fp_case *c;
  fp_labels *l;
  size_t T, n;
  double *p, *pe, *kl;
} stream_case;

static void make(stream_case *s, const char *const *over)
{
  s->c = fp_test_case(case_1d, over);
  assert_int_equal(fp_labels_load(s->c, &s->l, NULL), FP_OK);
  s->T = s->c->n_output_times, s->n = s->c->grid.ncells;
  s->p = malloc(s->T * s->n * sizeof *s->p);
  s->pe = malloc(s->T * s->T * sizeof *s->pe);
  s->kl = malloc(s->T * s->T * sizeof *s->kl);
  assert_int_equal(fp_labels_density_series(s->l, &s->c->grid, s->c->output_times, s->T, s->p, NULL), FP_OK);
  assert_int_equal(fp_performance_matrix(s->l, &s->c->grid, s->p, s->c->output_times, s->T, s->pe, NULL, NULL), FP_OK);
  assert_int_equal(fp_stream_training_kl(&s->c->grid, s->p, s->T, s->l->window, s->kl, NULL), FP_OK);
}

static void release(stream_case *s)
{
  free(s->p), free(s->pe), free(s->kl);
  fp_labels_destroy(&s->l);
  fp_case_destroy(&s->c);
}

static void test_policy_parse(void **state)
{
  (void)state;
  char name[64], spec[128];
  assert_int_equal(fp_stream_policy_parse("daily", name, sizeof name, spec, sizeof spec, NULL), FP_OK);
  assert_string_equal(name, "daily"), assert_string_equal(spec, "calendar:k=1");
  assert_int_equal(fp_stream_policy_parse("weekly", name, sizeof name, spec, sizeof spec, NULL), FP_OK);
  assert_string_equal(spec, "calendar:k=7");
  assert_int_equal(fp_stream_policy_parse("entropy=threshold:tau=0.1", name, sizeof name, spec, sizeof spec, NULL), FP_OK);
  assert_string_equal(name, "entropy"), assert_string_equal(spec, "threshold:tau=0.1");
  assert_int_equal(fp_stream_policy_parse("cusum:h=1,signal=loss", name, sizeof name, spec, sizeof spec, NULL), FP_OK);
  assert_string_equal(name, "cusum:h=1,signal=loss"), assert_string_equal(spec, name);
  assert_int_equal(fp_stream_policy_parse("=none", name, sizeof name, spec, sizeof spec, NULL), FP_ERR_ARG);
}

/* The grid KL of two Gaussians (window 1) against the closed form. */
static void test_training_kl_gaussian(void **state)
{
  (void)state;
  stream_case s;
  make(&s, NULL);
  const size_t pairs[][2] = {{0, 199}, {50, 120}, {150, 10}};
  for (size_t k = 0; k < 3; k++) {
    size_t i = pairs[k][0], j = pairs[k][1];
    double m1 = 0.01 * (double)j, v1 = 1 + 0.005 * (double)j, m2 = 0.01 * (double)i, v2 = 1 + 0.005 * (double)i;
    double exact = 0.5 * (log(v2 / v1) + (v1 + (m1 - m2) * (m1 - m2)) / v2 - 1.0);
    /* midpoint rule, h = 0.05: relative error ~1e-3 of the small KL */
    assert_close(s.kl[i * s.T + j], exact, 2e-3, 1e-7);
  }
  assert_close(s.kl[7 * s.T + 7], 0.0, 0.0, 1e-15);
  release(&s);
}

/* Daily and weekly calendars on 200 days: 199 and 28 retrains, in every seed
 * and in the exact run; none: 0. */
static void test_calendar_counts(void **state)
{
  (void)state;
  stream_case s;
  make(&s, NULL);
  fp_stream_data D = {&s.c->grid, s.T, s.c->output_times, s.p, s.pe, s.kl, NULL};
  const char *specs[] = {"none", "calendar:k=1", "calendar:k=7"};
  fp_stream_options o = {.seeds = 2, .seed = 3};
  fp_stream_result r;
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_stream_run(s.l, &D, specs, 3, &o, &r, &err);
  if (rc != FP_OK) fail_msg("%s", err.message);
  const double expect[3] = {0, 199, 28};
  for (size_t q = 0; q < 3; q++) {
    fp_stream_summary sm;
    fp_stream_summarise(&r, q, false, &sm);
    assert_close(sm.retrains, expect[q], 0.0, 0.0);
    assert_close(sm.se_retrains, 0.0, 0.0, 0.0);
    fp_stream_summarise(&r, q, true, &sm);
    assert_close(sm.retrains, expect[q], 0.0, 0.0);
  }
  /* the exact run of daily retraining is charged pe[d-1][d] */
  for (size_t d = 1; d < s.T; d++) assert_close(r.exact_loss[1 * s.T + d], s.pe[(d - 1) * s.T + d], 0.0, 0.0);
  fp_stream_result_clear(&r);
  release(&s);
}

/* The loss channel: the performance rule replayed by hand on pe. */
static void test_performance_replay(void **state)
{
  (void)state;
  stream_case s;
  make(&s, NULL);
  fp_stream_data D = {&s.c->grid, s.T, s.c->output_times, s.p, s.pe, s.kl, NULL};
  const double margin = 0.01;
  char spec[64];
  snprintf(spec, sizeof spec, "performance:margin=%g", margin);
  const char *specs[] = {spec, "cusum:h=0.02,k_ref=0.5,signal=loss", "threshold:tau=0.01"};
  fp_stream_options o = {.seeds = 1, .seed = 1};
  fp_stream_result r;
  assert_int_equal(fp_stream_run(s.l, &D, specs, 3, &o, &r, NULL), FP_OK);
  /* performance: the first loss of a spell is its baseline; retrain when a
   * later loss exceeds baseline + margin */
  size_t dep = 0, count = 0;
  double base = NAN;
  for (size_t d = 1; d < s.T; d++) {
    double loss = s.pe[dep * s.T + d];
    bool retrain = false;
    if (isnan(base))
      base = loss;
    else
      retrain = loss > base + margin;
    assert_int_equal(r.exact_retrain[0 * s.T + d], retrain);
    if (retrain) dep = d, base = NAN, count++;
  }
  assert_true(count > 0);
  /* cusum on the loss: S = max(0, S + loss - k_ref) */
  dep = 0, count = 0;
  double S = 0;
  for (size_t d = 1; d < s.T; d++) {
    S = fmax(0.0, S + s.pe[dep * s.T + d] - 0.5);
    bool retrain = S > 0.02;
    assert_int_equal(r.exact_retrain[1 * s.T + d], retrain);
    if (retrain) dep = d, S = 0, count++;
  }
  assert_true(count > 0);
  /* threshold on the exact KL */
  dep = 0;
  for (size_t d = 1; d < s.T; d++) {
    bool retrain = s.kl[dep * s.T + d] > 0.01;
    assert_int_equal(r.exact_retrain[2 * s.T + d], retrain);
    if (retrain) dep = d;
  }
  fp_stream_result_clear(&r);
  release(&s);
}

/* The sampled stream's mean loss of the frozen model against pe[0][d]: the
 * sample fit differs from the population fit by O(1/sqrt(N)), which raises
 * the expected loss by about p/(2N) (p = 2 parameters); allow 3 standard
 * errors plus 2p/N. */
static void test_sampled_loss_against_pe(void **state)
{
  (void)state;
  const char *over[] = {"labels.batch=2000", "time.end=20", "time.outputs=5", NULL};
  stream_case s;
  make(&s, over);
  fp_stream_data D = {&s.c->grid, s.T, s.c->output_times, s.p, s.pe, s.kl, NULL};
  const char *specs[] = {"none"};
  fp_stream_options o = {.seeds = 40, .seed = 5};
  fp_stream_result r;
  assert_int_equal(fp_stream_run(s.l, &D, specs, 1, &o, &r, NULL), FP_OK);
  fp_stream_summary sm, ex;
  fp_stream_summarise(&r, 0, false, &sm);
  fp_stream_summarise(&r, 0, true, &ex);
  double tol = 3.0 * sm.se_avg + 2.0 * 2.0 / 2000.0;
  if (fabs(sm.avg - ex.avg) > tol)
    fail_msg("sampled %.5f +- %.5f, exact %.5f", sm.avg, sm.se_avg, ex.avg);
  assert_true(sm.se_avg > 0.0);
  fp_stream_result_clear(&r);
  release(&s);
}

/* The sampled pe is built from the stream's own batches and fits: the frozen
 * model's loss at d is pe_hat[0][d] and daily retraining's is pe_hat[d-1][d],
 * exactly; and across streams pe_hat estimates pe (every entry out of sample:
 * within 3 standard errors plus 2p/N for the sample fit). */
static void test_sampled_pe(void **state)
{
  (void)state;
  const char *over[] = {"labels.batch=1000", "time.end=40", "time.outputs=6", NULL};
  stream_case s;
  make(&s, over);
  fp_stream_data D = {&s.c->grid, s.T, s.c->output_times, s.p, s.pe, s.kl, NULL};
  const char *specs[] = {"none", "calendar:k=1"};
  const size_t R = 30, T = s.T;
  fp_stream_options o = {.seeds = R, .seed = 9};
  fp_stream_result r;
  assert_int_equal(fp_stream_run(s.l, &D, specs, 2, &o, &r, NULL), FP_OK);
  double *hat = malloc(T * T * sizeof *hat), *sum = calloc(T * T, sizeof *sum), *sum2 = calloc(T * T, sizeof *sum2);
  for (size_t k = 0; k < R; k++) {
    assert_int_equal(fp_stream_sampled_pe(s.l, &D, 9, k, hat, NULL), FP_OK);
    for (size_t d = 1; d < T; d++) {
      assert_close(r.loss[(k * 2 + 0) * T + d], hat[0 * T + d], 1e-12, 0.0);
      assert_close(r.loss[(k * 2 + 1) * T + d], hat[(d - 1) * T + d], 1e-12, 0.0);
    }
    for (size_t q = 0; q < T * T; q++) sum[q] += hat[q], sum2[q] += hat[q] * hat[q];
  }
  for (size_t i = 0; i < T; i++)
    for (size_t j = 0; j < T; j++) {
      double m = sum[i * T + j] / (double)R;
      double se = sqrt(fmax(sum2[i * T + j] / (double)R - m * m, 0.0) / (double)(R - 1));
      if (fabs(m - s.pe[i * T + j]) > 3.0 * se + 2.0 * 2.0 / 1000.0)
        fail_msg("pe_hat[%zu][%zu] = %.5f +- %.5f, pe %.5f", i, j, m, se, s.pe[i * T + j]);
    }
  free(hat), free(sum), free(sum2);
  fp_stream_result_clear(&r);
  release(&s);
}

/* features = particles: the SDE of the case (here Brownian motion with the
 * drift and diffusion whose law is the density expression, which
 * Euler-Maruyama samples exactly) as a panel; the frozen model's mean loss
 * against pe as in test_sampled_loss_against_pe, and the calendar counts. */
static void test_particle_panel(void **state)
{
  (void)state;
  const char *over[] = {"labels.batch=2000", "time.end=20", "time.outputs=5", "labels.features=particles",
                        "dynamics.drift=0.01", "dynamics.diffusion=0.0025", NULL};
  stream_case s;
  make(&s, over);
  const size_t R = 40;
  double *panel = NULL;
  fp_error err;
  fp_error_clear(&err);
  if (fp_stream_particles(s.c, s.l, R, 5, &panel, &err) != FP_OK) fail_msg("%s", err.message);
  /* the panel's mean at the last time against the law's, 0.01 t */
  double m = 0.0;
  const size_t N = s.l->batch, T = s.T;
  for (size_t k = 0; k < R; k++)
    for (size_t i = 0; i < N; i++) m += panel[((k * T + (T - 1)) * N + i)];
  m /= (double)(R * N);
  double sd = sqrt(1.0 + 0.005 * s.c->output_times[T - 1]);
  assert_close(m, 0.01 * s.c->output_times[T - 1], 0.0, 4.0 * sd / sqrt((double)(R * N)));
  fp_stream_data D = {&s.c->grid, T, s.c->output_times, s.p, s.pe, s.kl, panel};
  const char *specs[] = {"none", "calendar:k=1"};
  fp_stream_options o = {.seeds = R, .seed = 5};
  fp_stream_result r;
  assert_int_equal(fp_stream_run(s.l, &D, specs, 2, &o, &r, NULL), FP_OK);
  fp_stream_summary sm, ex;
  fp_stream_summarise(&r, 0, false, &sm);
  fp_stream_summarise(&r, 0, true, &ex);
  if (fabs(sm.avg - ex.avg) > 3.0 * sm.se_avg + 2.0 * 2.0 / 2000.0)
    fail_msg("particles: sampled %.5f +- %.5f, exact %.5f", sm.avg, sm.se_avg, ex.avg);
  fp_stream_summarise(&r, 1, false, &sm);
  assert_close(sm.retrains, (double)(T - 1), 0.0, 0.0);
  fp_stream_result_clear(&r);
  free(panel);
  release(&s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_policy_parse),
      cmocka_unit_test(test_training_kl_gaussian),
      cmocka_unit_test(test_calendar_counts),
      cmocka_unit_test(test_performance_replay),
      cmocka_unit_test(test_sampled_loss_against_pe),
      cmocka_unit_test(test_sampled_pe),
      cmocka_unit_test(test_particle_panel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
