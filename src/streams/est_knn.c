/* fpentropy: k-nearest-neighbour estimators "knn" (one-sample,
 * Kozachenko-Leonenko entropy with known log q) and "wkv" (two-sample,
 * Wang-Kulkarni-Verdu).  See docs/estimators.md.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <stdlib.h>

#include "core/error_impl.h"
#include "streams/estimator_impl.h"
#include "streams/kdtree_impl.h"

#define KNN_MAX_K 64

/* Workspace: a tree on the p-sample and one on the reference sample, reused
 * (rebuilt in place) by every call. */
typedef struct knn_work {
  fp_kdtree *tree_p;
  fp_kdtree *tree_q;
} knn_work;

static void knn_free(void *w)
{
  knn_work *kw = w;
  if (!kw) return;
  fp_kdtree_destroy(&kw->tree_p);
  fp_kdtree_destroy(&kw->tree_q);
  free(kw);
}

static int knn_workspace(fp_estimator *e, knn_work **out, fp_error *err)
{
  if (!e->work) {
    knn_work *kw = calloc(1, sizeof *kw);
    if (!kw) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the k-NN workspace");
    e->work = kw;
    int rc = fp_kdtree_create(&kw->tree_p, err);
    if (rc == FP_OK) rc = fp_kdtree_create(&kw->tree_q, err);
    if (rc != FP_OK) {
      knn_free(kw);
      e->work = NULL;
      return rc;
    }
  }
  *out = e->work;
  return FP_OK;
}

/* Dropping a point with a zero distance changes the estimator; beyond this
 * fraction of the sample the data are too degenerate to give a number. */
#define KNN_MAX_SKIPPED_FRACTION 0.5

static int too_many_ties(const fp_estimator *e, size_t skipped, size_t n, fp_error *err)
{
  if ((double)skipped <= KNN_MAX_SKIPPED_FRACTION * (double)n) return FP_OK;
  return fp_fail(err, FP_ERR_NUMERIC,
                 "estimator '%s': %zu of %zu points have a zero k-NN distance (duplicated points)",
                 e->spec, skipped, n);
}

/* ---- knn: D = -H_KL - mean log q ---------------------------------------- */

static int knn_estimate(fp_estimator *e, const fp_samples *p, const fp_kl_reference *ref,
                        double *kl, fp_estimator_report *rep, fp_error *err)
{
  const size_t k = (size_t)e->value[0].num;
  const size_t n = p->n;
  const int d = p->dim;
  if (n < k + 1)
    return fp_fail(err, FP_ERR_ARG, "estimator '%s' needs at least k+1 = %zu points, got %zu",
                   e->spec, k + 1, n);
  knn_work *w = NULL;
  int rc = knn_workspace(e, &w, err);
  if (rc != FP_OK) return rc;
  double mean_log_q;
  rc = fp_est_mean_log_q(ref, p, &mean_log_q, err);
  if (rc != FP_OK) return rc;
  rc = fp_kdtree_build(w->tree_p, d, n, p->x, err);
  if (rc != FP_OK) return rc;

  double dist[KNN_MAX_K];
  double sum_log_rho = 0.0;
  size_t used = 0;
  for (size_t j = 0; j < n; j++) { /* in tree order, for locality */
    size_t i;
    const double *x = fp_kdtree_point(w->tree_p, j, &i);
    fp_kdtree_knn(w->tree_p, x, k, i, dist, NULL);
    double rho = dist[k - 1];
    if (rho > 0.0) {
      sum_log_rho += log(rho);
      used++;
    }
  }
  rep->skipped = n - used;
  rc = too_many_ties(e, rep->skipped, n, err);
  if (rc != FP_OK) return rc;
  double h = fp_est_digamma_int(n) - fp_est_digamma_int(k) + fp_est_log_unit_ball(d) +
             (double)d * sum_log_rho / (double)used;
  *kl = -h - mean_log_q;
  return FP_OK;
}

/* ---- wkv: D = (d/n) sum log(nu_k/rho_k) + log(m/(n-1)) ------------------- */

static int wkv_estimate(fp_estimator *e, const fp_samples *p, const fp_kl_reference *ref,
                        double *kl, fp_estimator_report *rep, fp_error *err)
{
  const size_t k = (size_t)e->value[0].num;
  const size_t n = p->n, m = ref->sample.n;
  const int d = p->dim;
  if (n < k + 1 || m < k)
    return fp_fail(err, FP_ERR_ARG,
                   "estimator '%s' needs at least k+1 = %zu points in p and k = %zu in the "
                   "reference sample, got %zu and %zu",
                   e->spec, k + 1, k, n, m);
  knn_work *w = NULL;
  int rc = knn_workspace(e, &w, err);
  if (rc != FP_OK) return rc;
  rc = fp_kdtree_build(w->tree_p, d, n, p->x, err);
  if (rc == FP_OK) rc = fp_kdtree_build(w->tree_q, d, m, ref->sample.x, err);
  if (rc != FP_OK) return rc;

  double dist[KNN_MAX_K];
  double sum = 0.0;
  size_t used = 0;
  for (size_t j = 0; j < n; j++) { /* in tree order, for locality */
    size_t i;
    const double *x = fp_kdtree_point(w->tree_p, j, &i);
    fp_kdtree_knn(w->tree_p, x, k, i, dist, NULL);
    double rho = dist[k - 1];
    fp_kdtree_knn(w->tree_q, x, k, FP_KDTREE_NONE, dist, NULL);
    double nu = dist[k - 1];
    if (rho > 0.0 && nu > 0.0) {
      sum += log(nu / rho);
      used++;
    }
  }
  rep->skipped = n - used;
  rep->m = m;
  rc = too_many_ties(e, rep->skipped, n, err);
  if (rc != FP_OK) return rc;
  *kl = (double)d * sum / (double)used + log((double)m / (double)(n - 1));
  return FP_OK;
}

/* ---- descriptors -------------------------------------------------------- */

static const fp_est_param knn_params[] = {
    {"k", FP_EST_INT, NULL, "3", 1, KNN_MAX_K, 0, "neighbour order"},
};

const fp_estimator_type fp_est_knn_type = {
    .name = "knn",
    .summary = "one-sample k-NN: -H_KL(p) (Kozachenko-Leonenko) - mean log q(X_i)",
    .params = knn_params,
    .nparams = sizeof knn_params / sizeof knn_params[0],
    .needs_all = FP_EST_NEED_LOG_Q,
    .needs_any = 0,
    .estimate = knn_estimate,
    .free_work = knn_free,
};

static const fp_est_param wkv_params[] = {
    {"k", FP_EST_INT, NULL, "1", 1, KNN_MAX_K, 0, "neighbour order"},
};

const fp_estimator_type fp_est_wkv_type = {
    .name = "wkv",
    .summary = "two-sample k-NN (Wang-Kulkarni-Verdu 2009) against the reference sample",
    .params = wkv_params,
    .nparams = sizeof wkv_params / sizeof wkv_params[0],
    .needs_all = FP_EST_NEED_SAMPLE,
    .needs_any = 0,
    .estimate = wkv_estimate,
    .free_work = knn_free,
};
