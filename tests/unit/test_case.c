/* fpentropy tests: case files (case.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Valid cases must load with the right values; every class of mistake must
 * be reported with its file, line and key before anything is computed.  Run
 * under valgrind (or -DFP_SANITIZE=ON) to check that no error path leaks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include <fpentropy/problem/case.h>

/* ---- helpers ------------------------------------------------------------ */

/* Fails with the whole message when `fragment` is not in it. */
static void assert_contains(const char *message, const char *fragment)
{
  if (!strstr(message, fragment)) {
    print_error("message \"%s\"\n  does not contain \"%s\"\n", message, fragment);
    fail();
  }
}

/* Load `text` from a temporary file; the file is removed again.  `path`
 * (64 bytes) receives the name it had, for checking messages. */
static int load_text(const char *text, const char *const *overrides, size_t n, fp_case **c,
                     fp_error *err, char *path)
{
  fp_test_write_temp(text, path, 64);
  fp_error_clear(err);
  int rc = fp_case_load(path, overrides, n, c, err);
  remove(path);
  return rc;
}

static fp_case *load_ok(const char *text, const char *const *overrides, size_t n, char *path)
{
  fp_case *c = NULL;
  fp_error err;
  int rc = load_text(text, overrides, n, &c, &err, path);
  if (rc != FP_OK) print_error("unexpected error: %s\n", err.message);
  assert_int_equal(rc, FP_OK);
  assert_non_null(c);
  return c;
}

/* Loading must fail with `code`; the message must name "path:line: " (when
 * line > 0) and contain both fragments (when not NULL). */
static void expect_error(const char *text, const char *const *overrides, size_t n, int code,
                         int line, const char *fragment1, const char *fragment2)
{
  char path[64];
  fp_case dummy;
  fp_case *c = &dummy; /* anything but NULL: the loader must reset it */
  fp_error err;
  int rc = load_text(text, overrides, n, &c, &err, path);
  if (rc != code) print_error("got status %d (%s)\n", rc, err.message);
  assert_int_equal(rc, code);
  assert_int_equal(err.code, code);
  assert_null(c);
  if (line > 0) {
    char where[96];
    snprintf(where, sizeof where, "%s:%d: ", path, line);
    assert_contains(err.message, where);
  }
  if (fragment1) assert_contains(err.message, fragment1);
  if (fragment2) assert_contains(err.message, fragment2);
}

static double eval1(fp_expr *e, double x, double t)
{
  const double p[FP_MAX_DIM] = {x, 0.0, 0.0};
  return fp_expr_eval(e, p, t);
}

static double eval2(fp_expr *e, double x, double y, double t)
{
  const double p[FP_MAX_DIM] = {x, y, 0.0};
  return fp_expr_eval(e, p, t);
}

/* A valid 1D case in pieces, with the line numbers the error tests rely on. */
#define DOMAIN_1D                                                                    \
  "[domain]\n"       /* 1 */                                                         \
  "dimension = 1\n"  /* 2 */                                                         \
  "lower = -5\n"     /* 3 */                                                         \
  "upper = 5\n"      /* 4 */                                                         \
  "cells = 50\n"     /* 5 */
#define DYNAMICS_1D                                                                  \
  "[dynamics]\n"     /* 6 */                                                         \
  "drift = -x\n"     /* 7 */                                                         \
  "diffusion = 1\n"  /* 8 */
#define REST_1D                                                                      \
  "[initial]\n"              /* 9 */                                                 \
  "density = exp(-x^2)\n"    /* 10 */                                                \
  "[time]\n"                 /* 11 */                                                \
  "end = 1\n"                /* 12 */
#define VALID_1D DOMAIN_1D DYNAMICS_1D REST_1D

/* ---- valid cases -------------------------------------------------------- */

static void test_valid_1d(void **state)
{
  (void)state;
  char path[64];
  fp_case *c = load_ok("; an Ornstein-Uhlenbeck process with everything set\n"
                       "[domain]\n"
                       "dimension = 1\n"
                       "lower = -5\n"
                       "upper = 5\n"
                       "cells = 100\n"
                       "boundary = absorbing\n"
                       "[constants]\n"
                       "k = 1.5\n"
                       "[dynamics]\n"
                       "drift = -k*x + sin(t)\n"
                       "diffusion = 0.5 + 0.1*x^2\n"
                       "potential = x^2/2\n"
                       "[initial]\n"
                       "density = exp(-(x-1)^2)\n"
                       "[reference]\n"
                       "density = stationary\n"
                       "[time]\n"
                       "end = 4\n"
                       "outputs = 5\n"
                       "rtol = 1e-8\n"
                       "atol = 1e-10\n"
                       "max_steps = 5000\n"
                       "max_step = 0.1\n"
                       "initial_step = 1e-4\n"
                       "[solver]\n"
                       "linear_solver = band\n"
                       "preconditioner = none\n"
                       "krylov_dim = 30\n"
                       "[output]\n"
                       "directory = results/ou\n"
                       "snapshots = 3\n"
                       "snapshot_format = dat\n",
                       NULL, 0, path);
  assert_string_equal(c->path, path);
  char name[64];
  snprintf(name, sizeof name, "%s", strrchr(path, '/') + 1);
  name[strlen(name) - 4] = '\0';
  assert_string_equal(c->name, name);

  assert_int_equal(c->grid.dim, 1);
  assert_int_equal(c->grid.n[0], 100);
  assert_int_equal(c->grid.ncells, 100);
  assert_close(c->grid.lower[0], -5.0, 0, 0);
  assert_close(c->grid.upper[0], 5.0, 0, 0);
  assert_close(c->grid.h[0], 0.1, 1e-15, 0);
  assert_int_equal(c->grid.bc[0], FP_BC_ABSORBING);

  double k = 0;
  assert_true(fp_constants_get(&c->constants, "k", &k));
  assert_close(k, 1.5, 0, 0);
  assert_close(eval1(c->drift[0], 2.0, 0.5), -3.0 + sin(0.5), 1e-14, 0);
  assert_close(eval1(c->diffusion[0][0], 2.0, 0.0), 0.9, 1e-14, 0);
  assert_true(c->diagonal_diffusion);
  assert_non_null(c->potential);
  assert_close(eval1(c->potential, 2.0, 0.0), 2.0, 1e-14, 0);
  assert_close(eval1(c->initial, 1.0, 0.0), 1.0, 1e-14, 0);
  assert_int_equal(c->reference_kind, FP_REFERENCE_STATIONARY);
  assert_null(c->reference);

  assert_close(c->t_end, 4.0, 0, 0);
  assert_int_equal(c->n_output_times, 5);
  for (size_t i = 0; i < 5; i++) assert_close(c->output_times[i], (double)i, 1e-15, 0);
  assert_close(c->rtol, 1e-8, 0, 0);
  assert_close(c->atol, 1e-10, 0, 0);
  assert_int_equal(c->max_steps, 5000);
  assert_close(c->max_step, 0.1, 0, 0);
  assert_close(c->initial_step, 1e-4, 0, 0);

  assert_int_equal(c->linear_solver, FP_LINSOL_BAND);
  assert_int_equal(c->preconditioner, FP_PREC_NONE);
  assert_int_equal(c->krylov_dim, 30);
  assert_string_equal(c->output_dir, "results/ou");
  assert_int_equal(c->n_snapshot_times, 3);
  assert_close(c->snapshot_times[0], 0.0, 0, 0);
  assert_close(c->snapshot_times[1], 2.0, 0, 0);
  assert_close(c->snapshot_times[2], 4.0, 0, 0);
  assert_int_equal(c->snapshot_format, FP_SNAPSHOT_DAT);

  /* every key that was set, with its line */
  assert_int_equal(c->n_entries, 24);
  assert_string_equal(c->entries[0].section, "domain");
  assert_string_equal(c->entries[0].key, "dimension");
  assert_string_equal(c->entries[0].value, "1");
  char source[96];
  snprintf(source, sizeof source, "%s:3", path);
  assert_string_equal(c->entries[0].source, source);
  fp_case_destroy(&c);
  assert_null(c);
}

static void test_valid_2d_full_tensor(void **state)
{
  (void)state;
  char path[64];
  fp_case *c = load_ok("[domain]\n"
                       "dimension = 2\n"
                       "lower = -4, -3\n"
                       "upper = 4, 3\n"
                       "cells = 40, 30\n"
                       "boundary = periodic, reflecting\n"
                       "[constants]\n"
                       "a = 2\n"
                       "c = a/4\n"
                       "[dynamics]\n"
                       "drift_x = -a*x + y\n"
                       "drift_y = -y - x*t\n"
                       "diffusion_xx = 1 + 0.1*y^2\n"
                       "diffusion_yy = 2\n"
                       "diffusion_xy = c*exp(-x^2)\n"
                       "[initial]\n"
                       "density = exp(-x^2 - y^2)\n"
                       "[reference]\n"
                       "density = exp(-(x^2 + y^2)/2)\n"
                       "[time]\n"
                       "end = 2\n"
                       "output_times = 0, 0.5, 1.5\n"
                       "[output]\n"
                       "snapshot_times = 1, 2\n"
                       "snapshot_format = vtk, dat, vtk\n",
                       NULL, 0, path);
  assert_int_equal(c->grid.dim, 2);
  assert_int_equal(c->grid.n[0], 40);
  assert_int_equal(c->grid.n[1], 30);
  assert_int_equal(c->grid.n[2], 1);
  assert_int_equal(c->grid.ncells, 1200);
  assert_close(c->grid.lower[1], -3.0, 0, 0);
  assert_close(c->grid.upper[0], 4.0, 0, 0);
  assert_close(c->grid.h[0], 0.2, 1e-15, 0);
  assert_close(c->grid.h[1], 0.2, 1e-15, 0);
  assert_int_equal(c->grid.bc[0], FP_BC_PERIODIC);
  assert_int_equal(c->grid.bc[1], FP_BC_REFLECTING);

  assert_close(eval2(c->drift[0], 1.0, 3.0, 0.0), 1.0, 1e-14, 0);
  assert_close(eval2(c->drift[1], 2.0, 1.0, 0.5), -2.0, 1e-14, 0);
  assert_null(c->drift[2]);
  assert_close(eval2(c->diffusion[0][0], 0.0, 2.0, 0.0), 1.4, 1e-14, 0);
  assert_close(eval2(c->diffusion[1][1], 0.3, 2.0, 0.0), 2.0, 1e-14, 0);
  assert_true(c->diffusion[0][1] != c->diffusion[1][0]);
  assert_close(eval2(c->diffusion[0][1], 1.0, 0.0, 0.0), 0.5 * exp(-1.0), 1e-14, 0);
  assert_close(eval2(c->diffusion[1][0], 1.0, 0.0, 0.0), 0.5 * exp(-1.0), 1e-14, 0);
  assert_string_equal(fp_expr_text(c->diffusion[1][0]), "c*exp(-x^2)");
  assert_false(c->diagonal_diffusion);
  assert_null(c->potential);
  assert_int_equal(c->reference_kind, FP_REFERENCE_EXPRESSION);
  assert_close(eval2(c->reference, 1.0, 1.0, 0.0), exp(-1.0), 1e-14, 0);

  /* the list stops short of end, so end is appended */
  assert_int_equal(c->n_output_times, 4);
  assert_close(c->output_times[2], 1.5, 0, 0);
  assert_close(c->output_times[3], 2.0, 0, 0);
  assert_int_equal(c->n_snapshot_times, 2);
  assert_close(c->snapshot_times[0], 1.0, 0, 0);
  assert_int_equal(c->snapshot_format, FP_SNAPSHOT_VTK | FP_SNAPSHOT_DAT);
  fp_case_destroy(&c);
}

static void test_defaults(void **state)
{
  (void)state;
  char path[64];
  fp_case *c = load_ok(DOMAIN_1D "[dynamics]\ndiffusion = 0.5\n" REST_1D, NULL, 0, path);
  assert_int_equal(c->grid.bc[0], FP_BC_REFLECTING);
  assert_close(eval1(c->drift[0], 3.0, 1.0), 0.0, 0, 0);
  assert_true(c->diagonal_diffusion);
  assert_null(c->potential);
  assert_int_equal(c->reference_kind, FP_REFERENCE_INITIAL);
  assert_null(c->reference);
  assert_int_equal(c->n_output_times, 11);
  for (size_t i = 0; i < 11; i++) assert_close(c->output_times[i], 0.1 * (double)i, 1e-15, 0);
  assert_close(c->output_times[10], 1.0, 0, 0);
  assert_true(c->rtol == FP_RTOL_AUTO);
  assert_close(c->atol, 1e-12, 0, 0);
  assert_int_equal(c->max_steps, 100000);
  assert_close(c->max_step, 0.0, 0, 0);
  assert_close(c->initial_step, 0.0, 0, 0);
  assert_int_equal(c->linear_solver, FP_LINSOL_AUTO);
  assert_int_equal(c->preconditioner, FP_PREC_AUTO);
  assert_int_equal(c->krylov_dim, 20);
  char dir[96];
  snprintf(dir, sizeof dir, "out/%s", c->name);
  assert_string_equal(c->output_dir, dir);
  assert_int_equal(c->n_snapshot_times, 5);
  assert_close(c->snapshot_times[1], 0.25, 0, 0);
  assert_close(c->snapshot_times[4], 1.0, 0, 0);
  assert_int_equal(c->snapshot_format, FP_SNAPSHOT_VTI | FP_SNAPSHOT_DAT); /* the default */

  /* The printed case shows the set keys with their lines and the defaults. */
  FILE *f = tmpfile();
  assert_non_null(f);
  fp_case_print(c, f);
  rewind(f);
  char text[4096];
  size_t len = fread(text, 1, sizeof text - 1, f);
  text[len] = '\0';
  fclose(f);
  char line[160];
  snprintf(line, sizeof line, "domain.cells = 50    # %s:5\n", path);
  assert_contains(text, line);
  assert_contains(text, "dynamics.drift_x = 0    # default\n");
  assert_contains(text, "time.rtol = auto    # default\n");
  assert_contains(text, "time.outputs = 11    # default\n");
  assert_contains(text, "reference.density = initial    # default\n");
  snprintf(line, sizeof line, "output.directory = %s    # default\n", dir);
  assert_contains(text, line);
  assert_null(strstr(text, "diffusion_xy")); /* D is isotropic */
  fp_case_print(NULL, stdout);               /* a no-op */
  fp_case_destroy(&c);
  fp_case_destroy(&c); /* NULL is fine */
  fp_case_destroy(NULL);
}

static void test_list_or_single(void **state)
{
  (void)state;
  char path[64];
  fp_case *c = load_ok("[domain]\n"
                       "dimension = 3\n"
                       "lower = -1\n"
                       "upper = 1, 2 , 3\n"
                       "cells = 4,5,6\n"
                       "boundary = periodic\n"
                       "[dynamics]\n"
                       "diffusion = 1\n"
                       "[initial]\n"
                       "density = 1\n"
                       "[time]\n"
                       "end = 1\n",
                       NULL, 0, path);
  for (int a = 0; a < 3; a++) {
    assert_close(c->grid.lower[a], -1.0, 0, 0);
    assert_close(c->grid.upper[a], (double)(a + 1), 0, 0);
    assert_int_equal(c->grid.n[a], (size_t)(4 + a));
    assert_int_equal(c->grid.bc[a], FP_BC_PERIODIC);
    assert_close(eval1(c->drift[a], 1.0, 0.0), 0.0, 0, 0);
  }
  assert_int_equal(c->grid.ncells, 120);
  assert_true(c->diagonal_diffusion);
  fp_case_destroy(&c);
}

static void test_continuation_and_comments(void **state)
{
  (void)state;
  char path[64];
  fp_case *c = load_ok("# full-line comment\n"
                       "[domain]   ; inline comment after a header\n"
                       "  dimension = 1   ; indented keys are keys\n"
                       "  lower = -5\n"
                       "  upper: 5\n"
                       "  cells = 50\n"
                       "[dynamics]\n"
                       "drift = -x\n"
                       "    ; a comment inside a value\n"
                       "    + sin(x)   ; the second line\n"
                       "\n"
                       "    + 2*cos(x)\n"
                       "diffusion =\n"
                       "    1\n"
                       "[initial]\n"
                       "density = exp(-x^2)\n",
                       (const char *const[]){"time.end = 2"}, 1, path);
  assert_string_equal(c->entries[4].key, "drift");
  assert_string_equal(c->entries[4].value, "-x + sin(x) + 2*cos(x)");
  assert_string_equal(c->entries[5].value, "1");
  assert_close(eval1(c->drift[0], 0.5, 0.0), -0.5 + sin(0.5) + 2 * cos(0.5), 1e-14, 0);
  assert_close(c->grid.upper[0], 5.0, 0, 0);
  fp_case_destroy(&c);

  /* The remedy the over-long-line error suggests works. */
  char text[2048];
  int len = snprintf(text, sizeof text, DOMAIN_1D "[dynamics]\ndiffusion = 1\ndrift = 0");
  for (int i = 0; i < 12; i++)
    len += snprintf(text + len, sizeof text - (size_t)len, "\n    + 0.001*x + 0.002*x^2 + 0.003*x^3");
  snprintf(text + len, sizeof text - (size_t)len, "\n" REST_1D);
  c = load_ok(text, NULL, 0, path);
  assert_true(strlen(fp_expr_text(c->drift[0])) > 300);
  assert_close(eval1(c->drift[0], 1.0, 0.0), 12 * 0.006, 1e-13, 0);
  fp_case_destroy(&c);
}

static void test_overrides(void **state)
{
  (void)state;
  char path[64];
  const char *text = DOMAIN_1D
      "[constants]\n"
      "k = 1\n"
      "k2 = 2*k\n"
      "[dynamics]\n"
      "drift = -k2*x\n"
      "diffusion = k\n" REST_1D;
  const char *const overrides[] = {"constants.k=3", " domain.cells = 40 ", "time.rtol=1e-4",
                                   "output.snapshot_times=0.5", "constants.extra=7",
                                   "time.rtol=1e-5"};
  fp_case *c = load_ok(text, overrides, 6, path);
  double v = 0;
  assert_true(fp_constants_get(&c->constants, "k2", &v));
  assert_close(v, 6.0, 0, 0);
  assert_true(fp_constants_get(&c->constants, "extra", &v));
  assert_close(v, 7.0, 0, 0);
  assert_close(eval1(c->drift[0], 1.0, 0.0), -6.0, 1e-14, 0);
  assert_close(eval1(c->diffusion[0][0], 0.0, 0.0), 3.0, 1e-14, 0);
  assert_int_equal(c->grid.n[0], 40);
  assert_close(c->rtol, 1e-5, 0, 0); /* the last override wins */
  assert_int_equal(c->n_snapshot_times, 1);
  assert_close(c->snapshot_times[0], 0.5, 0, 0);

  /* replaced entries keep their place and name their new source */
  assert_string_equal(c->entries[3].key, "cells");
  assert_string_equal(c->entries[3].value, "40");
  assert_string_equal(c->entries[3].source, "--set");
  assert_string_equal(c->entries[c->n_entries - 1].key, "extra");
  fp_case_destroy(&c);

  /* drift and drift_x are one key in 1D: overriding either replaces it */
  c = load_ok(VALID_1D, (const char *const[]){"dynamics.drift_x=-2*x"}, 1, path);
  assert_close(eval1(c->drift[0], 1.0, 0.0), -2.0, 1e-14, 0);
  fp_case_destroy(&c);
}

static void test_names(void **state)
{
  (void)state;
  assert_string_equal(fp_linear_solver_name(FP_LINSOL_AUTO), "auto");
  assert_string_equal(fp_linear_solver_name(FP_LINSOL_KLU), "klu");
  assert_string_equal(fp_linear_solver_name(FP_LINSOL_GMRES), "gmres");
  assert_string_equal(fp_preconditioner_name(FP_PREC_NONE), "none");
  assert_string_equal(fp_preconditioner_name(FP_PREC_FFT), "fft");
}

/* ---- errors: one test per class ----------------------------------------- */

static void test_error_bad_number(void **state)
{
  (void)state;
  expect_error("[domain]\ndimension = 1\nlower = -5x\nupper = 5\ncells = 50\n" DYNAMICS_1D REST_1D,
               NULL, 0, FP_ERR_CASE, 3, "[domain] lower: expected a number or an expression of constants (e.g. 2*pi), got '-5x'", NULL);
  expect_error(DOMAIN_1D DYNAMICS_1D "[initial]\ndensity = 1\n[time]\nend = nan\n", NULL, 0,
               FP_ERR_CASE, 12, "[time] end: expected a positive number, got 'nan'", NULL);
  expect_error(VALID_1D "rtol = 1\n", NULL, 0, FP_ERR_CASE, 13,
               "[time] rtol: expected a number in (0, 0.1], got '1'", NULL);
  expect_error(VALID_1D "max_steps = 10.5\n", NULL, 0, FP_ERR_CASE, 13,
               "[time] max_steps: expected a positive integer", NULL);
  expect_error(VALID_1D "[solver]\nkrylov_dim = 501\n", NULL, 0, FP_ERR_CASE, 14,
               "[solver] krylov_dim: expected an integer from 1 to 500", NULL);
  expect_error(VALID_1D "[solver]\nlinear_solver = lu\n", NULL, 0, FP_ERR_CASE, 14,
               "[solver] linear_solver: expected auto, band, dense, klu or gmres, got 'lu'", NULL);
}

static void test_error_list_length(void **state)
{
  (void)state;
  const char *tail = "[dynamics]\ndiffusion = 1\n[initial]\ndensity = 1\n[time]\nend = 1\n";
  char text[512];
  snprintf(text, sizeof text,
           "[domain]\ndimension = 2\nlower = 0\nupper = 1\ncells = 10, 20, 30\n%s", tail);
  expect_error(text, NULL, 0, FP_ERR_CASE, 5,
               "[domain] cells: expected 2 positive integers (one per axis) or 1 for all axes, "
               "got '10, 20, 30' (3 values)",
               NULL);
  snprintf(text, sizeof text, "[domain]\ndimension = 2\nlower = 0\nupper = 1\ncells = abc\n%s",
           tail);
  expect_error(text, NULL, 0, FP_ERR_CASE, 5,
               "[domain] cells: expected 2 positive integers (one per axis) or 1 for all axes, "
               "got 'abc'",
               NULL);
  snprintf(text, sizeof text,
           "[domain]\ndimension = 2\nlower = 0\nupper = 1\ncells = 10\nboundary = open, "
           "periodic\n%s",
           tail);
  expect_error(text, NULL, 0, FP_ERR_CASE, 6, "[domain] boundary:", "'open' is not one of");
  snprintf(text, sizeof text, "[domain]\ndimension = 2\nlower = 0\nupper = 1\ncells = 10, 1\n%s",
           tail);
  expect_error(text, NULL, 0, FP_ERR_CASE, 5, "axis y needs at least 2 cells, got 1", NULL);
  snprintf(text, sizeof text, "[domain]\ndimension = 2\nlower = 0\nupper = 1, 0\ncells = 10\n%s",
           tail);
  expect_error(text, NULL, 0, FP_ERR_CASE, 4, "[domain] upper: axis y: upper (0) must be greater",
               NULL);
}

static void test_error_unknown_key(void **state)
{
  (void)state;
  expect_error(DOMAIN_1D "cellz = 4\n" DYNAMICS_1D REST_1D, NULL, 0, FP_ERR_CASE, 6,
               "[domain] cellz: unknown key", "did you mean 'cells'?");
  expect_error(VALID_1D "density = 1\n", NULL, 0, FP_ERR_CASE, 13, "[time] density: unknown key",
               "'density' belongs in [initial]");
  expect_error(VALID_1D "[dynamics]\ndiffusion_yx = 1\n", NULL, 0, FP_ERR_CASE, 14,
               "D is symmetric: give only diffusion_xy", NULL);
}

static void test_error_unknown_section(void **state)
{
  (void)state;
  expect_error("[domian]\ndimension = 1\n", NULL, 0, FP_ERR_CASE, 1, "unknown section [domian]",
               "did you mean [domain]?");
  expect_error(VALID_1D "[plot]\n", NULL, 0, FP_ERR_CASE, 13, "unknown section [plot]",
               "[domain], [constants]");
}

static void test_error_duplicate_key(void **state)
{
  (void)state;
  expect_error(DOMAIN_1D DYNAMICS_1D REST_1D "[domain]\ncells = 60\n", NULL, 0, FP_ERR_CASE, 14,
               "[domain] cells: duplicate key", "already set on line 5");
  /* drift and drift_x are the same key in 1D */
  expect_error(VALID_1D "[dynamics]\ndrift_x = -2*x\n", NULL, 0, FP_ERR_CASE, 14,
               "[dynamics] drift_x: give either 'drift' or 'drift_x', not both", ":7)");
}

static void test_error_missing_key(void **state)
{
  (void)state;
  char path[64];
  fp_case *c = NULL;
  fp_error err;
  int rc = load_text(DOMAIN_1D DYNAMICS_1D "[initial]\ndensity = 1\n[time]\nrtol = 1e-5\n", NULL,
                     0, &c, &err, path);
  assert_int_equal(rc, FP_ERR_CASE);
  assert_null(c);
  char expected[128];
  snprintf(expected, sizeof expected, "%s: [time] end: required key is missing", path);
  assert_contains(err.message, expected);

  expect_error("[domain]\nlower = 0\n", NULL, 0, FP_ERR_CASE, 0,
               "[domain] dimension: required key is missing", NULL);
  expect_error(DOMAIN_1D "[dynamics]\ndrift = -x\n" REST_1D, NULL, 0, FP_ERR_CASE, 0,
               "[dynamics] diffusion: required key is missing", NULL);
  expect_error("[domain]\ndimension = 2\nlower = 0\nupper = 1\ncells = 8\n[dynamics]\n"
               "diffusion_xx = 1\n[initial]\ndensity = 1\n[time]\nend = 1\n",
               NULL, 0, FP_ERR_CASE, 0, "[dynamics] diffusion_yy: required key is missing", NULL);
}

static void test_error_bad_expression(void **state)
{
  (void)state;
  expect_error(DOMAIN_1D "[dynamics]\ndrift = -x*(\ndiffusion = 1\n" REST_1D, NULL, 0,
               FP_ERR_EXPR, 7, "[dynamics] drift: cannot parse '-x*('", NULL);
  expect_error(DOMAIN_1D "[constants]\nk = 1/0\n" DYNAMICS_1D REST_1D, NULL, 0, FP_ERR_EXPR, 7,
               "[constants] k: '1/0' evaluates to inf", NULL);
  expect_error(DOMAIN_1D "[constants]\nk = 2*x\n" DYNAMICS_1D REST_1D, NULL, 0, FP_ERR_EXPR, 7,
               "[constants] k: '2*x' depends on x, but a constant cannot", NULL);
  expect_error(DOMAIN_1D "[constants]\npi = 3\n" DYNAMICS_1D REST_1D, NULL, 0, FP_ERR_CASE, 7,
               "[constants] pi: 'pi' is reserved", NULL);
  expect_error(DOMAIN_1D "[dynamics]\ndiffusion = -1\n" REST_1D, NULL, 0, FP_ERR_CASE, 7,
               "[dynamics] diffusion: D = -1 * identity is not positive definite", NULL);
}

static void test_error_unknown_name(void **state)
{
  (void)state;
  expect_error(DOMAIN_1D
               "[constants]\n"   /* 6 */
               "k = 1\n"         /* 7 */
               "[dynamics]\n"    /* 8 */
               "drift_x = q*x\n" /* 9 */
               "diffusion = 1\n" REST_1D,
               NULL, 0, FP_ERR_EXPR, 9,
               "[dynamics] drift_x: unknown name 'q' in 'q*x' (allowed: x, t, k, e, pi)", NULL);
  /* y is not a coordinate of a 1D case */
  expect_error(DOMAIN_1D DYNAMICS_1D "[initial]\ndensity = exp(-y^2)\n[time]\nend = 1\n", NULL, 0,
               FP_ERR_EXPR, 10, "[initial] density: unknown name 'y'", NULL);
  /* constants may only use earlier constants, never coordinates */
  expect_error(DOMAIN_1D "[constants]\na = 2*b\nb = 1\n" DYNAMICS_1D REST_1D, NULL, 0,
               FP_ERR_EXPR, 7, "[constants] a: unknown name 'b' in '2*b' (allowed in [constants]: e, pi)",
               NULL);
}

static void test_error_axis_beyond_dimension(void **state)
{
  (void)state;
  expect_error(DOMAIN_1D DYNAMICS_1D "drift_y = 1\n" REST_1D, NULL, 0, FP_ERR_CASE, 9,
               "[dynamics] drift_y: a 1D case has no y axis", NULL);
  expect_error("[domain]\ndimension = 2\nlower = 0\nupper = 1\ncells = 8\n[dynamics]\n"
               "drift_z = 1\ndiffusion = 1\n[initial]\ndensity = 1\n[time]\nend = 1\n",
               NULL, 0, FP_ERR_CASE, 7, "[dynamics] drift_z: a 2D case has no z axis", NULL);
  expect_error(DOMAIN_1D "[dynamics]\ndiffusion_xx = 1\ndiffusion_xy = 0\n" REST_1D, NULL, 0,
               FP_ERR_CASE, 8, "[dynamics] diffusion_xy: a 1D case has no y axis", NULL);
}

static void test_error_both_diffusion_forms(void **state)
{
  (void)state;
  expect_error(DOMAIN_1D DYNAMICS_1D "diffusion_xx = 2\n" REST_1D, NULL, 0, FP_ERR_CASE, 9,
               "[dynamics] diffusion_xx: give either 'diffusion'", ":8)");
}

static void test_error_stratonovich(void **state)
{
  (void)state;
  expect_error(DOMAIN_1D DYNAMICS_1D "convention = stratonovich\n" REST_1D, NULL, 0, FP_ERR_CASE,
               9, "[dynamics] convention: only the Ito convention is supported, got 'stratonovich'",
               "a_Ito = a_Strat + 1/2 sum_k (B_k . grad) B_k");
}

static void test_error_output_times(void **state)
{
  (void)state;
  expect_error(VALID_1D "output_times = 0, 0.5, 0.2\n", NULL, 0, FP_ERR_CASE, 13,
               "[time] output_times: times must be strictly increasing, but 0.2 follows 0.5", NULL);
  expect_error(VALID_1D "output_times = 0, 2\n", NULL, 0, FP_ERR_CASE, 13,
               "time 2 is outside [0, end] = [0, 1]", NULL);
  expect_error(VALID_1D "outputs = 3\noutput_times = 0, 1\n", NULL, 0, FP_ERR_CASE, 14,
               "give either 'outputs' (a count) or 'output_times' (a list), not both", NULL);
  expect_error(VALID_1D "[output]\nsnapshot_times = 1, 0.5\n", NULL, 0, FP_ERR_CASE, 14,
               "[output] snapshot_times: times must be strictly increasing", NULL);
}

static void test_error_override(void **state)
{
  (void)state;
  /* bad syntax is an argument error that names the override */
  expect_error(VALID_1D, (const char *const[]){"domain.cells"}, 1, FP_ERR_ARG, 0,
               "--set 'domain.cells': expected section.key=value", NULL);
  expect_error(VALID_1D, (const char *const[]){"cells=3"}, 1, FP_ERR_ARG, 0, "'cells=3'", NULL);
  /* a bad value is located at the override */
  expect_error(VALID_1D, (const char *const[]){"domain.cells=abc"}, 1, FP_ERR_CASE, 0,
               "--set domain.cells=abc: [domain] cells: expected a positive integer, got 'abc'",
               NULL);
  expect_error(VALID_1D, (const char *const[]){"domain.cellz=3"}, 1, FP_ERR_CASE, 0,
               "--set domain.cellz=3: [domain] cellz: unknown key", "did you mean 'cells'?");
  expect_error(VALID_1D, (const char *const[]){"domian.cells=3"}, 1, FP_ERR_CASE, 0,
               "unknown section [domian]", NULL);
  /* a bad override of a constant is reported there, not where it is used */
  expect_error(DOMAIN_1D "[constants]\nk = 1\n[dynamics]\ndrift = -k*x\ndiffusion = 1\n" REST_1D,
               (const char *const[]){"constants.k=x"}, 1, FP_ERR_EXPR, 0,
               "--set constants.k=x: [constants] k:", "depends on x");
}

static void test_error_no_file(void **state)
{
  (void)state;
  fp_case *c = NULL;
  fp_error err;
  assert_int_equal(fp_case_load("/nonexistent/dir/case.ini", NULL, 0, &c, &err), FP_ERR_IO);
  assert_int_equal(err.code, FP_ERR_IO);
  assert_null(c);
  assert_string_equal(err.message,
                      "cannot open case file '/nonexistent/dir/case.ini': No such file or directory");
  assert_int_equal(fp_case_load(NULL, NULL, 0, &c, &err), FP_ERR_ARG);
  assert_int_equal(fp_case_load("x.ini", NULL, 0, NULL, NULL), FP_ERR_ARG);
  /* a directory opens but cannot be read */
  assert_int_equal(fp_case_load("/tmp", NULL, 0, &c, &err), FP_ERR_IO);
  assert_contains(err.message, "cannot read case file '/tmp'");
}

static void test_error_long_line(void **state)
{
  (void)state;
  char text[2048];
  int len = snprintf(text, sizeof text, DOMAIN_1D "[dynamics]\ndiffusion = 1\ndrift = 0");
  for (int i = 0; i < 12; i++) /* 12 x 23 characters on one line */
    len += snprintf(text + len, sizeof text - (size_t)len, " + 0.001*x + 0.002*x^2");
  snprintf(text + len, sizeof text - (size_t)len, "\n" REST_1D);
  expect_error(text, NULL, 0, FP_ERR_CASE, 8, "line longer than 197 characters",
               "split the value with indented continuation lines");
}

static void test_error_syntax(void **state)
{
  (void)state;
  expect_error("[domain\ndimension = 1\n", NULL, 0, FP_ERR_CASE, 1,
               "section header '[domain' has no closing ']'", NULL);
  expect_error(DOMAIN_1D "[dynamics]\ndrift -x\n", NULL, 0, FP_ERR_CASE, 7,
               "expected 'key = value', got 'drift -x'", NULL);
  expect_error("dimension = 1\n", NULL, 0, FP_ERR_CASE, 1, "comes before any [section] header",
               NULL);
  expect_error("[domain]\n   -x\n", NULL, 0, FP_ERR_CASE, 2, "indented line '-x' continues no key",
               NULL);
}

/* The first error in the file is reported, whatever the section order. */
static void test_error_first_in_file_order(void **state)
{
  (void)state;
  expect_error("[time]\n"
               "end = 1\n"
               "rtol = -1\n" /* 3: first in the file */
               "[domain]\n"
               "dimension = 1\n"
               "lower = 0\n"
               "upper = 1\n"
               "cells = 1\n" /* 8: checked first, reported second */
               "[dynamics]\n"
               "diffusion = 1\n"
               "[initial]\n"
               "density = 1\n",
               NULL, 0, FP_ERR_CASE, 3, "[time] rtol", NULL);
  /* a structural error anywhere comes before value errors */
  expect_error("[domain]\ndimension = 7\n[dynamics]\ndiffusion = 1\nsize = 3\n", NULL, 0,
               FP_ERR_CASE, 5, "[dynamics] size: unknown key", NULL);
}

/* density = gaussian by mean and covariance is the exactly normalised
 * normal density; bounds may be expressions of constants; normalise = no
 * keeps q_ref as written, so kl at t = 0 of p = q_ref/Z (normalised on the
 * grid) is -log Z, Z its mass on the box. */
#include <fpentropy/balance/gaussian.h>
#include <fpentropy/time/run.h>

static int first_kl(const fp_balance_row *row, void *ctx)
{
  double *kl = ctx;
  if (isnan(*kl)) *kl = row->kl;
  return 0;
}

static void test_gaussian_and_bounds(void **state)
{
  (void)state;
  char path[64];
  const char *text =
      "[constants]\nL = 3\n"
      "[domain]\ndimension = 2\nlower = -L, -pi\nupper = L + 1, pi\ncells = 40, 36\n"
      "boundary = reflecting, periodic\n"
      "[dynamics]\ndrift_x = -x\ndrift_y = 0\ndiffusion = 1\n"
      "[initial]\ndensity = gaussian\nmean = 0.5, -0.25\ncovariance = 0.5, 0.2, 0.2, 0.8\n"
      "[reference]\ndensity = gaussian\nmean = 0.5, -0.25\ncovariance = 0.5, 0.2, 0.2, 0.8\n"
      "normalise = no\n"
      "[time]\nend = 0.01\noutputs = 2\n[output]\nsnapshots = 0\nsplit = off\n";
  fp_case *c = load_ok(text, NULL, 0, path);
  assert_true(c->grid.lower[0] == -3.0 && c->grid.upper[0] == 4.0);
  assert_true(c->grid.lower[1] == -3.141592653589793 && c->grid.upper[1] == 3.141592653589793);
  assert_false(c->reference_normalise);
  fp_gaussian g = {.dim = 2, .mean = {0.5, -0.25, 0}, .cov = {{0.5, 0.2, 0}, {0.2, 0.8, 0}, {0, 0, 0}}};
  fp_error err;
  double worst = 0.0, Z = 0.0;
  for (size_t i = 0; i < c->grid.ncells; i++) {
    double x[FP_MAX_DIM], exact;
    fp_grid_cell_center(&c->grid, i, x);
    assert_int_equal(fp_gaussian_density(&g, x, &exact, &err), FP_OK);
    double v = fp_expr_eval(c->initial, x, 0.0);
    worst = fmax(worst, fabs(v - exact) / exact);
    Z += v * c->grid.cell_volume;
  }
  print_message("gaussian expression against the closed form: max rel. difference %.2e; mass on "
                "the box %.15f\n", worst, Z);
  assert_true(worst <= 1e-13);
  fp_run_options opt = {.on_row = first_kl};
  double kl = NAN;
  opt.row_ctx = &kl;
  assert_int_equal(fp_run_case(c, &opt, NULL, &err), FP_OK);
  print_message("kl(0) = %.15f, -log Z = %.15f\n", kl, -log(Z));
  assert_true(fabs(kl + log(Z)) <= 1e-13);
  assert_true(kl > 1e-4); /* the periodic box cuts the y tails: Z < 1 */
  fp_case_destroy(&c);

  /* normalise = yes (default): kl(0) = 0 */
  const char *const yes[] = {"reference.normalise=yes"};
  c = load_ok(text, yes, 1, path);
  kl = NAN;
  assert_int_equal(fp_run_case(c, &opt, NULL, &err), FP_OK);
  assert_true(fabs(kl) <= 1e-14);
  fp_case_destroy(&c);

  const char *const bad_mean[] = {"initial.density=exp(-x^2)"};
  expect_error(text, bad_mean, 1, FP_ERR_CASE, 0, "'mean' is only used with density = gaussian", NULL);
  const char *const bad_cov[] = {"initial.covariance=0.5, 0.9, 0.9, 0.8"};
  expect_error(text, bad_cov, 1, FP_ERR_CASE, 0, "not positive definite", NULL);
  const char *const asym[] = {"initial.covariance=0.5, 0.1, 0.2, 0.8"};
  expect_error(text, asym, 1, FP_ERR_CASE, 0, "not symmetric", NULL);
  const char *const stat[] = {"reference.density=stationary"};
  expect_error(text, stat, 1, FP_ERR_CASE, 0, "normalise = no applies to a reference given by", NULL);
  const char *const bound[] = {"domain.upper=2*x, pi"};
  expect_error(text, bound, 1, FP_ERR_CASE, 0, "[domain] upper: expected", NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_1d),
      cmocka_unit_test(test_valid_2d_full_tensor),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_list_or_single),
      cmocka_unit_test(test_continuation_and_comments),
      cmocka_unit_test(test_overrides),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_error_bad_number),
      cmocka_unit_test(test_error_list_length),
      cmocka_unit_test(test_error_unknown_key),
      cmocka_unit_test(test_error_unknown_section),
      cmocka_unit_test(test_error_duplicate_key),
      cmocka_unit_test(test_error_missing_key),
      cmocka_unit_test(test_error_bad_expression),
      cmocka_unit_test(test_error_unknown_name),
      cmocka_unit_test(test_error_axis_beyond_dimension),
      cmocka_unit_test(test_error_both_diffusion_forms),
      cmocka_unit_test(test_error_stratonovich),
      cmocka_unit_test(test_error_output_times),
      cmocka_unit_test(test_error_override),
      cmocka_unit_test(test_error_no_file),
      cmocka_unit_test(test_error_long_line),
      cmocka_unit_test(test_error_syntax),
      cmocka_unit_test(test_error_first_in_file_order),
      cmocka_unit_test(test_gaussian_and_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
