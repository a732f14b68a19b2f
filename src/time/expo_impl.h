/* fpentropy (internal): Krylov exponential integrator for time-independent
 * fields, p(t + tau) = exp(tau L) p(t).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each step builds an Arnoldi basis V_j, H_j of L from the current state
 * (j <= FP_EXPO_KRYLOV_MAX) and takes p <- beta V_j exp(tau H_j) e_1.  The
 * error of that approximation is, to leading order, the vector
 * beta h_{j+1,j} [exp(tau H_j) e_1]_j v_{j+1}; its weighted RMS norm with
 * CVODE's weights 1 / (rtol |p_i| + atol) must be <= 1, as CVODE's local
 * error test.  The basis does not depend on tau, so the largest admissible
 * tau (up to the next output time) is found by evaluating that scalar
 * estimate for several tau on one basis; the basis grows (checked at a few
 * sizes) only while the step the estimate allows is shorter than wanted.
 *
 * The exact exp(tau L) conserves mass and keeps p >= 0 (L is an M-matrix
 * for two-point fluxes); its Krylov approximation does both only up to the
 * tolerance.  So, as CVODE does with its constraints, a step that leaves a
 * value below -atol is rejected (tau halved); values in (-atol, 0) are set
 * to 0 and counted; and without absorbing walls the result is scaled to the
 * mass at the step's start, which restores conservation to round-off
 * (tests/unit/test_expo.c measures all three). */
#ifndef FPENTROPY_EXPO_IMPL_H
#define FPENTROPY_EXPO_IMPL_H

#include <signal.h>
#include <stdbool.h>

#include <fpentropy/fv/operator.h>

#define FP_EXPO_KRYLOV_MAX 30

/* Outputs one Chebyshev series serves at most (multi-output steps, see
 * expo.c): the cost per output interval falls with the group while the
 * extra sums cost less than the terms they save; at 352^2 groups of 4 and 8
 * ran equally fast, and 4 holds fewer vectors. */
#define FP_EXPO_GROUP 4

typedef struct fp_expo fp_expo;

typedef struct fp_expo_options {
  double rtol, atol;
  long max_steps;                     /* between two output times */
  bool nonnegative;                   /* reject steps with values below -atol */
  bool conserving;                    /* restore the mass after each step */
  double spectral_bound;              /* of L (fp_cheb_spectral_bound), 0: computed when needed */
  /* the times the caller will ask for, ascending (may be NULL): a
   * Chebyshev step to one of them computes the next few as well */
  const double *output_times;
  size_t n_output_times;
  volatile sig_atomic_t *interrupted; /* may be NULL */
} fp_expo_options;

typedef struct fp_expo_stats {
  long steps, applications, rejected, zeroed;
  long chebyshev_steps; /* of steps: taken by the Chebyshev series */
  double spectral_bound; /* rho of the Chebyshev steps (0 before the first) */
  int last_krylov_dim;
  double last_step;
} fp_expo_stats;

int fp_expo_create(fp_operator *op, double t0, const double *p0, const fp_expo_options *opt,
                   fp_expo **out, fp_error *err);
void fp_expo_destroy(fp_expo **e);

/* Step to exactly t_out (the last step ends on it). */
int fp_expo_advance(fp_expo *e, double t_out, fp_error *err);

double *fp_expo_state(fp_expo *e);
void fp_expo_get_stats(const fp_expo *e, fp_expo_stats *st);

#endif /* FPENTROPY_EXPO_IMPL_H */
