/* fpentropy tests: the exact mismatch matrix against the OU closed form,
 * the oracle against the policies on a real K, and the debt filter on a
 * case without drift (no retrains).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/balance/gaussian.h>
#include <fpentropy/io/output.h>
#include <fpentropy/policy/oracle.h>
#include <fpentropy/policy/policy.h>
#include <fpentropy/policy/policy_study.h>

static const char *const relax =
    "[domain]\ndimension = 1\nlower = -8\nupper = 8\ncells = 400\n"
    "[dynamics]\ndrift = -x\ndiffusion = 1\n"
    "[initial]\ndensity = exp(-(x-2)^2/(2*0.25))\n"
    "[time]\nend = 2\noutputs = 11\nrtol = 1e-10\natol = 1e-16\n";

/* `held` (written through a held fp_output_dir) has the same files as `plain`
 * (written by path), plus its manifest, which lists every one of them. */
static void assert_same_files_listed(const char *plain, const char *held)
{
  char path[512], line[512];
  snprintf(path, sizeof path, "%s/%s", held, FP_OUTPUT_MANIFEST);
  FILE *m = fopen(path, "r");
  assert_non_null(m);
  char listed[8192] = "\n";
  while (fgets(line, sizeof line, m))
    if (line[0] != '#') strncat(listed, line, sizeof listed - strlen(listed) - 1);
  fclose(m);
  size_t n_plain = 0, n_held = 0;
  DIR *d = opendir(plain);
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.') continue;
    n_plain++;
    char want[300];
    snprintf(want, sizeof want, "\n%s\n", e->d_name);
    if (!strstr(listed, want)) fail_msg("%s is not in the manifest of %s", e->d_name, held);
    snprintf(path, sizeof path, "%s/%s", held, e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s was not written into the held directory", e->d_name);
    fclose(f);
  }
  closedir(d);
  d = opendir(held);
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d)) != NULL;) n_held += e->d_name[0] != '.';
  closedir(d);
  assert_true(n_plain > 0);
  assert_int_equal(n_held, n_plain + 1); /* + manifest.txt */
}

static void collect(const char *text, const char *const *ov, fp_case **c, fp_density_series *s, double **K)
{
  *c = fp_test_case(text, ov);
  fp_run_options opt = {.write_files = false};
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_density_series_collect(*c, &opt, s, &err);
  if (rc != FP_OK) print_error("%s\n", err.message);
  assert_int_equal(rc, FP_OK);
  *K = malloc(s->T * s->T * sizeof **K);
  assert_int_equal(fp_mismatch_matrix(&(*c)->grid, s, *K, &err), FP_OK);
}

static int unit_D(double t, double out[3][3], void *ctx)
{
  (void)t, (void)ctx;
  memset(out, 0, 9 * sizeof(double));
  out[0][0] = 1.0;
  return 0;
}

/* K[k][j] = KL(N(m_k, S_k) || N(m_j, S_j)) with the OU moments; the grid
 * value carries the O(h^2) discretisation error (h = 0.04): 2e-3 relative. */
static void test_matrix_closed_form(void **state)
{
  (void)state;
  fp_case *c;
  fp_density_series s;
  double *K;
  collect(relax, NULL, &c, &s, &K);
  fp_gaussian_model model = {.dim = 1, .D = unit_D};
  model.A[0][0] = 1.0, model.m0[0] = 2.0, model.S0[0][0] = 0.25;
  fp_gaussian_ou *ou = NULL;
  fp_error err;
  assert_int_equal(fp_gaussian_ou_create(&model, &ou, &err), FP_OK);
  fp_gaussian g[16];
  for (size_t k = 0; k < s.T; k++) assert_int_equal(fp_gaussian_ou_at(ou, s.t[k], &g[k], NULL, &err), FP_OK);
  double worst = 0.0;
  for (size_t k = 0; k < s.T; k++)
    for (size_t j = 0; j < s.T; j++) {
      double v = K[k * s.T + j];
      if (j >= k) {
        assert_true(v == 0.0);
        continue;
      }
      double exact;
      assert_int_equal(fp_gaussian_kl(&g[k], &g[j], &exact, &err), FP_OK);
      assert_true(v >= 0.0);
      worst = fmax(worst, fabs(v - exact) / exact);
    }
  print_message("max relative error of K against the closed form: %.2e\n", worst);
  assert_true(worst < 2e-3);
  fp_gaussian_ou_destroy(&ou);
  free(K);
  fp_density_series_clear(&s);
  fp_case_destroy(&c);
}

/* On a real K, no policy beats the oracle, and the oracle with c = 0 retrains
 * at every period after the first (free retrains remove every mismatch). */
static void test_oracle_on_pde(void **state)
{
  (void)state;
  fp_case *c;
  fp_density_series s;
  double *K;
  const char *ov[] = {"reference.density=initial", NULL};
  collect(relax, ov, &c, &s, &K);
  fp_retrain_problem pb;
  fp_density_series_problem(&s, K, &pb);
  bool schedule[16];
  fp_retrain_cost best, zero;
  fp_error err;
  assert_int_equal(fp_oracle_solve(&pb, 0.05, schedule, &best, &err), FP_OK);
  const char *specs[] = {"calendar:k=2", "threshold:tau=0.2", "cusum:h=0.3", "alarm:q=0.5,min_history=2"};
  for (size_t i = 0; i < 4; i++) {
    fp_policy *p = NULL;
    fp_retrain_cost cost;
    assert_int_equal(fp_policy_create(specs[i], &p, &err), FP_OK);
    assert_int_equal(fp_policy_run_exact(p, &pb, 0.05, schedule, NULL, NULL, &cost, &err), FP_OK);
    assert_true(cost.cost >= best.cost - 1e-14);
    fp_policy_destroy(&p);
  }
  assert_int_equal(fp_oracle_solve(&pb, 0.0, schedule, &zero, &err), FP_OK);
  assert_close(zero.mismatch_integral, 0.0, 0, 1e-15);
  free(K);
  fp_density_series_clear(&s);
  fp_case_destroy(&c);
}

/* No shift: the density sits at its stationary state, the mismatch stays at
 * round-off, and the debt filter (emissions of a drifting case) never
 * retrains. */
static void test_debt_no_shift(void **state)
{
  (void)state;
  fp_case *c;
  fp_density_series s;
  double *K;
  const char *ov[] = {"initial.density=exp(-x^2/2)", "reference.density=initial", "time.outputs=101",
                      "time.end=20", NULL};
  collect(relax, ov, &c, &s, &K);
  double worst = 0.0;
  for (size_t k = 0; k < s.T; k++) worst = fmax(worst, fabs(s.kl[k]));
  assert_true(worst < 1e-12);
  fp_retrain_problem pb;
  fp_density_series_problem(&s, K, &pb);
  fp_policy *p = NULL;
  fp_error err;
  assert_int_equal(fp_policy_create("debt:kappa=1,hazard=0.05,mu0=0.12,sigma0=0.12,mu1=0.6,sigma1=0.28", &p, &err), FP_OK);
  bool schedule[128];
  fp_retrain_cost cost;
  assert_int_equal(fp_policy_run_exact(p, &pb, 0.1, schedule, NULL, NULL, &cost, &err), FP_OK);
  assert_int_equal(cost.n_retrains, 0);
  fp_policy_destroy(&p);
  free(K);
  fp_density_series_clear(&s);
  fp_case_destroy(&c);
}

/* The exact study in memory agrees with running each policy and the oracle
 * directly, and its writer produces the summary the CLI prints. */
static void test_study_results_in_memory(void **state)
{
  (void)state;
  fp_case *c;
  fp_density_series s;
  double *K;
  const char *ov[] = {"reference.density=initial", NULL};
  collect(relax, ov, &c, &s, &K);
  fp_retrain_problem pb;
  fp_density_series_problem(&s, K, &pb);
  const char *specs[] = {"none", "calendar:k=2", "threshold:tau=0.2"};
  fp_policy_study_options opt = {.cost = 0.05, .kappa = 1, .stale_threshold = 0.05, .pareto_points = 5};
  fp_policy_study *st = NULL;
  fp_error err;
  assert_int_equal(fp_policy_study_exact_run(&s, K, specs, 3, &opt, &st, &err), FP_OK);
  assert_int_equal(fp_policy_study_count(st), 4);
  const fp_study_schedule *oracle = fp_policy_study_schedule(st, 3);
  assert_string_equal(oracle->label, "oracle");
  assert_close(oracle->regret, 0, 0, 0);
  bool schedule[64];
  fp_retrain_cost best;
  assert_int_equal(fp_oracle_solve(&pb, 0.05, schedule, &best, &err), FP_OK);
  assert_close(oracle->cost.cost, best.cost, 1e-15, 0);
  for (size_t i = 0; i < 3; i++) {
    const fp_study_schedule *r = fp_policy_study_schedule(st, i);
    fp_policy *p = NULL;
    fp_retrain_cost cost;
    assert_int_equal(fp_policy_create(specs[i], &p, &err), FP_OK);
    assert_string_equal(r->label, fp_policy_spec(p));
    assert_int_equal(fp_policy_run_exact(p, &pb, 0.05, schedule, NULL, NULL, &cost, &err), FP_OK);
    assert_int_equal(r->cost.n_retrains, cost.n_retrains);
    assert_close(r->cost.cost, cost.cost, 1e-15, 0);
    assert_close(r->regret, cost.cost - best.cost, 1e-12, 1e-15);
    for (size_t k = 0; k < s.T; k++) assert_int_equal(r->decision[k], schedule[k]);
    fp_policy_destroy(&p);
  }
  /* "none" never retrains and is charged the whole K[k][0] series */
  double integral = 0;
  for (size_t k = 0; k < s.T; k++) integral += K[k * s.T] * s.dt[k];
  assert_close(fp_policy_study_schedule(st, 0)->cost.mismatch_integral, integral, 1e-14, 0);
  const fp_pareto_point *pts = NULL;
  assert_int_equal(fp_policy_study_pareto(st, &pts), 5);
  assert_close(pts[2].c, 0.05, 1e-15, 0); /* the middle of c/100 .. 100 c */
  assert_close(pts[2].cost, best.cost, 1e-14, 0);
  assert_null(fp_policy_study_schedule(st, 4));
  /* the summary file lists every schedule */
  char dir[] = "/tmp/fp_study_XXXXXX";
  assert_non_null(mkdtemp(dir));
  assert_int_equal(fp_policy_study_write(st, &s, K, dir, &err), FP_OK);
  char path[256];
  snprintf(path, sizeof path, "%s/policy_summary.csv", dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[512];
  int rows = 0;
  while (fgets(line, sizeof line, f)) rows += line[0] == '"';
  fclose(f);
  assert_int_equal(rows, 4);
  /* the same files into a held directory, each listed in its manifest */
  char held[] = "/tmp/fp_study_held_XXXXXX";
  assert_non_null(mkdtemp(held));
  fp_output_dir *od = NULL;
  assert_int_equal(fp_output_dir_open(held, &od, &err), FP_OK);
  assert_int_equal(fp_policy_study_write_dir(st, &s, K, od, &err), FP_OK);
  assert_int_equal(fp_output_dir_close(&od, &err), FP_OK);
  assert_same_files_listed(dir, held);
  assert_int_equal(fp_policy_study_write_dir(st, &s, K, NULL, &err), FP_ERR_ARG);
  fp_policy_study_destroy(&st);
  assert_null(st);
  free(K);
  fp_density_series_clear(&s);
  fp_case_destroy(&c);
}

/* The sampled study in memory equals what fp_policy_study_sampled() writes. */
static void test_sampled_results_in_memory(void **state)
{
  (void)state;
  fp_case *c;
  fp_density_series s;
  double *K;
  const char *ov[] = {"reference.density=initial", NULL};
  collect(relax, ov, &c, &s, &K);
  const char *specs[] = {"threshold:tau=0.2", "calendar:k=3"};
  fp_policy_study_options opt = {.cost = 0.05, .kappa = 1, .stale_threshold = 0.05};
  fp_policy_sampled_options so = {.particles = 300, .replicas = 3, .seed = 4, .threads = 1,
                                  .estimator = "wkv"};
  fp_policy_sampled_result *r = NULL;
  fp_error err;
  assert_int_equal(fp_policy_study_sampled_run(c, &s, K, specs, 2, &opt, &so, &r, &err), FP_OK);
  assert_int_equal(fp_policy_sampled_count(r), 2);
  assert_null(fp_policy_sampled_row(r, 2));
  /* calendar decides on the clock alone: estimation noise cannot move it */
  const fp_sampled_row *cal = fp_policy_sampled_row(r, 1);
  assert_close(cal->mean[0], (double)cal->exact_retrains, 0, 0);
  assert_close(cal->se[0], 0, 0, 0);
  char dir[] = "/tmp/fp_sampled_XXXXXX";
  assert_non_null(mkdtemp(dir));
  assert_int_equal(fp_policy_study_sampled(c, &s, K, specs, 2, &opt, &so, dir, NULL, &err), FP_OK);
  char path[256], line[2048];
  snprintf(path, sizeof path, "%s/policy_sampled.csv", dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(line, sizeof line, f)); /* header */
  for (size_t i = 0; i < 2; i++) {
    assert_non_null(fgets(line, sizeof line, f));
    const fp_sampled_row *w = fp_policy_sampled_row(r, i);
    char *p = strchr(line + 1, '"') + 2; /* after the quoted spec */
    size_t exact_n = strtoul(p, &p, 10);
    assert_int_equal(exact_n, w->exact_retrains);
    assert_close(strtod(p + 1, &p), w->exact_cost, 0, 0);
    assert_close(strtod(p + 1, &p), w->oracle_cost, 0, 0);
    for (int q = 0; q < FP_SAMPLED_STATS; q++) {
      double m = strtod(p + 1, &p), e = strtod(p + 1, &p);
      if (!isnan(w->mean[q])) assert_close(m, w->mean[q], 0, 0);
      if (!isnan(w->se[q])) assert_close(e, w->se[q], 0, 0);
    }
  }
  fclose(f);
  char held[] = "/tmp/fp_sampled_held_XXXXXX";
  assert_non_null(mkdtemp(held));
  fp_output_dir *od = NULL;
  assert_int_equal(fp_output_dir_open(held, &od, &err), FP_OK);
  assert_int_equal(fp_policy_sampled_write_dir(r, od, &err), FP_OK);
  assert_int_equal(fp_output_dir_close(&od, &err), FP_OK);
  assert_same_files_listed(dir, held);
  fp_policy_sampled_destroy(&r);
  assert_null(r);
  free(K);
  fp_density_series_clear(&s);
  fp_case_destroy(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matrix_closed_form),
      cmocka_unit_test(test_oracle_on_pde),
      cmocka_unit_test(test_debt_no_shift),
      cmocka_unit_test(test_study_results_in_memory),
      cmocka_unit_test(test_sampled_results_in_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
