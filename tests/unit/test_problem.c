/* Unit tests: the problem API (problems built in code) and C-callback expressions.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/fpentropy.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_log.h>

#include "test_support.h"

/* ---- callback expressions ---------------------------------------------- */

static double smooth(const double *x, double t, void *ctx)
{
  double a = *(const double *)ctx;
  return sin(a * x[0]) * exp(-x[1] * x[1]) + t * x[0];
}
static double smooth_dx_exact(const double *x, double t, void *ctx)
{
  double a = *(const double *)ctx;
  return a * cos(a * x[0]) * exp(-x[1] * x[1]) + t;
}
static double half(const double *x, double t, void *ctx)
{
  (void)t, (void)ctx;
  return 0.5 * x[0];
}

static void test_fn_eval_and_derivatives(void **state)
{
  (void)state;
  double a = 1.7;
  fp_expr *e = NULL, *dx = NULL, *dy = NULL, *dt = NULL;
  fp_error err;
  assert_int_equal(fp_expr_create_fn(smooth, &a, 2, FP_FN_DEPENDS_SPACE | FP_FN_DEPENDS_T, "f", &e,
                                     &err), FP_OK);
  assert_false(fp_expr_is_symbolic(e));
  assert_true(fp_expr_depends_on(e, 0));
  assert_true(fp_expr_depends_on(e, FP_EXPR_TIME));
  assert_string_equal(fp_expr_text(e), "f");
  const double x[FP_MAX_DIM] = {0.3, -0.4, 0};
  assert_close(fp_expr_eval(e, x, 2.0), smooth(x, 2.0, &a), 0, 0);
  assert_int_equal(fp_expr_derivative(e, 0, &dx, &err), FP_OK);
  assert_int_equal(fp_expr_derivative(e, 1, &dy, &err), FP_OK);
  assert_int_equal(fp_expr_derivative(e, FP_EXPR_TIME, &dt, &err), FP_OK);
  /* central differences with h = eps^(1/3): ~1e-10 relative on smooth functions */
  assert_close(fp_expr_eval(dx, x, 2.0), smooth_dx_exact(x, 2.0, &a), 1e-8, 1e-10);
  assert_close(fp_expr_eval(dy, x, 2.0), sin(a * x[0]) * -2 * x[1] * exp(-x[1] * x[1]), 1e-8, 1e-10);
  assert_close(fp_expr_eval(dt, x, 2.0), x[0], 1e-8, 1e-10);
  /* a second derivative of a callback is refused with a message */
  fp_expr *d2 = NULL;
  assert_int_equal(fp_expr_derivative(dx, 0, &d2, &err), FP_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "second derivatives"));
  fp_expr_destroy(&dx);
  /* an exact derivative, once given, is used as it is */
  assert_int_equal(fp_expr_set_derivative_fn(e, 0, smooth_dx_exact, &a, &err), FP_OK);
  assert_int_equal(fp_expr_derivative(e, 0, &dx, &err), FP_OK);
  assert_close(fp_expr_eval(dx, x, 2.0), smooth_dx_exact(x, 2.0, &a), 0, 0);
  fp_expr_destroy(&dx);
  fp_expr_destroy(&dy);
  fp_expr_destroy(&dt);
  fp_expr_destroy(&e);
}

static void test_fn_undeclared_axis_is_exactly_zero(void **state)
{
  (void)state;
  fp_expr *e = NULL, *dy = NULL, *dx = NULL;
  fp_error err;
  assert_int_equal(fp_expr_create_fn(half, NULL, 2, FP_FN_DEPENDS_X, NULL, &e, &err), FP_OK);
  assert_false(fp_expr_depends_on(e, 1));
  assert_false(fp_expr_depends_on(e, FP_EXPR_TIME));
  assert_int_equal(fp_expr_derivative(e, 1, &dy, &err), FP_OK);
  assert_true(fp_expr_is_zero(dy));
  assert_int_equal(fp_expr_derivative(e, 0, &dx, &err), FP_OK);
  const double x[FP_MAX_DIM] = {1e5, 3, 0};
  assert_close(fp_expr_eval(dx, x, 0), 0.5, 1e-9, 0);
  fp_expr_destroy(&dx);
  fp_expr_destroy(&dy);
  fp_expr_destroy(&e);
  /* bad arguments */
  assert_int_equal(fp_expr_create_fn(NULL, NULL, 2, 0, NULL, &e, &err), FP_ERR_ARG);
  assert_int_equal(fp_expr_create_fn(half, NULL, 4, 0, NULL, &e, &err), FP_ERR_ARG);
  assert_int_equal(fp_expr_create_fn(half, NULL, 1, 0x100, NULL, &e, &err), FP_ERR_ARG);
  assert_null(e);
}

/* ---- the problem builder ------------------------------------------------ */

/* A new problem has the defaults of the smallest case file (read independently). */
static void test_defaults_equal_minimal_case_file(void **state)
{
  (void)state;
  fp_error err;
  fp_problem *p = NULL;
  assert_int_equal(fp_problem_create(2, "demo", &p, &err), FP_OK);
  fp_case *c = fp_test_case("[domain]\ndimension = 2\nlower = 0, 0\nupper = 1, 1\n"
                            "cells = 16, 16\n[dynamics]\ndiffusion = 1\n[initial]\ndensity = 1\n"
                            "[time]\nend = 1\n",
                            NULL);
  assert_int_equal(p->grid.dim, 2);
  assert_int_equal(p->grid.ncells, c->grid.ncells);
  assert_int_equal(p->grid.bc[0], c->grid.bc[0]);
  assert_close(p->t_end, c->t_end, 0, 0);
  assert_int_equal(p->n_output_times, c->n_output_times);
  for (size_t k = 0; k < c->n_output_times; k++) assert_close(p->output_times[k], c->output_times[k], 0, 0);
  assert_int_equal(p->n_snapshot_times, c->n_snapshot_times);
  assert_close(p->rtol, c->rtol, 0, 0);
  assert_close(p->atol, c->atol, 0, 0);
  assert_int_equal(p->max_steps, c->max_steps);
  assert_int_equal(p->linear_solver, c->linear_solver);
  assert_int_equal(p->split, c->split);
  assert_int_equal(p->reference_kind, c->reference_kind);
  assert_true(p->diagonal_diffusion);
  assert_string_equal(p->name, "demo");
  assert_string_equal(p->output_dir, "out/demo");
  fp_case_destroy(&c);
  fp_problem_destroy(&p);
  assert_null(p);
}

static void test_setter_errors_leave_problem_unchanged(void **state)
{
  (void)state;
  fp_error err;
  fp_problem *p = NULL;
  assert_int_equal(fp_problem_create(1, NULL, &p, &err), FP_OK);
  assert_int_equal(fp_problem_set_axis(p, 1, 0, 1, 10, FP_BC_REFLECTING, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "not an axis"));
  assert_int_equal(fp_problem_set_axis(p, 0, 1, 0, 10, FP_BC_REFLECTING, &err), FP_ERR_ARG);
  assert_int_equal(p->grid.n[0], 16);
  assert_int_equal(fp_problem_set_drift(p, 0, "x +* 2", &err), FP_ERR_EXPR);
  assert_non_null(strstr(err.message, "drift_x"));
  assert_int_equal(fp_problem_set_initial(p, "exp(-x^2)*t", &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "must not depend on t"));
  assert_int_equal(fp_problem_set_times(p, -1, 5, &err), FP_ERR_ARG);
  assert_int_equal(fp_problem_set_tolerances(p, 2, 1e-12, &err), FP_ERR_ARG);
  assert_int_equal(fp_problem_set_reference_kind(p, FP_REFERENCE_EXPRESSION, &err), FP_ERR_ARG);
  assert_close(p->t_end, 1, 0, 0);
  assert_close(p->rtol, FP_RTOL_AUTO, 0, 0); /* rtol = auto: from the grid */
  fp_problem_destroy(&p);
}

/* Collect the kl column of a run. */
typedef struct kl_rows {
  size_t n;
  double t[64], kl[64], residual[64];
} kl_rows;

static int collect(const fp_balance_row *row, void *ctx)
{
  kl_rows *r = ctx;
  if (r->n < 64) {
    r->t[r->n] = row->t;
    r->kl[r->n] = row->kl;
    r->residual[r->n] = row->residual / row->scale;
    r->n++;
  }
  return 0;
}

static double ou_drift(const double *x, double t, void *ctx)
{
  (void)t;
  return -*(const double *)ctx * x[0];
}
static double gauss_at_1(const double *x, double t, void *ctx)
{
  (void)t, (void)ctx;
  return exp(-(x[0] - 1) * (x[0] - 1) / 0.5);
}

/* The same 1D OU relaxation built three ways (case text, setters with
 * expressions, setters with C callbacks) gives the same balance rows. */
static void test_three_ways_agree(void **state)
{
  (void)state;
  fp_error err;
  fp_case *c = fp_test_case("[domain]\ndimension = 1\nlower = -5\nupper = 5\ncells = 200\n"
                            "[dynamics]\ndrift = -0.8*x\ndiffusion = 0.6\n"
                            "[initial]\ndensity = exp(-(x - 1)^2/0.5)\n[reference]\ndensity = stationary\n"
                            "[time]\nend = 2\noutputs = 9\n",
                            NULL);
  fp_problem *pe = NULL, *pf = NULL;
  double k = 0.8;
  assert_int_equal(fp_problem_create(1, "expr", &pe, &err), FP_OK);
  assert_int_equal(fp_problem_create(1, "fn", &pf, &err), FP_OK);
  fp_problem *both[2] = {pe, pf};
  for (int i = 0; i < 2; i++) {
    assert_int_equal(fp_problem_set_axis(both[i], 0, -5, 5, 200, FP_BC_REFLECTING, &err), FP_OK);
    assert_int_equal(fp_problem_set_diffusion(both[i], 0, 0, "0.6", &err), FP_OK);
    assert_int_equal(fp_problem_set_reference_kind(both[i], FP_REFERENCE_STATIONARY, &err), FP_OK);
    assert_int_equal(fp_problem_set_times(both[i], 2, 9, &err), FP_OK);
  }
  assert_int_equal(fp_problem_set_constant(pe, "k", 0.8, &err), FP_OK);
  assert_int_equal(fp_problem_set_drift(pe, 0, "-k*x", &err), FP_OK);
  assert_int_equal(fp_problem_set_initial(pe, "exp(-(x - 1)^2/0.5)", &err), FP_OK);
  assert_int_equal(fp_problem_set_drift_fn(pf, 0, ou_drift, &k, FP_FN_DEPENDS_X, &err), FP_OK);
  assert_int_equal(fp_problem_set_initial_fn(pf, gauss_at_1, NULL, FP_FN_DEPENDS_X, &err), FP_OK);

  kl_rows rc_case = {0}, rc_expr = {0}, rc_fn = {0};
  fp_run_options o = {.on_row = collect};
  o.row_ctx = &rc_case;
  assert_int_equal(fp_run_case(c, &o, NULL, &err), FP_OK);
  o.row_ctx = &rc_expr;
  assert_int_equal(fp_problem_solve(pe, &o, NULL, &err), FP_OK);
  o.row_ctx = &rc_fn;
  assert_int_equal(fp_problem_solve(pf, &o, NULL, &err), FP_OK);
  assert_int_equal(rc_case.n, 9);
  assert_int_equal(rc_expr.n, 9);
  assert_int_equal(rc_fn.n, 9);
  for (size_t i = 0; i < 9; i++) {
    assert_close(rc_expr.t[i], rc_case.t[i], 0, 1e-15);
    assert_close(rc_expr.kl[i], rc_case.kl[i], 1e-12, 1e-15);
    assert_close(rc_fn.kl[i], rc_case.kl[i], 1e-12, 1e-15);
    assert_close(rc_fn.residual[i], 0, 0, 1e-12);
  }
  assert_true(rc_case.kl[0] > 0.1); /* the comparison is not between zeros */
  fp_case_destroy(&c);
  fp_problem_destroy(&pe);
  fp_problem_destroy(&pf);
}

static void test_load_string_names_the_source(void **state)
{
  (void)state;
  fp_error err;
  fp_case *c = NULL;
  int rc = fp_case_load_string("[domain]\ndimension = 1\nlower = 0\nupper = 1\ncells = ten\n", "mine.ini",
                               NULL, 0, &c, &err);
  assert_int_equal(rc, FP_ERR_CASE);
  assert_null(c);
  assert_non_null(strstr(err.message, "mine.ini:5"));
}

/* ---- GSL's error handler ------------------------------------------------ */

static int gsl_handler_calls = 0;
static void recording_handler(const char *reason, const char *file, int line, int gsl_errno)
{
  (void)reason, (void)file, (void)line, (void)gsl_errno;
  gsl_handler_calls++; /* GSL's default would abort() here */
}

/* A density whose evaluation makes GSL fail on purpose: log of a negative
 * number for x < 0 (gsl_sf_log, not the _e variant, reports through the
 * handler). */
static double failing_density(const double *x, double t, void *ctx)
{
  (void)t, (void)ctx;
  return gsl_sf_log(x[0]);
}

static void test_gsl_failure_inside_a_library_call(void **state)
{
  (void)state;
  gsl_error_handler_t *previous = gsl_set_error_handler(recording_handler);
  const double minus_one[FP_MAX_DIM] = {-1, 0, 0};
  gsl_handler_calls = 0;
  (void)failing_density(minus_one, 0, NULL); /* outside the library the handler fires */
  assert_true(gsl_handler_calls >= 1);

  fp_error err;
  fp_problem *p = NULL;
  assert_int_equal(fp_problem_create(1, "gsl", &p, &err), FP_OK);
  assert_int_equal(fp_problem_set_axis(p, 0, -1, 1, 20, FP_BC_REFLECTING, &err), FP_OK);
  assert_int_equal(fp_problem_set_initial_fn(p, failing_density, NULL, FP_FN_DEPENDS_X, &err), FP_OK);
  gsl_handler_calls = 0;
  int rc = fp_problem_solve(p, &(fp_run_options){0}, NULL, &err);
  assert_int_not_equal(rc, FP_OK); /* a clean error ... */
  assert_true(strlen(err.message) > 0);
  assert_int_equal(gsl_handler_calls, 0); /* ... and the handler was not called */
  /* the caller's handler is back in place */
  assert_true(gsl_set_error_handler(previous) == recording_handler);
  fp_problem_destroy(&p);
}

/* ---- verification results in memory ------------------------------------- */

static void test_verify_report_in_memory(void **state)
{
  (void)state;
  fp_case *c = fp_test_case("[domain]\ndimension = 1\nlower = -4\nupper = 4\ncells = 120\n"
                            "[dynamics]\ndrift = -x\ndiffusion = 1\n[initial]\ndensity = exp(-(x-1)^2)\n"
                            "[reference]\ndensity = exp(-x^2/2)\n[time]\nend = 1\noutputs = 5\n",
                            NULL);
  fp_error err;
  fp_verify_report *rep = NULL;
  assert_int_equal(fp_verify_run(c, &(fp_run_options){0}, &rep, &err), FP_OK);
  fp_verify_summary sum = fp_verify_report_summary(rep);
  assert_true(sum.checks >= 5);
  assert_int_equal(sum.failed, 0);
  int pass = 0;
  for (size_t i = 0; i < fp_verify_report_count(rep); i++) {
    const fp_verify_check *k = fp_verify_report_check(rep, i);
    assert_true(strlen(k->name) > 0);
    pass += k->verdict == FP_VERDICT_PASS;
  }
  assert_int_equal(pass, sum.checks);
  assert_null(fp_verify_report_check(rep, fp_verify_report_count(rep)));
  /* the writer prints one line per check between the header and the verdict */
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_int_equal(fp_verify_report_write(rep, f, &err), FP_OK);
  fclose(f);
  size_t lines = 0;
  for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
  assert_int_equal(lines, fp_verify_report_count(rep) + 2);
  assert_non_null(strstr(text, "failed: PASS"));
  free(text);
  fp_verify_report_destroy(&rep);
  assert_null(rep);

  /* a run that does not complete gives a report with a FAIL line "run" */
  volatile sig_atomic_t stop = 1;
  assert_int_equal(fp_verify_run(c, &(fp_run_options){.interrupted = &stop}, &rep, &err),
                   FP_ERR_INTERRUPTED);
  assert_non_null(rep);
  assert_int_equal(fp_verify_report_summary(rep).failed, 1);
  assert_string_equal(fp_verify_report_check(rep, 0)->name, "run");
  fp_verify_report_destroy(&rep);
  fp_case_destroy(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fn_eval_and_derivatives),
      cmocka_unit_test(test_fn_undeclared_axis_is_exactly_zero),
      cmocka_unit_test(test_defaults_equal_minimal_case_file),
      cmocka_unit_test(test_setter_errors_leave_problem_unchanged),
      cmocka_unit_test(test_three_ways_agree),
      cmocka_unit_test(test_load_string_names_the_source),
      cmocka_unit_test(test_gsl_failure_inside_a_library_call),
      cmocka_unit_test(test_verify_report_in_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
