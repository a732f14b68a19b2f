/* fpentropy: paper 001's objective on a performance matrix, its oracle, AUC and UPF (see
 * loss_objective.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/policy/loss_objective.h>

#include <fpentropy/policy/oracle.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

double fp_loss_objective(const double *pe, size_t T, double alpha, const bool *schedule,
                         size_t *n_retrains)
{
  size_t r = 0, n = 0;
  double cost = 0.0;
  for (size_t t = 1; t < T; t++) {
    if (schedule[t]) r = t, n++, cost += alpha;
    cost += pe[r * T + t];
  }
  if (n_retrains) *n_retrains = n;
  return cost;
}

void fp_loss_submatrix(const double *pe, size_t T, size_t first, double *out)
{
  size_t m = T - first;
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < m; j++) out[i * m + j] = pe[(first + i) * T + first + j];
}

void fp_loss_problem_clear(fp_loss_problem *lp)
{
  if (!lp) return;
  free(lp->Kp), free(lp->D0), free(lp->dt), free(lp->loss_K), free(lp->loss0);
  memset(lp, 0, sizeof *lp);
}

int fp_loss_problem_init(const double *pe, const double *K, const double *t, size_t T,
                         fp_loss_problem *out, fp_error *err)
{
  if (!pe || !out || T < 2) return fp_fail(err, FP_ERR_ARG, "loss problem: need pe and T >= 2");
  memset(out, 0, sizeof *out);
  for (size_t q = 0; q < T * T; q++)
    if (!isfinite(pe[q])) return fp_fail(err, FP_ERR_ARG, "loss problem: pe[%zu][%zu] is not finite", q / T, q % T);
  out->T = T;
  out->Kp = calloc(T * T, sizeof *out->Kp);
  out->D0 = calloc(T, sizeof *out->D0);
  out->dt = calloc(T, sizeof *out->dt);
  out->loss_K = calloc(T * T, sizeof *out->loss_K);
  out->loss0 = calloc(T, sizeof *out->loss0);
  if (!out->Kp || !out->D0 || !out->dt || !out->loss_K || !out->loss0) {
    fp_loss_problem_clear(out);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for a loss problem of %zu periods", T);
  }
  for (size_t k = 0; k < T; k++) {
    out->dt[k] = k == 0 ? 0.0 : 1.0;
    out->D0[k] = pe[0 * T + k] - pe[k * T + k];
    out->loss0[k] = pe[0 * T + k];
    if (k >= 1) out->constant += pe[k * T + k];
    for (size_t j = 0; j < k; j++) {
      out->Kp[k * T + j] = pe[j * T + k] - pe[k * T + k];
      out->loss_K[k * T + j] = pe[j * T + k];
    }
  }
  out->pb = (fp_retrain_problem){.T = T, .K = out->Kp, .D0 = out->D0, .dt = out->dt, .t = t,
                                 .loss_K = out->loss_K, .loss0 = out->loss0};
  out->K_signal = K;
  return FP_OK;
}

int fp_loss_oracle(const fp_loss_problem *lp, double alpha, bool *schedule, double *cost,
                   size_t *n_retrains, fp_error *err)
{
  fp_retrain_cost c;
  int rc = fp_oracle_solve(&lp->pb, alpha, schedule, &c, err);
  if (rc != FP_OK) return rc;
  if (cost) *cost = c.cost + lp->constant;
  if (n_retrains) *n_retrains = c.n_retrains;
  return FP_OK;
}

/* The policy's divergence channel: the exact mismatch K of the case, when given. */
typedef struct kl_signal {
  const double *K;
  size_t T;
} kl_signal;

static int divergence_from_K(void *ctx, size_t k, size_t last, double exact, fp_policy_obs *obs,
                             fp_error *err)
{
  (void)exact;
  (void)err;
  const kl_signal *s = ctx;
  size_t ref = last == FP_RETRAIN_NONE ? 0 : last;
  obs->divergence = s->K ? s->K[k * s->T + ref] : 0.0;
  return FP_OK;
}

int fp_loss_policy_run(fp_policy *policy, const fp_loss_problem *lp, double alpha, bool *schedule,
                       double *cost, size_t *n_retrains, fp_error *err)
{
  fp_retrain_cost c;
  kl_signal sig = {lp->K_signal, lp->T};
  int rc = fp_policy_run_signal(policy, &lp->pb, alpha, divergence_from_K, &sig, schedule, NULL, NULL,
                                &c, err);
  if (rc != FP_OK) return rc;
  if (cost) *cost = c.cost + lp->constant;
  if (n_retrains) *n_retrains = c.n_retrains;
  return FP_OK;
}

double fp_loss_auc(const double *alpha, const double *cost, size_t n)
{
  double a = 0.0;
  for (size_t i = 1; i < n; i++) a += 0.5 * (cost[i] + cost[i - 1]) * (alpha[i] - alpha[i - 1]);
  return a;
}

/* ------------------------------------------------------------------------ */
/* UPF                                                                        */

#define UPF_NFEAT 4

typedef struct upf_model {
  double mean[UPF_NFEAT], sd[UPF_NFEAT]; /* standardisation */
  double beta[UPF_NFEAT + 1];            /* intercept last */
  double sigma2;
} upf_model;

/* r_ij; with FP_UPF_AGE the columns i and j are held at 0 (a constant
 * column is centred to 0, so its coefficient is 0). */
static void upf_features(fp_upf_features kind, size_t i, size_t j, double z, double r[UPF_NFEAT])
{
  bool full = kind == FP_UPF_FULL;
  r[0] = full ? (double)i : 0.0, r[1] = full ? (double)j : 0.0, r[2] = (double)j - (double)i, r[3] = z;
}

static double upf_predict(const upf_model *m, const double r[UPF_NFEAT])
{
  double y = m->beta[UPF_NFEAT];
  for (int k = 0; k < UPF_NFEAT; k++) y += m->beta[k] * (r[k] - m->mean[k]) / m->sd[k];
  return y;
}

/* Ridge regression of a on standardised r (intercept unpenalised, so it is
 * the mean of a after centring); sigma^2 the mean squared residual. */
static int upf_fit(const double (*R)[UPF_NFEAT], const double *a, size_t n, double ridge,
                   upf_model *m, fp_error *err)
{
  double abar = 0.0;
  for (size_t q = 0; q < n; q++) abar += a[q];
  abar /= (double)n;
  for (int k = 0; k < UPF_NFEAT; k++) {
    double s = 0, s2 = 0;
    for (size_t q = 0; q < n; q++) s += R[q][k];
    s /= (double)n;
    for (size_t q = 0; q < n; q++) s2 += (R[q][k] - s) * (R[q][k] - s);
    m->mean[k] = s;
    m->sd[k] = s2 > 0.0 ? sqrt(s2 / (double)n) : 1.0; /* constant feature: centred to 0 */
  }
  double A[UPF_NFEAT * UPF_NFEAT] = {0}, b[UPF_NFEAT] = {0};
  for (size_t q = 0; q < n; q++) {
    double x[UPF_NFEAT];
    for (int k = 0; k < UPF_NFEAT; k++) x[k] = (R[q][k] - m->mean[k]) / m->sd[k];
    for (int k = 0; k < UPF_NFEAT; k++) {
      b[k] += x[k] * (a[q] - abar);
      for (int l = 0; l < UPF_NFEAT; l++) A[k * UPF_NFEAT + l] += x[k] * x[l];
    }
  }
  for (int k = 0; k < UPF_NFEAT; k++) A[k * UPF_NFEAT + k] += ridge * (double)n;
  gsl_matrix_view Av = gsl_matrix_view_array(A, UPF_NFEAT, UPF_NFEAT);
  gsl_vector_view bv = gsl_vector_view_array(b, UPF_NFEAT);
  if (gsl_linalg_cholesky_decomp1(&Av.matrix) != GSL_SUCCESS ||
      gsl_linalg_cholesky_svx(&Av.matrix, &bv.vector) != GSL_SUCCESS)
    return fp_fail(err, FP_ERR_NUMERIC, "UPF: the regression is singular (ridge %g)", ridge);
  for (int k = 0; k < UPF_NFEAT; k++) m->beta[k] = b[k];
  m->beta[UPF_NFEAT] = abar;
  double ss = 0.0;
  for (size_t q = 0; q < n; q++) {
    double e = a[q] - upf_predict(m, R[q]);
    ss += e * e;
  }
  m->sigma2 = fmax(ss / (double)n, 1e-8);
  return FP_OK;
}

/* The delta-quantile of Beta(a, b) by bisection on its CDF (GSL's inverse can
 * fail to converge, and its error handler must not run from the library).
 * For a + b > 1e5 the Beta is within 1e-3 sd of normal: the normal quantile. */
static double beta_quantile(double delta, double a, double b, double mean, double var)
{
  if (a + b > 1e5) return fmin(fmax(mean + sqrt(var) * gsl_cdf_ugaussian_Pinv(delta), 0.0), 1.0);
  double lo = 0.0, hi = 1.0;
  for (int it = 0; it < 60; it++) {
    double mid = 0.5 * (lo + hi);
    if (gsl_cdf_beta_P(mid, a, b) < delta)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

/* Mean and variance of the moment-matched Beta of (mu, sigma2), and its delta-quantile. */
static void upf_beta(double mu, double sigma2, double delta, double *mean, double *var, double *q)
{
  mu = fmin(fmax(mu, 1e-6), 1.0 - 1e-6);
  double a = 1.0, b = 1.0;
  if (sigma2 < mu * (1.0 - mu)) {
    double s = mu * (1.0 - mu) / sigma2 - 1.0;
    a = mu * s, b = (1.0 - mu) * s;
  }
  *mean = a / (a + b);
  *var = a * b / ((a + b) * (a + b) * (a + b + 1.0));
  if (q) *q = beta_quantile(delta, a, b, *mean, *var);
}

/* delta-quantile of the sum of independent Betas over tau = from..to-1 of model i. */
static double upf_cost_quantile(const upf_model *m, fp_upf_features kind, size_t i, size_t from, size_t to, double z,
                                double delta)
{
  double r[UPF_NFEAT], mean, var, q, sm = 0.0, sv = 0.0;
  if (to - from == 1) {
    upf_features(kind, i, from, z, r);
    upf_beta(upf_predict(m, r), m->sigma2, delta, &mean, &var, &q);
    return q;
  }
  for (size_t tau = from; tau < to; tau++) {
    upf_features(kind, i, tau, z, r);
    upf_beta(upf_predict(m, r), m->sigma2, delta, &mean, &var, NULL);
    sm += mean, sv += var;
  }
  return sm + sqrt(sv) * gsl_cdf_ugaussian_Pinv(delta);
}

int fp_upf_run(const double *pe, size_t T, const double *z, double alpha, const fp_upf_options *o,
               bool *schedule, fp_error *err)
{
  if (!pe || !o || !schedule || o->offline < 2 || o->offline >= T || !(o->delta > 0.0 && o->delta < 1.0) ||
      o->horizon < 1 || !(o->ridge > 0.0) || !(o->scale >= 0.0) || !(alpha >= 0.0))
    return fp_fail(err, FP_ERR_ARG, "UPF: need offline w in [2, T), 0 < delta < 1, horizon >= 1, "
                   "ridge > 0, scale >= 0, alpha >= 0");
  const size_t w = o->offline;
  double scale = o->scale;
  if (scale == 0.0) {
    for (size_t i = 0; i < w; i++)
      for (size_t j = i; j < w; j++) scale = fmax(scale, pe[i * T + j]);
    scale *= 4.0;
    if (!(scale > 0.0)) return fp_fail(err, FP_ERR_ARG, "UPF: the offline losses are all <= 0");
  }
  size_t cap = w * (w + 1) / 2 + T;
  double (*R)[UPF_NFEAT] = malloc(cap * sizeof *R);
  double *a = malloc(cap * sizeof *a);
  if (!R || !a) {
    free(R), free(a);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory");
  }
  size_t n = 0;
#define ZAT(j) (z ? z[j] : 0.0)
#define ADD(i, j)                                                          \
  do {                                                                     \
    upf_features(o->features, (i), (j), ZAT(j), R[n]);                                \
    a[n++] = fmin(fmax(pe[(i) * T + (j)] / scale, 1e-6), 1.0 - 1e-6);     \
  } while (0)
  for (size_t i = 0; i < w; i++)
    for (size_t j = i; j < w; j++) ADD(i, j);
  memset(schedule, 0, T * sizeof *schedule);
  size_t dep = w - 1;
  int rc = FP_OK;
  for (size_t t = w; t < T; t++) {
    upf_model m;
    rc = upf_fit((const double (*)[UPF_NFEAT])R, a, n, o->ridge, &m, err);
    if (rc != FP_OK) break;
    /* the shift feature of the newest features (label-free, known at t) */
    double zt = ZAT(t);
    size_t to = t + o->horizon < T ? t + o->horizon : T;
    double keep = scale * upf_cost_quantile(&m, o->features, dep, t, to, zt, o->delta);
    double retrain = alpha + scale * upf_cost_quantile(&m, o->features, t, t, to, zt, o->delta);
    if (retrain < keep) schedule[t] = true, dep = t;
    ADD(dep, t); /* the served model's loss at t, observed after t */
  }
#undef ADD
#undef ZAT
  free(R), free(a);
  return rc;
}
