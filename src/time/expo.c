/* fpentropy (internal): Krylov exponential integrator (see expo_impl.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "time/expo_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_impl.h"
#include "core/error_impl.h"
#include "time/chebyshev_impl.h"

#if FP_EXPO_GROUP > FP_CHEB_MAX_OUTPUTS || FP_EXPO_GROUP + 3 > FP_EXPO_KRYLOV_MAX + 1
#error "the outputs of a Chebyshev series and its work vectors live in the Krylov basis"
#endif

#define MMAX FP_EXPO_KRYLOV_MAX
/* basis sizes at which the error estimate is checked */
static const int checkpoints[] = {8, 12, 16, 20, 25, MMAX};
#define N_CHECKPOINTS (sizeof checkpoints / sizeof checkpoints[0])
/* step growth per step at most, and the shrink factor on a rejection */
#define GROW_MAX 10.0
#define SHRINK 0.5

struct fp_expo {
  fp_operator *op;
  fp_expo_options opt;
  size_t n;
  double t;
  double tau;         /* the step the last estimate allowed (not cut by outputs) */
  double *p, *w;      /* state, weights */
  double *V;          /* (MMAX + 1) x n basis */
  double H[MMAX + 1][MMAX];
  double rho;         /* spectral bound of L for the Chebyshev steps; 0 until known */
  fp_stencil *scaled; /* (4 / rho) L for the recurrence, once rho is known */
  double *sched;      /* the output times (copy of opt.output_times), nsched of them */
  size_t nsched;
  int group;          /* outputs per Chebyshev series (halved when one fails) */
  /* outputs a multi-output series computed ahead: ahead_t[j] for
   * j in [ahead_next, ahead_count), held in the basis' slots V + j n */
  int ahead_count, ahead_next;
  double ahead_t[FP_CHEB_MAX_OUTPUTS];
  double *coef;       /* Chebyshev coefficients, coef_cap of them */
  int coef_cap;
  fp_expo_stats stats;
};

void fp_expo_destroy(fp_expo **ep)
{
  if (!ep || !*ep) return;
  fp_expo *e = *ep;
  free(e->p);
  free(e->w);
  free(e->V);
  free(e->coef);
  free(e->sched);
  fp_stencil_destroy(&e->scaled);
  free(e);
  *ep = NULL;
}

int fp_expo_create(fp_operator *op, double t0, const double *p0, const fp_expo_options *opt,
                   fp_expo **out, fp_error *err)
{
  *out = NULL;
  if (fp_operator_time_dependent(op))
    return fp_fail(err, FP_ERR_UNSUPPORTED,
                   "the exponential integrator needs time-independent fields (use cvode)");
  fp_expo *e = calloc(1, sizeof *e);
  if (!e) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the exponential integrator");
  e->op = op;
  e->opt = *opt;
  e->n = fp_operator_grid(op)->ncells;
  e->t = t0;
  e->rho = e->stats.spectral_bound = opt->spectral_bound > 0.0 ? opt->spectral_bound : 0.0;
  e->p = fp_alloc_large(e->n * sizeof *e->p);
  e->w = fp_alloc_large(e->n * sizeof *e->w);
  e->V = fp_alloc_large((size_t)(MMAX + 1) * e->n * sizeof *e->V);
  if (!e->p || !e->w || !e->V) {
    fp_expo_destroy(&e);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for the Krylov basis (%d x %zu)", MMAX + 1,
                   e ? e->n : 0);
  }
  memcpy(e->p, p0, e->n * sizeof *p0);
  e->stats.last_krylov_dim = 0;
  e->group = FP_EXPO_GROUP;
  if (opt->output_times && opt->n_output_times > 0) {
    e->sched = malloc(opt->n_output_times * sizeof *e->sched);
    if (!e->sched) {
      fp_expo_destroy(&e);
      return fp_fail(err, FP_ERR_NOMEM, "out of memory for the output times");
    }
    memcpy(e->sched, opt->output_times, opt->n_output_times * sizeof *e->sched);
    e->nsched = opt->n_output_times;
  }
  *out = e;
  return FP_OK;
}

double *fp_expo_state(fp_expo *e) { return e->p; }
void fp_expo_get_stats(const fp_expo *e, fp_expo_stats *st) { *st = e->stats; }

/* ---- small dense exponential: F = exp(A), A m x m (m <= MMAX) -------------
 * Scaling and squaring with a Taylor polynomial of degree 18 on A / 2^s,
 * ||A / 2^s||_1 <= 1/2: truncation (1/2)^19 / 19! ~ 1e-23. */
static void matmul(int m, double A[MMAX][MMAX], double B[MMAX][MMAX], double C[MMAX][MMAX])
{
  for (int i = 0; i < m; i++)
    for (int j = 0; j < m; j++) {
      double s = 0.0;
      for (int k = 0; k < m; k++) s += A[i][k] * B[k][j];
      C[i][j] = s;
    }
}

static void expm(int m, double A[MMAX][MMAX], double F[MMAX][MMAX])
{
  double norm = 0.0;
  for (int j = 0; j < m; j++) {
    double s = 0.0;
    for (int i = 0; i < m; i++) s += fabs(A[i][j]);
    norm = fmax(norm, s);
  }
  int s = 0;
  while (norm > 0.5 && s < 1000) norm *= 0.5, s++;
  double scale = ldexp(1.0, -s);
  static const int degree = 18;
  double X[MMAX][MMAX], T[MMAX][MMAX], P[MMAX][MMAX];
  for (int i = 0; i < m; i++)
    for (int j = 0; j < m; j++) X[i][j] = A[i][j] * scale;
  /* Horner: F = I + X (I + X/2 (I + X/3 (...))) */
  for (int i = 0; i < m; i++)
    for (int j = 0; j < m; j++) F[i][j] = (i == j) ? 1.0 : 0.0;
  for (int k = degree; k >= 1; k--) {
    matmul(m, X, F, T);
    for (int i = 0; i < m; i++)
      for (int j = 0; j < m; j++) F[i][j] = (i == j ? 1.0 : 0.0) + T[i][j] / k;
  }
  for (int q = 0; q < s; q++) {
    matmul(m, F, F, P);
    memcpy(F, P, sizeof P);
  }
}

/* y = exp(tau H_j) e_1 (j entries). */
static void exp_column(const fp_expo *e, int j, double tau, double *y)
{
  double A[MMAX][MMAX], F[MMAX][MMAX];
  for (int a = 0; a < j; a++)
    for (int b = 0; b < j; b++) A[a][b] = tau * e->H[a][b];
  expm(j, A, F);
  for (int a = 0; a < j; a++) y[a] = F[a][0];
}

static double wrms(const double *x, const double *w, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    double q = x[i] * w[i];
    s += q * q;
  }
  return sqrt(s / (double)n);
}

/* Largest tau <= want (halving) with estimate <= 1 on a basis of size j;
 * est_scale = beta h_{j+1,j} ||v_{j+1}||_wrms.  Returns 0 if none down to
 * want 2^-40. */
static double admissible_tau(const fp_expo *e, int j, double est_scale, double want, double *y,
                             double *estimate)
{
  double tau = want;
  for (int k = 0; k < 40; k++, tau *= SHRINK) {
    exp_column(e, j, tau, y);
    double est = est_scale * fabs(y[j - 1]);
    if (est <= 1.0) {
      *estimate = est;
      return tau;
    }
  }
  return 0.0;
}

/* An accepted result x: values in (-atol, 0) set to 0 and counted, the mass
 * restored to mass0 (no absorbing walls). */
static void clean(fp_expo *e, double *x, double mass0)
{
  const size_t n = e->n;
  if (e->opt.nonnegative)
    for (size_t q = 0; q < n; q++)
      if (x[q] < 0.0) x[q] = 0.0, e->stats.zeroed++;
  if (e->opt.conserving) {
    double mass = 0.0;
    for (size_t q = 0; q < n; q++) mass += x[q];
    if (mass > 0.0) {
      double f = mass0 / mass;
      for (size_t q = 0; q < n; q++) x[q] *= f;
    }
  }
}

/* The time and the statistics moved on after an accepted step. */
static void advance_time(fp_expo *e, double tau, double remaining, double t_out)
{
  /* the next step starts from what this one allowed, unless the output
   * time cut it short */
  if (tau < remaining || e->tau == 0.0) e->tau = tau;
  e->t = tau >= remaining ? t_out : e->t + tau;
  e->stats.steps++;
  e->stats.last_step = tau;
}

/* What every accepted step does after p holds the new state. */
static void finish_step(fp_expo *e, double mass0, double tau, double remaining, double t_out)
{
  clean(e, e->p, mass0);
  advance_time(e, tau, remaining, t_out);
}

/* One Chebyshev series (chebyshev_impl.h) over the whole way to t_out, and
 * on to the next output times of the schedule (up to e->group of them, a
 * multi-output step): the terms are the same vectors T_k(A) p for all of
 * them, only the coefficients differ, so the outputs after the first cost
 * their share of one longer recurrence instead of a series each (K grows
 * like the square root of the span).  Each output's truncation error is at
 * most tail_j * max_{k <= K_j} |T_k(A) p| in every component; an output is
 * taken only when that is within CHEB_ERROR atol (a stricter test than the
 * Krylov step's weighted norm) and it has no value below -atol, and the
 * outputs after the first only in order, up to the first that fails (the
 * group size is then halved).  *taken says whether t_out was reached (if
 * not, the Krylov step does it). */
#define CHEB_ERROR 0.1
#define CHEB_MAX_TERMS 20000
static int cheb_step(fp_expo *e, double t_out, bool *taken, fp_error *err)
{
  *taken = false;
  const size_t n = e->n;
  double *p = e->p;
  if (e->rho == 0.0) e->rho = e->stats.spectral_bound = fp_cheb_spectral_bound(e->op);
  if (!(e->rho > 0.0) || !isfinite(e->rho)) return FP_OK;
  if (!e->scaled && fp_operator_stencil(e->op)) {
    int rc = fp_cheb_stencil_create(e->op, e->rho, &e->scaled, err);
    if (rc != FP_OK) return rc;
  }
  double remaining = t_out - e->t;
  double pmax = 0.0, mass0 = 0.0;
  for (size_t i = 0; i < n; i++) pmax = fmax(pmax, fabs(p[i])), mass0 += p[i];
  if (pmax == 0.0) {
    e->t = t_out;
    *taken = true;
    return FP_OK;
  }
  /* the output times of this series: t_out and the scheduled ones after it */
  double times[FP_CHEB_MAX_OUTPUTS];
  int nout = 0;
  times[nout++] = t_out;
  for (size_t q = 0; q < e->nsched && nout < e->group; q++)
    if (e->sched[q] > times[nout - 1]) times[nout++] = e->sched[q];
  int cap = fp_cheb_terms_bound(0.5 * e->rho * (times[nout - 1] - e->t)) + 1;
  if (cap > CHEB_MAX_TERMS) {
    nout = 1;
    cap = fp_cheb_terms_bound(0.5 * e->rho * remaining) + 1;
    if (cap > CHEB_MAX_TERMS) return FP_OK;
  }
  if ((size_t)cap * (size_t)nout > (size_t)e->coef_cap) {
    double *c = realloc(e->coef, (size_t)cap * (size_t)nout * sizeof *c);
    if (!c) return fp_fail(err, FP_ERR_NOMEM, "out of memory for %d Chebyshev coefficients", cap);
    e->coef = c, e->coef_cap = cap * nout;
  }
  /* aim at half the allowed error, assuming |T_k(A) p| <= 2 |p| */
  double tail[FP_CHEB_MAX_OUTPUTS], growth[FP_CHEB_MAX_OUTPUTS];
  int K[FP_CHEB_MAX_OUTPUTS];
  const double *coef[FP_CHEB_MAX_OUTPUTS];
  double *out[FP_CHEB_MAX_OUTPUTS];
  for (int j = 0; j < nout; j++) {
    double *c = e->coef + (size_t)j * (size_t)cap;
    K[j] = fp_cheb_coefficients(0.5 * e->rho * (times[j] - e->t),
                                0.25 * CHEB_ERROR * e->opt.atol / pmax, c, cap, &tail[j]);
    if (K[j] < 0 || (j > 0 && K[j] < K[j - 1])) { /* unusable: keep what came before */
      nout = j;
      break;
    }
    coef[j] = c;
    out[j] = e->V + (size_t)j * n;
  }
  if (nout == 0) return FP_OK;
  double *work = e->V + (size_t)nout * n;
  fp_cheb_apply(e->op, e->scaled, e->rho, nout, coef, K, p, out, work, n, growth);
  e->stats.applications += K[nout - 1];
  int accepted = 0;
  for (; accepted < nout; accepted++) {
    int j = accepted;
    bool ok = tail[j] * growth[j] <= CHEB_ERROR * e->opt.atol;
    if (ok && e->opt.nonnegative)
      for (size_t i = 0; i < n && ok; i++) ok = out[j][i] >= -e->opt.atol;
    if (!ok) break;
    clean(e, out[j], mass0);
  }
  if (accepted < nout && e->group > 1) e->group /= 2;
  if (accepted == 0) return FP_OK;
  memcpy(p, out[0], n * sizeof *p); /* cleaned above */
  e->stats.chebyshev_steps++;
  e->stats.last_krylov_dim = K[0];
  advance_time(e, remaining, remaining, t_out);
  for (int j = 1; j < accepted; j++) e->ahead_t[j] = times[j];
  e->ahead_count = accepted;
  e->ahead_next = 1;
  *taken = true;
  return FP_OK;
}

/* The next output computed ahead, if t_out is its time and the state is
 * still the previous output as handed out (nobody changed it since). */
static bool take_ahead(fp_expo *e, double t_out)
{
  const size_t n = e->n;
  int j = e->ahead_next;
  if (j <= 0 || j >= e->ahead_count || e->ahead_t[j] != t_out || !(e->t < t_out) ||
      memcmp(e->p, e->V + (size_t)(j - 1) * n, n * sizeof *e->p) != 0) {
    e->ahead_count = e->ahead_next = 0;
    return false;
  }
  memcpy(e->p, e->V + (size_t)j * n, n * sizeof *e->p);
  e->stats.last_step = t_out - e->t;
  e->t = t_out;
  e->stats.steps++;
  e->stats.chebyshev_steps++;
  e->ahead_next++;
  return true;
}

static int step(fp_expo *e, double t_out, fp_error *err)
{
  bool taken;
  int rc = cheb_step(e, t_out, &taken, err);
  if (rc != FP_OK || taken) return rc;
  e->ahead_count = e->ahead_next = 0; /* the basis is about to be overwritten */
  const size_t n = e->n;
  double *p = e->p, *V = e->V;
  double beta = 0.0, mass0 = 0.0;
  for (size_t i = 0; i < n; i++) {
    beta += p[i] * p[i];
    mass0 += p[i];
    e->w[i] = 1.0 / (e->opt.rtol * fabs(p[i]) + e->opt.atol);
  }
  beta = sqrt(beta);
  double remaining = t_out - e->t;
  if (beta == 0.0) {
    e->t = t_out;
    return FP_OK;
  }
  double want = e->tau > 0.0 ? fmin(remaining, GROW_MAX * e->tau) : remaining;
  for (size_t i = 0; i < n; i++) V[i] = p[i] / beta;
  double y[MMAX];
  double tau = 0.0, estimate = 0.0;
  int used = 0;
  size_t next_check = 0;
  for (int j = 0; j < MMAX; j++) {
    double *vj = V + (size_t)j * n, *vn = V + (size_t)(j + 1) * n;
    fp_operator_apply(e->op, vj, vn);
    e->stats.applications++;
    for (int i = 0; i <= j; i++) {
      const double *vi = V + (size_t)i * n;
      double h = 0.0;
      for (size_t q = 0; q < n; q++) h += vn[q] * vi[q];
      e->H[i][j] = h;
      for (size_t q = 0; q < n; q++) vn[q] -= h * vi[q];
    }
    for (int i = j + 1; i <= MMAX; i++) e->H[i][j] = 0.0;
    double hn = 0.0;
    for (size_t q = 0; q < n; q++) hn += vn[q] * vn[q];
    hn = sqrt(hn);
    e->H[j + 1][j] = hn;
    int size = j + 1;
    /* happy breakdown: the Krylov space is invariant, exp is exact */
    bool breakdown = !(hn > 1e-14 * fabs(e->H[j][j]) + 1e-300);
    if (breakdown) {
      tau = want;
      exp_column(e, size, tau, y);
      estimate = 0.0;
      used = size;
      break;
    }
    for (size_t q = 0; q < n; q++) vn[q] /= hn;
    if (next_check < N_CHECKPOINTS && size == checkpoints[next_check]) {
      next_check++;
      double scale = beta * hn * wrms(vn, e->w, n);
      exp_column(e, size, want, y);
      double est = scale * fabs(y[size - 1]);
      if (est <= 1.0) {
        tau = want, estimate = est, used = size;
        break;
      }
      if (size == MMAX) {
        tau = admissible_tau(e, size, scale, want * SHRINK, y, &estimate);
        used = size;
        if (tau == 0.0)
          return fp_fail(err, FP_ERR_SOLVER,
                         "exponential integrator: no admissible step at t = %g (Krylov dimension %d)",
                         e->t, MMAX);
      }
    }
  }
  /* p = beta V y; reject (halve tau) while a value falls below -atol */
  for (int attempt = 0;; attempt++) {
    double neg = 0.0;
    for (size_t q = 0; q < n; q++) p[q] = 0.0;
    for (int i = 0; i < used; i++) {
      const double *vi = V + (size_t)i * n;
      double c = beta * y[i];
      for (size_t q = 0; q < n; q++) p[q] += c * vi[q];
    }
    if (e->opt.nonnegative)
      for (size_t q = 0; q < n; q++) neg = fmin(neg, p[q]);
    if (neg >= -e->opt.atol) break;
    if (attempt == 40)
      return fp_fail(err, FP_ERR_SOLVER,
                     "exponential integrator: negative density %g at t = %g for every step tried",
                     neg, e->t);
    e->stats.rejected++;
    tau *= SHRINK;
    exp_column(e, used, tau, y);
  }
  finish_step(e, mass0, tau, remaining, t_out);
  e->stats.last_krylov_dim = used;
  (void)estimate;
  return FP_OK;
}

int fp_expo_advance(fp_expo *e, double t_out, fp_error *err)
{
  if (take_ahead(e, t_out)) return FP_OK;
  long steps = 0;
  while (e->t < t_out) {
    if (e->opt.interrupted && *e->opt.interrupted)
      return fp_fail(err, FP_ERR_INTERRUPTED, "interrupted at t = %g", e->t);
    if (++steps > e->opt.max_steps)
      return fp_fail(err, FP_ERR_SOLVER, "exponential integrator: more than %ld steps before t = %g",
                     e->opt.max_steps, t_out);
    int rc = step(e, t_out, err);
    if (rc != FP_OK) return rc;
  }
  return FP_OK;
}
