/* fpentropy (internal): fast-transform preconditioner (see precond_fft.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "fv/precond_fft.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

struct fp_precond_fft {
  fp_grid grid;
  double *work;                   /* fftw_malloc'd, ncells */
  fftw_plan forward, inverse;
  double *lambda[FP_MAX_DIM];     /* eigenvalues of -Delta_k per mode index (>= 0) */
  double scale;                   /* 1 / (product of the transforms' normalisations) */
};

void fp_precond_fft_destroy(fp_precond_fft **p)
{
  if (!p || !*p) return;
  fp_precond_fft *q = *p;
  if (q->forward) fftw_destroy_plan(q->forward);
  if (q->inverse) fftw_destroy_plan(q->inverse);
  if (q->work) fftw_free(q->work);
  for (int k = 0; k < FP_MAX_DIM; k++) free(q->lambda[k]);
  free(q);
  *p = NULL;
}

int fp_precond_fft_create(const fp_grid *g, bool measure, fp_precond_fft **out, fp_error *err)
{
  *out = NULL;
  fp_precond_fft *q = calloc(1, sizeof *q);
  if (!q) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the FFT preconditioner");
  q->grid = *g;
  q->work = fftw_malloc(g->ncells * sizeof *q->work);
  int rank = g->dim;
  int n[FP_MAX_DIM];
  fftw_r2r_kind fwd[FP_MAX_DIM], inv[FP_MAX_DIM];
  double norm = 1.0;
  if (!q->work) goto fail_nomem;
  for (int k = 0; k < g->dim; k++) {
    size_t nk = g->n[k];
    /* FFTW is row-major (last index fastest); our x varies fastest. */
    int r = rank - 1 - k;
    n[r] = (int)nk;
    q->lambda[k] = malloc(nk * sizeof *q->lambda[k]);
    if (!q->lambda[k]) goto fail_nomem;
    double h2 = g->h[k] * g->h[k];
    for (size_t m = 0; m < nk; m++) {
      double s;
      switch (g->bc[k]) {
      case FP_BC_PERIODIC: { /* half-complex index m holds frequency min(m, n-m) */
        size_t freq = m <= nk / 2 ? m : nk - m;
        s = sin(M_PI * (double)freq / (double)nk);
        break;
      }
      case FP_BC_ABSORBING: s = sin(M_PI * (double)(m + 1) / (2.0 * (double)nk)); break;
      default: s = sin(M_PI * (double)m / (2.0 * (double)nk)); break;
      }
      q->lambda[k][m] = 4.0 * s * s / h2;
    }
    switch (g->bc[k]) {
    case FP_BC_PERIODIC: fwd[r] = FFTW_R2HC, inv[r] = FFTW_HC2R, norm *= (double)nk; break;
    case FP_BC_ABSORBING: fwd[r] = FFTW_RODFT10, inv[r] = FFTW_RODFT01, norm *= 2.0 * (double)nk; break;
    default: fwd[r] = FFTW_REDFT10, inv[r] = FFTW_REDFT01, norm *= 2.0 * (double)nk; break;
    }
  }
  q->scale = 1.0 / norm;
  /* MEASURE overwrites the array while planning: plans come before use. */
  unsigned flags = measure ? FFTW_MEASURE : FFTW_ESTIMATE;
  q->forward = fftw_plan_r2r(rank, n, q->work, q->work, fwd, flags);
  q->inverse = fftw_plan_r2r(rank, n, q->work, q->work, inv, flags);
  if (!q->forward || !q->inverse) {
    fp_precond_fft_destroy(&q);
    return fp_fail(err, FP_ERR_UNSUPPORTED, "FFTW could not plan the preconditioner transforms");
  }
  *out = q;
  return FP_OK;
fail_nomem:
  fp_precond_fft_destroy(&q);
  return fp_fail(err, FP_ERR_NOMEM, "out of memory for the FFT preconditioner");
}

void fp_precond_fft_solve(fp_precond_fft *p, double gamma, const double D[FP_MAX_DIM],
                          const double *r, double *z)
{
  const fp_grid *g = &p->grid;
  double *w = p->work;
  memcpy(w, r, g->ncells * sizeof *w);
  fftw_execute(p->forward);
  double gD[FP_MAX_DIM];
  for (int k = 0; k < FP_MAX_DIM; k++) gD[k] = k < g->dim ? gamma * D[k] : 0.0;
  const double *l0 = p->lambda[0];
  const double *l1 = g->dim > 1 ? p->lambda[1] : NULL;
  const double *l2 = g->dim > 2 ? p->lambda[2] : NULL;
  size_t cell = 0;
  for (size_t i2 = 0; i2 < g->n[2]; i2++) {
    double a2 = l2 ? gD[2] * l2[i2] : 0.0;
    for (size_t i1 = 0; i1 < g->n[1]; i1++) {
      double a1 = a2 + (l1 ? gD[1] * l1[i1] : 0.0);
      for (size_t i0 = 0; i0 < g->n[0]; i0++, cell++)
        w[cell] *= p->scale / (1.0 + a1 + gD[0] * l0[i0]);
    }
  }
  fftw_execute(p->inverse);
  memcpy(z, w, g->ncells * sizeof *z);
}

void fp_precond_fft_solve_diffusion(fp_precond_fft *p, const double D[FP_MAX_DIM], const double *r,
                                    double *z)
{
  const fp_grid *g = &p->grid;
  double *w = p->work;
  memcpy(w, r, g->ncells * sizeof *w);
  fftw_execute(p->forward);
  double Dk[FP_MAX_DIM];
  for (int k = 0; k < FP_MAX_DIM; k++) Dk[k] = k < g->dim ? D[k] : 0.0;
  const double *l0 = p->lambda[0];
  const double *l1 = g->dim > 1 ? p->lambda[1] : NULL;
  const double *l2 = g->dim > 2 ? p->lambda[2] : NULL;
  size_t cell = 0;
  for (size_t i2 = 0; i2 < g->n[2]; i2++) {
    double a2 = l2 ? Dk[2] * l2[i2] : 0.0;
    for (size_t i1 = 0; i1 < g->n[1]; i1++) {
      double a1 = a2 + (l1 ? Dk[1] * l1[i1] : 0.0);
      for (size_t i0 = 0; i0 < g->n[0]; i0++, cell++) {
        double a = a1 + Dk[0] * l0[i0]; /* eigenvalue of -sum D_k Delta_k, >= 0 */
        w[cell] = a > 0.0 ? -w[cell] * p->scale / a : 0.0;
      }
    }
  }
  fftw_execute(p->inverse);
  memcpy(z, w, g->ncells * sizeof *z);
}
