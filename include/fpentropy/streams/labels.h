/* fpentropy: labelled streams: the label rule, the deployed model's settings, and the exact
 * performance matrix of a density series.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_labels, the [labels] and [model] sections of a case (docs/case-files.md):
 *     the logistic label rule P(y = 1 | x, t) = sigma(w(t) . x + b(t)) with w and
 *     b expressions in t, where the features come from (the case's PDE density
 *     or an explicit density expression), the batch size, the policies of a
 *     stream, and the model's training window, ridge and Newton settings and the
 *     label-free KL estimator;
 *   - fp_labels_load(), fp_labels_destroy(), fp_labels_rule();
 *   - fp_labels_density_series(): the explicit feature density on the grid;
 *   - fp_labels_window_fit(): the population fit of the model trained on the
 *     window ending at period i (weighted IRLS on the grid, soft labels);
 *   - fp_performance_matrix(): pe[i][j] = int p(x, t_j) l(f_i, x, t_j) dx.
 *
 * Performance matrix (docs/streams.md).  With pi_j(x) = P(y = 1 | x, t_j) and
 * l(f, x, t_j) = softplus(eta_f(x)) - pi_j(x) eta_f(x), the expected log loss
 * of a labelled point at t_j, the grid quadrature is
 *     pe[i][j] = sum_c p_j,c |V| [ softplus(eta_i,c) - pi_j,c eta_i,c ],
 * and f_i minimises (1/W) sum_{k in window(i)} sum_c p_k,c |V| l(f, x_c, t_k)
 * + (ridge/2)|w|^2 with window(i) = {max(0, i-W+1), .., i} (W = [model]
 * window), the large-sample limit of the fit on the window's batches.
 */
#ifndef FPENTROPY_LABELS_H
#define FPENTROPY_LABELS_H

#include <fpentropy/export.h>

#include <stddef.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/problem/expr.h>
#include <fpentropy/problem/grid.h>
#include <fpentropy/streams/logistic.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fp_features_kind {
  FP_FEATURES_PDE = 0, /* the case's PDE density at the output times */
  FP_FEATURES_DENSITY, /* [labels] density, an expression in x, y, z, t */
  FP_FEATURES_PARTICLES /* the case's SDE particles: a panel of `batch` particles per
                           seed (the PDE density still gives the exact pe and KL) */
} fp_features_kind;

typedef struct fp_labels {
  int dim;
  fp_expr *w[FP_MAX_DIM];   /* [labels] w: one expression in t per axis */
  fp_expr *b;               /* [labels] b: expression in t */
  fp_features_kind features;
  fp_expr *density;         /* [labels] density (NULL when not given); used by features = density */
  size_t batch;             /* labelled points per period */
  char *policies;           /* [labels] policies (whitespace-separated) */
  size_t window;            /* [model] window: periods of data per fit (>= 1) */
  fp_logistic_options fit;  /* [model] ridge, max_iter, tol */
  char *estimator;          /* [model] estimator: the label-free KL estimator */
} fp_labels;

/* Read [labels] and [model] from a loaded case (entries; the keys and their
 * defaults are listed in docs/case-files.md).  Errors name "file:line: [section]
 * key: ..." (FP_ERR_CASE, FP_ERR_EXPR), e.g. a missing [labels] w, a w with
 * the wrong number of components, an expression of w or b that uses x.
 * Ownership: fp_labels_destroy(). */
FP_API int fp_labels_load(const fp_case *c, fp_labels **out, fp_error *err);
FP_API void fp_labels_destroy(fp_labels **l);

/* The label rule at time t as a logistic model: P(y=1|x,t) = fp_logistic_prob(rule, x).
 * Not thread-safe (evaluates the expressions). */
FP_API void fp_labels_rule(const fp_labels *l, double t, fp_logistic *rule);

/* features = density: p[k*ncells + c] = the density expression at the cell
 * centres at time t[k], normalised on the grid (fp_density_sample). */
FP_API int fp_labels_density_series(const fp_labels *l, const fp_grid *g, const double *t, size_t T,
                             double *p, fp_error *err);

/* The population fit f_i of the window ending at period i (see above), from
 * the grid densities p (T*ncells) at times t.  `start` may be NULL. */
FP_API int fp_labels_window_fit(const fp_labels *l, const fp_grid *g, const double *p, const double *t,
                         size_t T, size_t i, const fp_logistic *start, fp_logistic *model,
                         fp_error *err);

/* pe (T*T, row-major, every i and j) and, if fits != NULL, the T population
 * fits f_i.  Returns FP_OK, FP_ERR_NOMEM or a fit's error (naming i). */
FP_API int fp_performance_matrix(const fp_labels *l, const fp_grid *g, const double *p, const double *t,
                          size_t T, double *pe, fp_logistic *fits, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_LABELS_H */
