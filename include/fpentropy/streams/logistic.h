/* fpentropy: logistic regression fitted by IRLS (Newton's method), and its log loss.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_logistic, a binary classifier P(y = 1 | x) = sigma(w . x + b) in
 *     1..FP_MAX_DIM dimensions;
 *   - fp_logistic_fit(): the ridge-penalised maximum-likelihood fit on
 *     weighted points with labels in [0, 1] (hard 0/1 labels of a sample, or
 *     soft labels P(y = 1 | x) of a population on a grid);
 *   - fp_logistic_log_loss(): the weighted mean log loss of a model.
 *
 * Objective (docs/streams.md).  With weights v_i >= 0, V = sum_i v_i and
 * eta_i = w . x_i + b,
 *     J(w, b) = (1/V) sum_i v_i [ softplus(eta_i) - y_i eta_i ] + (ridge/2) |w|^2,
 * softplus(s) = log(1 + e^s).  The bracket is the log loss
 * -y log sigma(eta) - (1-y) log(1 - sigma(eta)) written so that it never
 * overflows.  The intercept is not penalised.  Normalising by V makes the
 * fit of a large sample tend to the fit of its population (the same J with
 * the sum replaced by the integral), which is what the exact performance
 * matrix uses.
 *
 * IRLS.  Newton's method on J: gradient g = (1/V) X^T v (sigma - y) + ridge
 * (w, 0), Hessian H = (1/V) X^T diag(v sigma (1 - sigma)) X + ridge diag(1,
 * .., 1, 0), step from a Cholesky solve (GSL), halved until J decreases.
 * Stops when max |g| <= tol.  H is positive definite when ridge > 0 and the
 * weighted points are not all on one label with sigma(eta) saturated; a
 * failed Cholesky is reported as FP_ERR_NUMERIC.
 *
 * Thread safety: pure functions; fp_logistic_fit() allocates nothing (the
 * system is at most (FP_MAX_DIM+1) x (FP_MAX_DIM+1), on the stack).
 */
#ifndef FPENTROPY_LOGISTIC_H
#define FPENTROPY_LOGISTIC_H

#include <fpentropy/export.h>

#include <stddef.h>

#include <fpentropy/problem/grid.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_logistic {
  int dim;              /* 1..FP_MAX_DIM */
  double w[FP_MAX_DIM]; /* weights (0 beyond dim) */
  double b;             /* intercept */
} fp_logistic;

typedef struct fp_logistic_options {
  double ridge;     /* >= 0: the (ridge/2)|w|^2 term */
  size_t max_iter;  /* Newton iterations (>= 1) */
  double tol;       /* stop when max |gradient| <= tol (> 0) */
} fp_logistic_options;

typedef struct fp_logistic_report {
  size_t iterations; /* Newton steps taken */
  double objective;  /* J at the solution */
  double grad_norm;  /* max |g| at the solution */
} fp_logistic_report;

/* eta = w . x + b and the probability sigma(eta). */
FP_API double fp_logistic_eta(const fp_logistic *m, const double *x);
FP_API double fp_logistic_prob(const fp_logistic *m, const double *x);

/* The log loss of one point with label y in [0, 1]: softplus(eta) - y eta. */
FP_API double fp_logistic_point_loss(const fp_logistic *m, const double *x, double y);

/* Fit on n points x[i*dim + k] with labels y[i] in [0, 1] and weights
 * weight[i] >= 0 (NULL: all 1).  `start` (may be NULL: zeros) is the first
 * iterate.  *model receives the fit, *report (may be NULL) the diagnostics.
 * Returns FP_OK; FP_ERR_ARG (NULL data, n == 0, dim out of range, a label
 * outside [0, 1], a negative or non-finite weight, zero total weight, a
 * non-finite coordinate, bad options); FP_ERR_NUMERIC (singular Hessian, no
 * descent, not converged in max_iter iterations: the message says which and
 * *model holds the last iterate). */
FP_API int fp_logistic_fit(const double *x, const double *y, const double *weight, size_t n, int dim,
                    const fp_logistic_options *opt, const fp_logistic *start, fp_logistic *model,
                    fp_logistic_report *report, fp_error *err);

/* Weighted mean log loss (1/V) sum_i v_i [softplus(eta_i) - y_i eta_i]
 * (weight NULL: the plain mean).  Returns FP_OK or FP_ERR_ARG. */
FP_API int fp_logistic_log_loss(const fp_logistic *m, const double *x, const double *y,
                         const double *weight, size_t n, double *loss, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_LOGISTIC_H */
