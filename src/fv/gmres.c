/* fpentropy (internal): restarted GMRES with right preconditioning (see gmres_impl.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "fv/gmres_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_impl.h"
#include "core/error_impl.h"

struct fp_gmres {
  size_t n;
  int m;
  double *V;          /* (m + 1) n: the Krylov basis */
  double *w, *z;      /* n each */
  double *H;          /* (m + 1) m, row-major */
  double *cs, *sn, *g, *y;
};

void fp_gmres_destroy(fp_gmres **g)
{
  if (!g || !*g) return;
  fp_gmres *x = *g;
  free(x->V);
  free(x->w);
  free(x->z);
  free(x->H);
  free(x->cs);
  free(x->sn);
  free(x->g);
  free(x->y);
  free(x);
  *g = NULL;
}

int fp_gmres_create(size_t n, int m, fp_gmres **out, fp_error *err)
{
  *out = NULL;
  fp_gmres *g = calloc(1, sizeof *g);
  if (!g) return fp_fail(err, FP_ERR_NOMEM, "out of memory for GMRES");
  g->n = n;
  g->m = m;
  g->V = fp_alloc_large((size_t)(m + 1) * n * sizeof *g->V);
  g->w = fp_alloc_large(n * sizeof *g->w);
  g->z = fp_alloc_large(n * sizeof *g->z);
  g->H = calloc((size_t)(m + 1) * (size_t)m, sizeof *g->H);
  g->cs = malloc((size_t)m * sizeof *g->cs);
  g->sn = malloc((size_t)m * sizeof *g->sn);
  g->g = malloc((size_t)(m + 1) * sizeof *g->g);
  g->y = malloc((size_t)m * sizeof *g->y);
  if (!g->V || !g->w || !g->z || !g->H || !g->cs || !g->sn || !g->g || !g->y) {
    fp_gmres_destroy(&g);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for GMRES with %zu unknowns", n);
  }
  *out = g;
  return FP_OK;
}

static double norm2(const double *a, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += a[i] * a[i];
  return sqrt(s);
}

bool fp_gmres_solve(fp_gmres *g, const fp_gmres_ops *ops, const double *b, double *x, double atol,
                    double xscale, int max_iter, int *iters, double *residual)
{
  const size_t n = g->n;
  const int m = g->m;
  int total = 0;
  bool converged = false;
  double beta = INFINITY;
  for (;;) {
    /* r = b - A x */
    double *r = g->V;
    ops->apply(ops->ctx, x, r);
    for (size_t i = 0; i < n; i++) r[i] = (b ? b[i] : 0.0) - r[i];
    beta = norm2(r, n);
    double stop = atol + xscale * norm2(x, n);
    if (beta <= stop) {
      converged = true;
      break;
    }
    if (total >= max_iter) break;
    for (size_t i = 0; i < n; i++) r[i] /= beta;
    for (int k = 0; k <= m; k++) g->g[k] = 0.0;
    g->g[0] = beta;
    int k = 0;
    for (; k < m && total < max_iter; k++, total++) {
      double *vk = g->V + (size_t)k * n, *vn = g->V + (size_t)(k + 1) * n;
      ops->precond(ops->ctx, vk, g->z);
      ops->apply(ops->ctx, g->z, vn);
      /* modified Gram-Schmidt, one pass (the residuals asked for are far
       * above where GMRES needs reorthogonalisation) */
      for (int j = 0; j <= k; j++) {
        const double *vj = g->V + (size_t)j * n;
        double h = 0.0;
        for (size_t i = 0; i < n; i++) h += vn[i] * vj[i];
        for (size_t i = 0; i < n; i++) vn[i] -= h * vj[i];
        g->H[j * m + k] = h;
      }
      double hn = norm2(vn, n);
      if (hn > 0.0)
        for (size_t i = 0; i < n; i++) vn[i] /= hn;
      for (int j = 0; j < k; j++) {
        double a = g->H[j * m + k], c = g->H[(j + 1) * m + k];
        g->H[j * m + k] = g->cs[j] * a + g->sn[j] * c;
        g->H[(j + 1) * m + k] = -g->sn[j] * a + g->cs[j] * c;
      }
      double a = g->H[k * m + k], d = hypot(a, hn);
      g->cs[k] = d > 0.0 ? a / d : 1.0;
      g->sn[k] = d > 0.0 ? hn / d : 0.0;
      g->H[k * m + k] = d;
      g->g[k + 1] = -g->sn[k] * g->g[k];
      g->g[k] = g->cs[k] * g->g[k];
      if (fabs(g->g[k + 1]) <= stop || hn == 0.0) {
        k++;
        total++;
        break;
      }
    }
    /* y = H^-1 g (upper triangular k x k); x += M^-1 V y */
    for (int j = k - 1; j >= 0; j--) {
      double sum = g->g[j];
      for (int l = j + 1; l < k; l++) sum -= g->H[j * m + l] * g->y[l];
      g->y[j] = sum / g->H[j * m + j];
    }
    memset(g->w, 0, n * sizeof *g->w);
    for (int j = 0; j < k; j++) {
      const double *vj = g->V + (size_t)j * n;
      for (size_t i = 0; i < n; i++) g->w[i] += g->y[j] * vj[i];
    }
    ops->precond(ops->ctx, g->w, g->z);
    for (size_t i = 0; i < n; i++) x[i] += g->z[i];
  }
  if (iters) *iters = total;
  if (residual) *residual = beta;
  return converged;
}
