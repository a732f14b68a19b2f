/* fpentropy: time stepping of dp/dt = L(t) p with SUNDIALS CVODE (BDF).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_solver_options (tolerances, step limits, linear solver) and
 *     fp_solver_options_from_case();
 *   - fp_solver: create on an operator and an initial density, advance to an
 *     output time, read the state and CVODE's statistics, destroy.
 *
 * The operator is linear in p, so the Jacobian handed to CVODE is exactly L(t)
 * (band or sparse for direct solvers, L v for GMRES).  Linear solvers: band LU
 * (1D), KLU sparse LU, dense LU (small tests), GMRES with a fast-transform
 * diffusion preconditioner.  With two-point fluxes (diagonal D) the
 * semi-discrete solution is non-negative, and CVODE's inequality constraints
 * keep every accepted step non-negative as well.
 */
#ifndef FPENTROPY_SOLVER_H
#define FPENTROPY_SOLVER_H

#include <fpentropy/export.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/fv/operator.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_solver_options {
  double rtol;                          /* relative tolerance; FP_RTOL_AUTO: fp_solver_auto_rtol */
  double atol;                          /* absolute tolerance on p */
  long max_steps;                       /* steps allowed between two output times */
  double max_step;                      /* 0: no limit */
  double initial_step;                  /* 0: CVODE's estimate */
  fp_linear_solver_kind linear_solver;  /* FP_LINSOL_AUTO picks by size */
  fp_preconditioner_kind preconditioner;
  int krylov_dim;
  bool fft_measure;                     /* plan the FFT preconditioner with FFTW_MEASURE */
  bool nonnegative;                     /* impose p >= 0 on accepted steps */
  fp_integrator_kind integrator;        /* FP_INTEGRATOR_AUTO: fp_solver_choose_integrator */
  /* CVODE never steps past this time (fields need not be defined beyond
   * it); no limit unless it is above the initial time.  Output times in
   * between are interpolated, not stepped to. */
  double stop_time;
  /* The output times the caller will advance to, ascending (may be NULL,
   * the default): the exponential integrator then computes several of them
   * from one Chebyshev series and hands them out as they are asked for.
   * The array must live as long as the solver. */
  const double *output_times;
  size_t n_output_times;
  /* polled in every right-hand side evaluation; when it becomes non-zero
   * the integration stops with FP_ERR_INTERRUPTED (may be NULL) */
  volatile sig_atomic_t *interrupted;
} fp_solver_options;

/* The spatial error level of density p on grid g: the relative L1 size of
 * the second-order truncation term, sum_k h_k^2/24 |d_k^2 p| / |p|, from
 * second differences (it scales as h^2, like the scheme's error). */
FP_API double fp_solver_space_error_level(const fp_grid *g, const double *p);

/* Time tolerances below the space error buy nothing (the error is the space
 * error), above it they spoil it.  rtol = auto takes
 *     rtol = FP_RTOL_AUTO_FACTOR * fp_solver_space_error_level(grid, p0),
 * clamped to [FP_RTOL_AUTO_MIN, FP_RTOL_AUTO_MAX].  The factor keeps the time
 * error (L1, max over the outputs) at most FP_TIME_ERROR_FRACTION of the
 * space error on the Ornstein-Uhlenbeck cases (tests/unit/test_tolerance.c
 * asserts it at two grids each). */
#define FP_RTOL_AUTO_FACTOR 0.1
#define FP_RTOL_AUTO_MIN 1e-10
#define FP_RTOL_AUTO_MAX 1e-3
#define FP_TIME_ERROR_FRACTION 0.05

/* The rtol of `rtol = auto` for grid g and initial density p0 (above). */
FP_API double fp_solver_auto_rtol(const fp_grid *g, const double *p0);

/* The integrator `auto` takes for integrating over `span` (t_end - t0):
 * the exponential integrator for time-independent fields when
 * rho span / 2 <= FP_EXPO_AUTO_MAX_Z, rho the spectral bound of L (the
 * largest column sum of |L|; its Chebyshev steps then need few operator
 * applications, and it measured faster, docs/scheme.md), CVODE otherwise
 * and when span is not positive.  An explicit choice is returned as is. */
FP_API fp_integrator_kind fp_solver_choose_integrator(const fp_operator *op, fp_integrator_kind asked,
                                                      double span);
/* 10000: on ou2d_rotating to t = 1 the exponential integrator measured
 * faster than CVODE at 352^2 and 512^2 (tools/bench_defaults.py), by a
 * ratio that falls like the grid's n (its stepping is cells^1.5): the rule
 * switches between 592^2 and 608^2, below where the ratio reaches 1. */
#define FP_EXPO_AUTO_MAX_Z 10000.0

/* Options from a case's [time] and [solver] sections; nonnegative is set
 * when the operator has two-point fluxes only (pass op) or left false. */
FP_API void fp_solver_options_from_case(const fp_case *c, const fp_operator *op, fp_solver_options *opt);

/* CVODE's run statistics (cumulative since creation). */
typedef struct fp_solver_stats {
  long steps, rhs_evals, lin_setups, jac_evals, nonlin_iters, nonlin_conv_fails;
  long err_test_fails, lin_iters, lin_conv_fails, prec_evals, prec_solves, jtimes_evals;
  int last_order;
  double last_step;
  long roundoff_negatives_zeroed; /* see FP_SOLVER_ROUNDOFF_NEGATIVE */
} fp_solver_stats;

/* With non-negativity imposed, output values in (-FP_SOLVER_ROUNDOFF_NEGATIVE
 * atol, 0) are within the integrator's absolute tolerance of 0: CVODE keeps
 * its step solutions non-negative, but an output between two steps is
 * interpolated from the step polynomial, which can dip below 0 by less than
 * the local error where p is ~0 (seen: -1.8e-17 with atol 1e-12), and the
 * constraint projection leaves values like -9e-41.  They are set to 0 and
 * counted in the statistics, and the state is scaled by 1 - (their mass) /
 * (its mass), so the mass is unchanged to round-off.  More negative values
 * are never changed. */
#define FP_SOLVER_ROUNDOFF_NEGATIVE 1.0

typedef struct fp_solver fp_solver; /* opaque */

/* Set up CVODE for dp/dt = L(t) p from p(t0) = p0 (ncells values, copied).
 * The operator must outlive the solver.
 * Errors: FP_ERR_ARG (bad options), FP_ERR_NOMEM, FP_ERR_SOLVER (CVODE's
 * message is included).  Ownership: fp_solver_destroy(). */
FP_API int fp_solver_create(fp_operator *op, double t0, const double *p0, const fp_solver_options *opt,
                     fp_solver **out, fp_error *err);
FP_API void fp_solver_destroy(fp_solver **s);

/* Integrate to exactly t_out (a CVODE stop time, so the state is a step
 * solution, not an interpolant).  Errors: FP_ERR_SOLVER with CVODE's message
 * (step limit, convergence or error-test failures, ...). */
FP_API int fp_solver_advance(fp_solver *s, double t_out, fp_error *err);

/* The relative tolerance in use (resolved when the options asked for auto). */
FP_API double fp_solver_rtol(const fp_solver *s);

/* Current time and state (ncells values, owned by the solver, valid until
 * the next advance). */
FP_API double fp_solver_time(const fp_solver *s);
FP_API const double *fp_solver_state(const fp_solver *s);

/* dp/dt at the current time from CVODE's dense output (the derivative of
 * the interpolating polynomial, independent of the right-hand side); before
 * the first step it is L p.  dpdt has ncells entries. */
FP_API int fp_solver_dense_derivative(fp_solver *s, double *dpdt, fp_error *err);

/* CVODE's counters (steps, RHS and Jacobian evaluations, iterations) so far. */
FP_API void fp_solver_get_stats(const fp_solver *s, fp_solver_stats *stats);

/* The integrator in use (never FP_INTEGRATOR_AUTO) and its name. */
FP_API fp_integrator_kind fp_solver_integrator(const fp_solver *s);
FP_API const char *fp_integrator_name(fp_integrator_kind k);

/* Name of the linear solver actually used ("band", "klu", "dense",
 * "gmres+fft", "gmres"). */
FP_API const char *fp_solver_linear_solver_name(const fp_solver *s);

/* Print the statistics as "key: value" lines. */
FP_API void fp_solver_print_stats(const fp_solver *s, FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_SOLVER_H */
