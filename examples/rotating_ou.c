/* Rotating Ornstein-Uhlenbeck process from C callbacks: prints t, KL, sigma_tot, residual.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/fpentropy.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const double w = 0.5, s0 = 0.5; /* rotation rate, initial width (cases/ou2d_rotating.ini) */
static double drift_x(const double *x, double t, void *c) { (void)t, (void)c; return -x[0] + w * x[1]; }
static double drift_y(const double *x, double t, void *c) { (void)t, (void)c; return -w * x[0] - x[1]; }
static double p0(const double *x, double t, void *c) { (void)t, (void)c; return exp(-(pow(x[0] - 2, 2) + pow(x[1], 2)) / (2 * pow(s0, 2))); }
static double q(const double *x, double t, void *c) { (void)t, (void)c; return exp(-(pow(x[0], 2) + pow(x[1], 2)) / 2); }
static int row(const fp_balance_row *r, void *c) { (void)c; return printf("%.3f %.17g %.17g %.3g\n", r->t, r->kl, r->sigma_tot, r->residual) < 0; }

int main(int argc, char **argv)
{
  size_t cells = argc > 1 ? strtoul(argv[1], NULL, 10) : 128;
  fp_error err;
  fp_problem *p = NULL;
  int rc = fp_problem_create(2, "rotating_ou", &p, &err);
  for (int axis = 0; axis < 2 && rc == FP_OK; axis++) rc = fp_problem_set_axis(p, axis, -6, 6, cells, FP_BC_REFLECTING, &err);
  if (rc == FP_OK) rc = fp_problem_set_drift_fn(p, 0, drift_x, NULL, FP_FN_DEPENDS_SPACE, &err);
  if (rc == FP_OK) rc = fp_problem_set_drift_fn(p, 1, drift_y, NULL, FP_FN_DEPENDS_SPACE, &err);
  if (rc == FP_OK) rc = fp_problem_set_initial_fn(p, p0, NULL, FP_FN_DEPENDS_SPACE, &err);
  if (rc == FP_OK) rc = fp_problem_set_reference_fn(p, q, NULL, FP_FN_DEPENDS_SPACE, &err);
  if (rc == FP_OK) rc = fp_problem_set_times(p, 1.0, 21, &err); /* D = I is the default */
  fp_run_options options = {.on_row = row};                      /* compute only, no files */
  printf("# t kl sigma_tot residual\n");
  if (rc == FP_OK) rc = fp_problem_solve(p, &options, NULL, &err);
  if (rc != FP_OK) fprintf(stderr, "rotating_ou: %s\n", err.message);
  fp_problem_destroy(&p);
  return rc == FP_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}
