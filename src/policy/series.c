/* fpentropy: density series of a case and the exact mismatch matrix K (see policy_study.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/balance/balance.h>
#include <fpentropy/policy/policy_study.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"
#include "core/gsl_guard_impl.h"

typedef struct collector {
  fp_density_series *s;
  size_t capacity;
  bool failed;
} collector;

static int keep_density(double t, const double *p, size_t ncells, void *ctx)
{
  collector *c = ctx;
  fp_density_series *s = c->s;
  if (s->T == c->capacity) {
    c->failed = true;
    return 1;
  }
  s->t[s->T] = t;
  memcpy(s->p + s->T * ncells, p, ncells * sizeof *p);
  s->T++;
  return 0;
}

static int keep_row(const fp_balance_row *row, void *ctx)
{
  collector *c = ctx;
  /* rows arrive just before the density of the same time */
  c->s->kl[c->s->T] = row->kl;
  c->s->dkl_dt[c->s->T] = row->dkl_dt;
  return 0;
}

void fp_density_series_clear(fp_density_series *s)
{
  if (!s) return;
  free(s->t);
  free(s->p);
  free(s->kl);
  free(s->dkl_dt);
  free(s->dt);
  memset(s, 0, sizeof *s);
}

static int density_series_collect_unguarded(const fp_case *c, const fp_run_options *options,
                              fp_density_series *out, fp_error *err)
{
  memset(out, 0, sizeof *out);
  if (options->on_row || options->on_density)
    return fp_fail(err, FP_ERR_ARG, "fp_density_series_collect: the callbacks must be NULL");
  size_t T = c->n_output_times, n = c->grid.ncells;
  out->ncells = n;
  out->t = malloc(T * sizeof *out->t);
  out->p = malloc(T * n * sizeof *out->p);
  out->kl = malloc(T * sizeof *out->kl);
  out->dkl_dt = malloc(T * sizeof *out->dkl_dt);
  out->dt = malloc(T * sizeof *out->dt);
  if (!out->t || !out->p || !out->kl || !out->dkl_dt || !out->dt) {
    fp_density_series_clear(out);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu densities of %zu cells", T, n);
  }
  collector col = {out, T, false};
  fp_run_options opt = *options;
  opt.on_row = keep_row;
  opt.row_ctx = &col;
  opt.on_density = keep_density;
  opt.density_ctx = &col;
  int rc = fp_run_case(c, &opt, NULL, err);
  if (rc == FP_OK && out->T != T)
    rc = fp_fail(err, FP_ERR_ARG, "expected %zu output times, got %zu", T, out->T);
  if (rc != FP_OK) {
    fp_density_series_clear(out);
    return rc;
  }
  for (size_t k = 0; k < T; k++) out->dt[k] = k ? out->t[k] - out->t[k - 1] : 0.0;
  return FP_OK;
}

int fp_mismatch_matrix(const fp_grid *g, const fp_density_series *s, double *K, fp_error *err)
{
  const size_t T = s->T, n = s->ncells;
  double *logp = malloc(T * n * sizeof *logp);
  if (!logp) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the mismatch matrix");
  for (size_t q = 0; q < T * n; q++)
    logp[q] = log(s->p[q] > FP_BALANCE_FLOOR ? s->p[q] : FP_BALANCE_FLOOR);
  int rc = FP_OK;
  for (size_t k = 0; k < T && rc == FP_OK; k++)
    for (size_t j = 0; j < T; j++) {
      double sum = 0.0;
      if (j < k) {
        const double *pk = s->p + k * n, *lk = logp + k * n, *lj = logp + j * n;
        for (size_t i = 0; i < n; i++) sum += pk[i] * (lk[i] - lj[i]);
        sum *= g->cell_volume;
        if (!isfinite(sum)) {
          rc = fp_fail(err, FP_ERR_NUMERIC, "KL(p(t=%g) || p(t=%g)) is not finite", s->t[k], s->t[j]);
          break;
        }
      }
      K[k * T + j] = sum;
    }
  free(logp);
  return rc;
}

void fp_density_series_problem(const fp_density_series *s, const double *K, fp_retrain_problem *pb)
{
  memset(pb, 0, sizeof *pb);
  pb->T = s->T;
  pb->K = K;
  pb->D0 = s->kl;
  pb->dt = s->dt;
  pb->t = s->t;
}

/* Public entry points: GSL's handler off for the call (core/gsl_guard_impl.h). */

int fp_density_series_collect(const fp_case *c, const fp_run_options *options,
                              fp_density_series *out, fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = density_series_collect_unguarded(c, options, out, err);
  fp_gsl_guard_end(guard);
  return rc;
}
