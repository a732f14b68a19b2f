/* fpentropy: build a problem in code (no case file), with expressions or C callbacks.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains the problem API in the SUNDIALS/PETSc manner:
 *
 *     fp_problem *p;
 *     fp_problem_create(2, "rotating", &p, &err);        defaults of a case file
 *     fp_problem_set_axis(p, 0, -6, 6, 128, FP_BC_REFLECTING, &err);
 *     fp_problem_set_drift_fn(p, 0, drift_x, &par, FP_FN_DEPENDS_SPACE, &err);
 *     fp_problem_set_diffusion(p, 0, 0, "1", &err);     or an expression
 *     fp_problem_set_initial_fn(p, gauss, &par, FP_FN_DEPENDS_SPACE, &err);
 *     fp_problem_set_reference_kind(p, FP_REFERENCE_STATIONARY, &err);
 *     fp_problem_set_times(p, 1.0, 21, &err);
 *     fp_problem_solve(p, &options, &result, &err);     fp_run_case()
 *     fp_problem_destroy(&p);
 *
 * fp_problem is the same object a case file is read into (fp_case, case.h):
 * every module that takes a case takes a problem, and a case file is one
 * way of building it (fp_case_load, fp_case_load_string).  A new problem
 * starts with exactly the defaults of a case file that sets only its
 * dimension (docs/case-files.md): the box [0, 1]^dim with 16 cells per
 * axis and reflecting walls, zero drift, D = I, a uniform initial density,
 * q_ref = the initial density, t_end = 1 with 11 outputs, rtol 1e-6,
 * atol 1e-12, output directory out/<name>.
 *
 * Setters replace one part and keep the rest; each records the value in the
 * problem's entry list (source "api"), so summary.txt shows what was set.
 * Coefficients given as C functions go through fp_expr_create_fn()
 * (expr.h): `depends` says what they depend on, derivatives (the Ito
 * divergence of D, the gradient of a potential) are central differences
 * unless given exactly with fp_expr_set_derivative_fn() on the expression
 * returned by fp_problem_coefficient().
 *
 * Errors: every function returns FP_OK or an fp_status with a message
 * naming the setter and the argument (FP_ERR_ARG, FP_ERR_EXPR for text that
 * does not parse, FP_ERR_NOMEM).  On error the problem is unchanged.
 * Thread safety: a problem is not to be modified while it is being solved.
 */
#ifndef FPENTROPY_PROBLEM_H
#define FPENTROPY_PROBLEM_H

#include <fpentropy/export.h>

#include <stddef.h>

#include <fpentropy/core/status.h>
#include <fpentropy/problem/case.h>
#include <fpentropy/problem/expr.h>
#include <fpentropy/problem/grid.h>
#include <fpentropy/time/run.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The problem description (the object a case file is read into). */
typedef struct fp_case fp_problem;

/* Which coefficient fp_problem_coefficient() returns. */
typedef enum fp_problem_part {
  FP_PART_DRIFT = 0,  /* drift component i (j ignored) */
  FP_PART_DIFFUSION,  /* diffusion entry (i, j) */
  FP_PART_POTENTIAL,  /* the potential (i, j ignored; NULL when none) */
  FP_PART_INITIAL,    /* the initial density */
  FP_PART_REFERENCE   /* the reference density (NULL unless an expression) */
} fp_problem_part;

/* Make a problem in `dim` dimensions (1, 2 or 3) with the defaults above.
 * `name` (NULL: "problem") names it in summaries and gives the default
 * output directory out/<name>.  Ownership: fp_problem_destroy(). */
FP_API int fp_problem_create(int dim, const char *name, fp_problem **out, fp_error *err);

/* Release a problem (also a case read from a file); NULL is a no-op; sets
 * *p to NULL. */
FP_API void fp_problem_destroy(fp_problem **p);

/* Axis `axis` (0..dim-1): the interval [lower, upper] cut into `cells`
 * cells, with condition `bc` on both walls (periodic: both walls joined). */
FP_API int fp_problem_set_axis(fp_problem *p, int axis, double lower, double upper, size_t cells,
                        fp_boundary bc, fp_error *err);

/* A named constant for the expressions set after it (expr.h rules). */
FP_API int fp_problem_set_constant(fp_problem *p, const char *name, double value, fp_error *err);

/* Drift component i (Ito convention), as text or as a C function. */
FP_API int fp_problem_set_drift(fp_problem *p, int i, const char *expression, fp_error *err);
FP_API int fp_problem_set_drift_fn(fp_problem *p, int i, fp_scalar_fn fn, void *ctx, unsigned depends,
                            fp_error *err);

/* Diffusion entry D_ij = D_ji (D = B B^T / 2); setting (i, j) sets (j, i). */
FP_API int fp_problem_set_diffusion(fp_problem *p, int i, int j, const char *expression, fp_error *err);
FP_API int fp_problem_set_diffusion_fn(fp_problem *p, int i, int j, fp_scalar_fn fn, void *ctx,
                                unsigned depends, fp_error *err);

/* A potential V: the drift becomes -D grad V + div D + (the drift set), so
 * exp(-V) is stationary when the drift set is 0.  NULL text removes it. */
FP_API int fp_problem_set_potential(fp_problem *p, const char *expression, fp_error *err);
FP_API int fp_problem_set_potential_fn(fp_problem *p, fp_scalar_fn fn, void *ctx, unsigned depends,
                                fp_error *err);

/* The initial density (unnormalised, >= 0; it is normalised on the grid). */
FP_API int fp_problem_set_initial(fp_problem *p, const char *expression, fp_error *err);
FP_API int fp_problem_set_initial_fn(fp_problem *p, fp_scalar_fn fn, void *ctx, unsigned depends,
                              fp_error *err);

/* The reference density q_ref as an expression or C function (normalised on
 * the grid), or one of FP_REFERENCE_INITIAL, FP_REFERENCE_STATIONARY (the
 * stationary density of the discrete dynamics at t = 0). */
FP_API int fp_problem_set_reference(fp_problem *p, const char *expression, fp_error *err);
FP_API int fp_problem_set_reference_fn(fp_problem *p, fp_scalar_fn fn, void *ctx, unsigned depends,
                                fp_error *err);
FP_API int fp_problem_set_reference_kind(fp_problem *p, fp_reference_kind kind, fp_error *err);

/* End time and the number of equally spaced output times in [0, t_end]
 * (n_outputs >= 2; the first is 0 and the last t_end). */
FP_API int fp_problem_set_times(fp_problem *p, double t_end, size_t n_outputs, fp_error *err);

/* CVODE's relative and absolute tolerances (rtol in (0, 1), atol > 0). */
FP_API int fp_problem_set_tolerances(fp_problem *p, double rtol, double atol, fp_error *err);

/* Number of density snapshots (0: none) and where files go (NULL keeps
 * out/<name>). */
FP_API int fp_problem_set_snapshots(fp_problem *p, size_t count, fp_error *err);
FP_API int fp_problem_set_output_dir(fp_problem *p, const char *directory, fp_error *err);

/* The expression behind a coefficient (owned by the problem; NULL when it is
 * absent or the indices are out of range), e.g. to give exact derivatives of
 * a C function with fp_expr_set_derivative_fn(). */
FP_API fp_expr *fp_problem_coefficient(fp_problem *p, fp_problem_part part, int i, int j);

/* Solve: exactly fp_run_case(p, options, result, err) (run.h); with
 * options->write_files false nothing is written and the balance rows reach
 * the caller through options->on_row (or an fp_balance_table). */
FP_API int fp_problem_solve(const fp_problem *p, const fp_run_options *options, fp_run_result *result,
                     fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_PROBLEM_H */
