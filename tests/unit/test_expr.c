/* fpentropy tests: the expression compiler (expr.h) against closed forms and finite differences.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Values are checked against the same formula written in C; derivatives
 * against hand-derived closed forms and, for randomly generated
 * expressions, against central differences.  The text checks are
 * regression tests of the reliability issue (a Unicode minus once ran as
 * +x; a sum of 110000 terms once overflowed the stack). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_support.h"

#include <fpentropy/problem/expr.h>

static void assert_contains(const char *message, const char *fragment)
{
  if (!strstr(message, fragment)) {
    print_error("message \"%s\"\n  does not contain \"%s\"\n", message, fragment);
    fail();
  }
}

static fp_expr *compile(const char *text, int dim, const fp_constants *k)
{
  fp_expr *e = NULL;
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_expr_create(text, dim, k, &e, &err);
  if (rc != FP_OK) print_error("'%.80s': %s\n", text, err.message);
  assert_int_equal(rc, FP_OK);
  return e;
}

static void expect_fail(const char *text, const char *fragment1, const char *fragment2)
{
  fp_expr *e = NULL;
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_expr_create(text, 2, NULL, &e, &err);
  if (rc == FP_OK) print_error("'%.80s' compiled\n", text);
  assert_int_equal(rc, FP_ERR_EXPR);
  assert_null(e);
  if (fragment1) assert_contains(err.message, fragment1);
  if (fragment2) assert_contains(err.message, fragment2);
}

static double close_rel(double a, double b) { return fabs(a - b) / (1.0 + fabs(a) + fabs(b)); }

typedef double (*fn2)(double x, double y, double t);

/* ---- values against C --------------------------------------------------- */

static double f1(double x, double y, double t) { (void)t; return -x + 2.5 * y - x * x * x / 3.0; }
static double f2(double x, double y, double t) { (void)y; return exp(-pow(x - 1.0, 2)) * cos(t); }
static double f3(double x, double y, double t) { (void)t; return -pow(x, 2) + pow(2.0, pow(y, 2)); }
static double f4(double x, double y, double t) { (void)t; return x / y / 2.0 * 3.0; }
static double f5(double x, double y, double t) { return x - y - t - 1.0; }
static double f6(double x, double y, double t) { (void)t; return sqrt(fabs(x)) + erf(y) + atan(1.0 / x); }
static double f7(double x, double y, double t) { (void)y; (void)t; return (x < 0 ? 0.0 : 1.0) * sinh(x) / cosh(x); }
static double f8(double x, double y, double t) { (void)t; return 1e-3 * x + .5e+1 * y + M_PI * M_E; }
static double f9(double x, double y, double t) { (void)t; return -(-(-x)) * (+y); }
static double f10(double x, double y, double t) { (void)t; return asinh(x) + acosh(2.0 + y * y) + log(2.0 + x); }

static void test_values(void **state)
{
  (void)state;
  static const struct { const char *text; fn2 f; } cases[] = {
      {"-x + 2.5*y - x^3/3", f1},
      {"exp(-(x-1)^2) * cos(t)", f2},
      {"-x^2 + 2^y^2", f3}, /* -x^2 = -(x^2); ^ is right-associative */
      {"x/y/2*3", f4},      /* left to right */
      {"x - y - t - 1", f5},
      {"sqrt(abs(x)) + erf(y) + acot(x)", f6},
      {"step(x)*tanh(x)", f7},
      {"1e-3*x + .5e+1*y + pi*e", f8},
      {"-(-(-x))*(+y)", f9},
      {"asinh(x) + acosh(2 + y*y) + log(2 + x)", f10},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fp_expr *e = compile(cases[i].text, 2, NULL);
    for (int k = 0; k < 50; k++) {
      double p[3] = {-1.7 + 0.071 * k, 0.3 + 0.05 * k, 0};
      double t = 0.02 * k;
      double got = fp_expr_eval(e, p, t), want = cases[i].f(p[0], p[1], t);
      if (!(close_rel(got, want) < 1e-14)) {
        print_error("%s at (%g, %g, %g): %.17g, want %.17g\n", cases[i].text, p[0], p[1], t, got,
                    want);
        fail();
      }
    }
    fp_expr_destroy(&e);
  }
}

/* ---- derivatives against closed forms ----------------------------------- */

static double d1(double x, double y, double t) { (void)y; (void)t; return -1.0 - x * x; }
static double d2(double x, double y, double t) { (void)y; return -2.0 * (x - 1.0) * exp(-pow(x - 1.0, 2)) * cos(t); }
static double d3(double x, double y, double t) { (void)y; (void)t; return 1.0 / sqrt(1.0 + x * x); } /* asinh */
static double d4(double x, double y, double t) { (void)y; (void)t; return 1.0 / (1.0 - x * x); }     /* acoth */
static double d5(double x, double y, double t) { (void)y; (void)t; return -1.0 / (x * sqrt(1.0 - x * x)); } /* asech, 0<x<1 */
static double d6(double x, double y, double t) { (void)t; return y * pow(x, y - 1.0); }
static double d7(double x, double y, double t) { (void)t; return pow(x, y) * (y / x); }
static double d8(double x, double y, double t) { (void)t; return 1.0 / y - 2.0 * x / (y * y * y); } /* d/dx (x/y - x^2/y^3) */

static void test_derivatives(void **state)
{
  (void)state;
  static const struct { const char *text; fn2 f; } cases[] = {
      {"-x + 2.5*y - x^3/3", d1},
      {"exp(-(x-1)^2) * cos(t)", d2},
      {"asinh(x)", d3},
      {"acoth(x + 2) - acoth(2 + x) + acoth(x/2)*2 - acoth(x/2)*2 + acoth(x)", d4},
      {"asech(x)", d5},
      {"x^y", d6},
      {"x^y + 0*y", d7},
      {"x/y - x^2/y^3", d8},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fp_expr *e = compile(cases[i].text, 2, NULL), *d = NULL;
    fp_error err;
    assert_int_equal(fp_expr_derivative(e, 0, &d, &err), FP_OK);
    for (int k = 0; k < 30; k++) {
      double p[3] = {0.05 + 0.03 * k, 0.7 + 0.05 * k, 0};
      if (i == 3) p[0] += 2.0; /* acoth needs |x| > 1 */
      double t = 0.1 * k;
      double got = fp_expr_eval(d, p, t), want = cases[i].f(p[0], p[1], t);
      if (!(close_rel(got, want) < 1e-12)) {
        print_error("d/dx %s at (%g, %g, %g): %.17g, want %.17g\n", cases[i].text, p[0], p[1], t,
                    got, want);
        fail();
      }
    }
    fp_expr_destroy(&d);
    fp_expr_destroy(&e);
  }
  /* Dependence and zero after simplification. */
  fp_expr *e = compile("3*x + 0*y + t*0", 2, NULL), *d = NULL;
  assert_true(fp_expr_depends_on(e, 0));
  assert_false(fp_expr_depends_on(e, 1));
  assert_false(fp_expr_depends_on(e, FP_EXPR_TIME));
  assert_int_equal(fp_expr_derivative(e, 1, &d, NULL), FP_OK);
  assert_true(fp_expr_is_zero(d));
  fp_expr_destroy(&d);
  assert_int_equal(fp_expr_derivative(e, 0, &d, NULL), FP_OK);
  assert_false(fp_expr_is_zero(d));
  assert_false(fp_expr_depends_on(d, 0));
  double p[3] = {0.3, 0.1, 0};
  assert_true(fp_expr_eval(d, p, 0.0) == 3.0);
  fp_expr_destroy(&d);
  fp_expr_destroy(&e);
}

/* ---- random expressions: derivative against central differences --------- */

static unsigned long long rng_state = 12345;
static unsigned rnd(unsigned n)
{
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (unsigned)((rng_state >> 33) % n);
}

static void gen(char *buf, size_t cap, size_t *len, int depth)
{
  static const char *const leaves[] = {"x", "y", "t", "2", "0.5", "1.25", "pi", "x", "y"};
  static const char *const fns[] = {"exp", "sin", "cos", "atan", "tanh", "sqrt", "log",
                                    "asinh", "erf", "cosh", "abs"};
#define PUT(...) (*len += (size_t)snprintf(buf + *len, cap - *len, __VA_ARGS__))
  unsigned r = rnd(10);
  if (depth > 3 || r < 3) {
    PUT("%s", leaves[rnd(9)]);
    return;
  }
  switch (rnd(6)) {
  case 0: PUT("("); gen(buf, cap, len, depth + 1); PUT(" %c ", "+-"[rnd(2)]); gen(buf, cap, len, depth + 1); PUT(")"); break;
  case 1: gen(buf, cap, len, depth + 1); PUT(" * "); gen(buf, cap, len, depth + 1); break;
  case 2: PUT("("); gen(buf, cap, len, depth + 1); PUT(") / (2 + sin("); gen(buf, cap, len, depth + 1); PUT("))"); break;
  case 3: PUT("(1 + ("); gen(buf, cap, len, depth + 1); PUT(")^2)^%s", rnd(2) ? "0.5" : "(0.5 + x*x)"); break;
  case 4: PUT("-"); gen(buf, cap, len, depth + 1); break;
  default: PUT("%s(", fns[rnd(11)]); gen(buf, cap, len, depth + 1); PUT(")"); break;
  }
#undef PUT
}

static void test_random_derivatives(void **state)
{
  (void)state;
  int compared = 0;
  for (int n = 0; n < 1500; n++) {
    char text[4096];
    size_t len = 0;
    gen(text, sizeof text, &len, 0);
    fp_expr *e = compile(text, 2, NULL);
    for (int axis = FP_EXPR_TIME; axis < 2; axis++) {
      fp_expr *d = NULL;
      assert_int_equal(fp_expr_derivative(e, axis, &d, NULL), FP_OK);
      for (int k = 0; k < 5; k++) {
        double p[3] = {0.2 + 0.37 * k, 0.9 - 0.31 * k, 0}, t = 0.15 * k;
        double h = 1e-5, pp[3] = {p[0], p[1], 0}, pm[3] = {p[0], p[1], 0}, tp = t, tm = t;
        if (axis == FP_EXPR_TIME) {
          tp += h;
          tm -= h;
        } else {
          pp[axis] += h;
          pm[axis] -= h;
        }
        double fp = fp_expr_eval(e, pp, tp), fm = fp_expr_eval(e, pm, tm), f0 = fp_expr_eval(e, p, t);
        double got = fp_expr_eval(d, p, t);
        if (!isfinite(fp) || !isfinite(fm) || !isfinite(f0) || !isfinite(got)) continue;
        /* Skip kinks (abs, sqrt near 0): the difference quotient is wrong there. */
        double fd = (fp - fm) / (2 * h), fd2 = (fp_expr_eval(e, pp, tp) - f0) / h;
        if (fabs(fd - fd2) > 1e-3 * (1 + fabs(fd))) continue;
        /* The central difference's own error, estimated from h against 2h
         * (O(h^2) truncation, O(eps/h) round-off). */
        double h2 = 2 * h, q[3] = {p[0], p[1], 0}, r[3] = {p[0], p[1], 0}, tq = t, tr = t;
        if (axis == FP_EXPR_TIME) {
          tq += h2;
          tr -= h2;
        } else {
          q[axis] += h2;
          r[axis] -= h2;
        }
        double fdw = (fp_expr_eval(e, q, tq) - fp_expr_eval(e, r, tr)) / (2 * h2);
        compared++;
        if (!(fabs(got - fd) <= 1e-7 * (1 + fabs(fd) + fabs(f0)) + 2 * fabs(fd - fdw))) {
          print_error("d/d%d of %s at (%g, %g, %g): %.12g, differences %.12g\n", axis, text, p[0],
                      p[1], t, got, fd);
          fail();
        }
      }
      fp_expr_destroy(&d);
    }
    fp_expr_destroy(&e);
  }
  assert_true(compared > 10000);
}

/* ---- text checks ----------------------------------------------------------- */

static void test_bad_text(void **state)
{
  (void)state;
  /* R01: a Unicode minus (U+2212) once ran as drift = +x. */
  expect_fail("\xe2\x88\x92x", "U+2212", "column 1");
  expect_fail("exp(\xe2\x88\x92x^2)", "U+2212", "column 5");
  expect_fail("x\xc2\xb2", "U+00B2", "x^2");
  expect_fail("-x;", "';' at column 3", NULL);
  expect_fail("x\x01", "0x01", "column 2");
  expect_fail("\xff", "0xFF", "column 1");
  expect_fail("2x", "2*x", NULL);
  expect_fail("x +", "at the end", NULL);
  expect_fail("(x", "')'", NULL);
  expect_fail("x)", "closes nothing", NULL);
  expect_fail("foo(x)", "unknown function 'foo'", NULL);
  expect_fail("q*x", "unknown name 'q'", "allowed: x, y, t");
  expect_fail("z", "unknown name 'z'", NULL); /* 2D: no z */
  expect_fail("exp", "'('", NULL);
  expect_fail("   ", "empty", NULL);
  expect_fail("inf", "unknown name 'inf'", NULL);
  expect_fail("0x10", "2*x", NULL);
  /* Depth and length bounds. */
  char *deep = malloc(2 * FP_EXPR_MAX_DEPTH + 8);
  assert_non_null(deep);
  size_t n = 0;
  for (int i = 0; i < FP_EXPR_MAX_DEPTH + 1; i++) deep[n++] = '(';
  deep[n++] = 'x';
  for (int i = 0; i < FP_EXPR_MAX_DEPTH + 1; i++) deep[n++] = ')';
  deep[n] = '\0';
  expect_fail(deep, "nests more than", NULL);
  memset(deep, '-', 2 * FP_EXPR_MAX_DEPTH);
  strcpy(deep + 2 * FP_EXPR_MAX_DEPTH, "x");
  expect_fail(deep, "nests more than", NULL);
  free(deep);
  char *long_text = malloc(FP_EXPR_MAX_LENGTH + 2);
  assert_non_null(long_text);
  memset(long_text, ' ', FP_EXPR_MAX_LENGTH + 1);
  long_text[0] = 'x';
  long_text[FP_EXPR_MAX_LENGTH + 1] = '\0';
  expect_fail(long_text, "characters long", NULL);
  free(long_text);
}

/* R02: 110000 terms (once SIGSEGV in libmatheval); the value must be exact. */
static void test_long_sum(void **state)
{
  (void)state;
  const int terms = 110000;
  size_t cap = (size_t)terms * 8 + 16;
  char *text = malloc(cap);
  assert_non_null(text);
  size_t len = (size_t)snprintf(text, cap, "-x");
  for (int i = 0; i < terms; i++) len += (size_t)snprintf(text + len, cap - len, "+0*x+x/4");
  fp_expr *e = compile(text, 1, NULL), *d = NULL;
  double p[3] = {0.5, 0, 0};
  assert_close(fp_expr_eval(e, p, 0.0), -0.5 + terms * 0.125, 0, 1e-9);
  assert_int_equal(fp_expr_derivative(e, 0, &d, NULL), FP_OK);
  assert_close(fp_expr_eval(d, p, 0.0), -1.0 + terms * 0.25, 0, 1e-12);
  fp_expr_destroy(&d);
  fp_expr_destroy(&e);
  free(text);
}

/* R03: constants are found through a hash, so n constants load in O(n):
 * 200000 constants used by one expression each must take well under the
 * quadratic cost (which was minutes at 5000). */
static void test_many_constants(void **state)
{
  (void)state;
  fp_constants k = {0};
  char name[32], text[64];
  const int n = 200000;
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof name, "c%07d", i);
    snprintf(text, sizeof text, i ? "c%07d + 1" : "0", i - 1);
    fp_expr *e = compile(text, 1, &k);
    double p[3] = {0, 0, 0};
    assert_int_equal(fp_constants_set(&k, name, fp_expr_eval(e, p, 0.0), NULL), FP_OK);
    fp_expr_destroy(&e);
  }
  double v = 0;
  assert_true(fp_constants_get(&k, "c0199999", &v));
  assert_true(v == n - 1);
  assert_int_equal(fp_constants_set(&k, "c0000007", 42.0, NULL), FP_OK); /* replace */
  assert_int_equal((int)k.count, n);
  assert_true(fp_constants_get(&k, "c0000007", &v) && v == 42.0);
  assert_false(fp_constants_get(&k, "c", &v));
  assert_int_equal(fp_constants_set(&k, "pi", 1.0, NULL), FP_ERR_ARG);
  fp_constants_clear(&k);
  assert_int_equal((int)k.count, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values),       cmocka_unit_test(test_derivatives),
      cmocka_unit_test(test_random_derivatives), cmocka_unit_test(test_bad_text),
      cmocka_unit_test(test_long_sum),     cmocka_unit_test(test_many_constants),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
