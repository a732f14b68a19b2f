/* fpentropy: the discrete entropy balance (see balance.h, docs/balance.md).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every column is a sum over the same face fluxes F_f = (Phi p)_f that the
 * time stepper differentiates, with the same logarithms, so the
 * discrete identities are algebraic: they hold to round-off on every grid,
 * and what remains in the residual columns is round-off (compared against
 * `scale`, the sum of the magnitudes of the terms). */
#include <fpentropy/balance/balance.h>
#include <fpentropy/problem/density.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_impl.h"
#include "core/error_impl.h"

struct fp_balance {
  fp_operator *op;
  fp_grid grid;
  size_t nfaces;
  double *flux;           /* nfaces */
  double *ell;            /* log(p/q) */
  double *logp;           /* log(max(p, floor)) */
  double *logq;           /* log q, once per cell rather than once per face */
  double *logss;          /* log p_ss (substitute where p_ss <= 0), likewise */
  double *q_seen, *pss_seen; /* the q and p_ss logq and logss belong to (NULL: none yet) */
  double *dpdt;           /* L p */
  double *current;        /* dim per cell */
  double *production;     /* per cell */
};

void fp_balance_destroy(fp_balance **b)
{
  if (!b || !*b) return;
  fp_balance *x = *b;
  free(x->flux);
  free(x->ell);
  free(x->logp);
  free(x->logq);
  free(x->logss);
  free(x->q_seen);
  free(x->pss_seen);
  free(x->dpdt);
  free(x->current);
  free(x->production);
  free(x);
  *b = NULL;
}

int fp_balance_create(fp_operator *op, fp_balance **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_balance_create: out is NULL");
  *out = NULL;
  if (!op) return fp_fail(err, FP_ERR_ARG, "fp_balance_create: NULL argument");
  fp_balance *b = calloc(1, sizeof *b);
  if (!b) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the balance workspace");
  b->op = op;
  b->grid = *fp_operator_grid(op);
  fp_face_view faces;
  fp_operator_faces(op, &faces);
  b->nfaces = faces.count;
  size_t n = b->grid.ncells;
  int dim = b->grid.dim;
  b->flux = fp_alloc_large(b->nfaces * sizeof *b->flux);
  b->ell = fp_alloc_large(n * sizeof *b->ell);
  b->logp = fp_alloc_large(n * sizeof *b->logp);
  b->logq = fp_alloc_large(n * sizeof *b->logq);
  b->logss = fp_alloc_large(n * sizeof *b->logss);
  b->dpdt = fp_alloc_large(n * sizeof *b->dpdt);
  b->current = fp_calloc_large(n * (size_t)dim, sizeof *b->current);
  b->production = calloc(n, sizeof *b->production);
  if (!b->flux || !b->ell || !b->logp || !b->logq || !b->logss || !b->dpdt || !b->current ||
      !b->production)
    goto fail_nomem;
  *out = b;
  return FP_OK;
fail_nomem:
  fp_balance_destroy(&b);
  return fp_fail(err, FP_ERR_NOMEM, "out of memory for the balance workspace");
}

static void reconstruct_current(fp_balance *b, const fp_face_view *faces)
{
  const fp_grid *g = &b->grid;
  int dim = g->dim;
  if (faces->offset) {
    /* Full tensor: each edge moves mass at the rate G = F_f / h_axis over
     * the displacement delta = H e; half of G delta goes to each end, which
     * for the axis edges is the mean of the two face fluxes as below. */
    memset(b->current, 0, g->ncells * (size_t)dim * sizeof *b->current);
    for (size_t f = 0; f < faces->count; f++) {
      double G = b->flux[f] / g->h[faces->axis[f]];
      const signed char *e = faces->offset + 3 * f;
      for (int k = 0; k < dim; k++) {
        double c = 0.5 * G * e[k] * g->h[k];
        if (faces->left[f] != FP_NO_CELL) b->current[faces->left[f] * (size_t)dim + (size_t)k] += c;
        if (faces->right[f] != FP_NO_CELL) b->current[faces->right[f] * (size_t)dim + (size_t)k] += c;
      }
    }
    return;
  }
  for (size_t i = 0; i < g->ncells; i++)
    for (int k = 0; k < dim; k++) {
      int64_t lo = faces->below[k][i], hi = faces->above[k][i];
      double Flo = lo >= 0 ? b->flux[lo] : 0.0, Fhi = hi >= 0 ? b->flux[hi] : 0.0;
      b->current[i * (size_t)dim + (size_t)k] = 0.5 * (Flo + Fhi);
    }
}

/* A copy of x (n values) in *seen, allocated on first use. */
static int remember(double **seen, const double *x, size_t n, fp_error *err)
{
  if (!*seen && !(*seen = fp_alloc_large(n * sizeof **seen)))
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for the balance workspace");
  memcpy(*seen, x, n * sizeof *x);
  return FP_OK;
}

/* log q and log p_ss for this call.  q and p_ss rarely change between rows
 * (a reference is replaced at a retraining, p_ss with time-dependent
 * fields), and n logarithms cost 20-40 times a comparison of the values:
 * they are recomputed only when the values differ from the last call's. */
static int cache_logs(fp_balance *b, const double *q, const double *p_ss, double log_substitute,
                      fp_error *err)
{
  const size_t n = b->grid.ncells;
  if (!b->q_seen || memcmp(b->q_seen, q, n * sizeof *q) != 0) {
    for (size_t i = 0; i < n; i++) b->logq[i] = log(q[i]);
    int rc = remember(&b->q_seen, q, n, err);
    if (rc != FP_OK) return rc;
  }
  if (p_ss && (!b->pss_seen || memcmp(b->pss_seen, p_ss, n * sizeof *p_ss) != 0)) {
    for (size_t i = 0; i < n; i++) b->logss[i] = p_ss[i] > 0.0 ? log(p_ss[i]) : log_substitute;
    int rc = remember(&b->pss_seen, p_ss, n, err);
    if (rc != FP_OK) return rc;
  }
  return FP_OK;
}

int fp_balance_compute(fp_balance *b, double t, const double *p, const double *q,
                       const double *dpdt_dense, const double *p_ss, fp_balance_row *row,
                       fp_error *err)
{
  const fp_grid *g = &b->grid;
  const size_t n = g->ncells;
  const double vol = g->cell_volume;
  const double log_substitute = log(FP_BALANCE_LOG_SUBSTITUTE);
  memset(row, 0, sizeof *row);
  row->t = t;
  row->dkl_dt_fd = NAN;

  /* log p is exact for every p > 0 (subnormals included: log(4.9e-324) =
   * -744.4).  Only p <= 0, which has no logarithm, takes a substitute, and
   * such cells are counted and reported; kl is the KL divergence of the
   * positive part of p (0 log 0 = 0), so they add nothing to it. */
  int rc = cache_logs(b, q, p_ss, log_substitute, err);
  if (rc != FP_OK) return rc;
  for (size_t i = 0; i < n; i++) {
    if (p[i] > 0.0) {
      b->logp[i] = log(p[i]);
      b->ell[i] = b->logp[i] - b->logq[i];
      row->kl += p[i] * b->ell[i];
      row->kl_scale += fabs(p[i] * b->ell[i]);
    } else {
      b->logp[i] = log_substitute;
      b->ell[i] = b->logp[i] - b->logq[i];
      row->nonpositive_cells++;
      row->nonpositive_mass += p[i] * vol;
    }
  }
  row->kl *= vol;
  row->kl_scale *= vol;
  row->mass = fp_density_mass(g, p);
  row->min_p = fp_density_min(g, p, NULL);
  row->max_p = -INFINITY;
  for (size_t i = 0; i < n; i++) row->max_p = fmax(row->max_p, p[i]);

  fp_operator_apply(b->op, p, b->dpdt);
  for (size_t i = 0; i < n; i++) {
    double term = b->dpdt[i] * (b->ell[i] + 1.0);
    row->dkl_dt += term;
    row->scale += fabs(term) * vol;
  }
  row->dkl_dt *= vol;
  if (dpdt_dense) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += dpdt_dense[i] * (b->ell[i] + 1.0);
    row->dkl_dt_fd = s * vol;
  }

  fp_face_view faces;
  fp_operator_faces(b->op, &faces);
  fp_operator_face_fluxes(b->op, p, b->flux);
  memset(b->production, 0, n * sizeof *b->production);
  row->has_split = p_ss != NULL;
  row->min_face_sigma = INFINITY;
  double interior_a7 = 0.0;
  for (size_t f = 0; f < faces.count; f++) {
    uint32_t L = faces.left[f], R = faces.right[f];
    double F = b->flux[f], area = faces.area[faces.axis[f]];
    if (L == FP_NO_CELL || R == FP_NO_CELL) { /* a wall: outward flux -F below, F above */
      double term = (L == FP_NO_CELL ? F * (b->ell[R] + 1.0) : -F * (b->ell[L] + 1.0)) * area;
      row->boundary += term;
      row->scale += fabs(term);
      continue;
    }
    interior_a7 -= F * (b->ell[L] - b->ell[R]) * area;
    row->current_l1 += fabs(F) * area;
    double pe = faces.pe[f];
    /* Round-off is relative to the size of the terms that cancel. */
    row->scale += fabs(F) * area *
                  (fabs(b->ell[L]) + fabs(b->ell[R]) + fabs(pe) + fabs(b->logp[L]) + fabs(b->logp[R]));
    double s = F * (pe + b->logp[L] - b->logp[R]) * area;
    row->sigma_tot += s;
    if (s < row->min_face_sigma) row->min_face_sigma = s;
    b->production[L] += 0.5 * s / vol;
    b->production[R] += 0.5 * s / vol;
    row->q_hk += F * (pe + b->logq[L] - b->logq[R]) * area;
    if (row->has_split) {
      double lss_L = b->logss[L], lss_R = b->logss[R];
      if (!(p_ss[L] > 0.0) || !(p_ss[R] > 0.0)) row->nonpositive_pss_faces++;
      row->sigma_hk_hs += F * (pe + lss_L - lss_R) * area;
      row->sigma_na += F * ((b->logp[L] - lss_L) - (b->logp[R] - lss_R)) * area;
    }
  }
  row->flux_form = interior_a7 + row->boundary;
  reconstruct_current(b, &faces);
  row->residual = row->dkl_dt - (-row->sigma_tot + row->q_hk + row->boundary);
  row->residual_a7 = row->dkl_dt - row->flux_form;
  row->split_residual =
      row->has_split ? row->sigma_tot - row->sigma_hk_hs - row->sigma_na : 0.0;
  if (!row->has_split) row->sigma_hk_hs = row->sigma_na = NAN;

  const double check[] = {row->kl, row->dkl_dt, row->flux_form, row->sigma_tot, row->q_hk,
                          row->boundary, row->mass};
  static const char *const names[] = {"kl", "dkl_dt", "flux_form", "sigma_tot", "q_hk",
                                      "boundary", "mass"};
  for (size_t k = 0; k < sizeof check / sizeof check[0]; k++)
    if (!isfinite(check[k]))
      return fp_fail(err, FP_ERR_NUMERIC, "balance column %s is not finite at t = %g", names[k], t);
  return FP_OK;
}

const double *fp_balance_current(const fp_balance *b) { return b->current; }
const double *fp_balance_production(const fp_balance *b) { return b->production; }
const double *fp_balance_log_ratio(const fp_balance *b) { return b->ell; }
