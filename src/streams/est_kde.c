/* fpentropy: "kde", binned FFT kernel density estimate with leave-one-out
 * resubstitution.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   D^ = (1/n) sum_i [ln f^_{-i}(X_i) - ln q(X_i)]
 * f^ is the Gaussian product-kernel estimate with bandwidth h_a per axis,
 * computed on a regular grid (linear binning, FFT convolution with the
 * sampled and normalised kernel, r2c/c2r) and interpolated multilinearly at
 * the samples.  The estimate is linear in the binned counts, so the sample's
 * own contribution to f^(X_i) is known exactly:
 *   self_i = (1/n) prod_a [(w0^2 + w1^2) kappa_a(0) + 2 w0 w1 kappa_a(1)]
 * (w0, w1: the sample's linear-binning = interpolation weights on axis a;
 * kappa_a(j): the discrete kernel at offset j), and
 *   f^_{-i}(X_i) = n (f^(X_i) - self_i)/(n - 1)
 * is the exact leave-one-out value of the binned estimator.
 * Why resubstitution rather than the grid quadrature int f^ ln(f^/q): its
 * smoothing bias is -KL(p || p*K_h) = O(h^4) (E_p ln(p*K_h) is a
 * cross-entropy) where the quadrature's is O(h^2), the q-term is an unbiased
 * sample mean, and q is needed only at the samples, so a q supported on the
 * PDE box works although the padded grid extends beyond it.
 * Bandwidths (silverman, scott, isj) and all constants: docs/estimators.md. */
#include <fftw3.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>

#include "core/error_impl.h"
#include "streams/estimator_impl.h"

enum { P_BW, P_GRID, P_PAD };
enum { BW_SILVERMAN, BW_SCOTT, BW_ISJ };

#define KDE_MAX_TOTAL ((size_t)1 << 24) /* grid points in all */
#define ISJ_GRID 1024                   /* Botev's and KDEpy's grid */
#define ISJ_L 7                         /* Botev's number of stages */
#define ISJ_MAX_ITER 200
/* Floor for f^_{-i}: below the FFT's round-off relative to max f^. */
#define KDE_FLOOR_REL 1e-12

typedef struct kde_work {
  double *col; /* sorted copy of one coordinate */
  size_t col_cap;
  /* the density grid: geometry of the current plans */
  int dim;
  size_t G[FP_MAX_DIM], total, half; /* half: complex entries of the r2c output */
  double *grid;                      /* total reals (fftw_malloc) */
  fftw_complex *spec;                /* half complex (fftw_malloc) */
  fftw_plan fwd, inv;
  double *kbuf[FP_MAX_DIM];          /* G_a reals: the kernel, wrapped */
  fftw_complex *kspec[FP_MAX_DIM];   /* G_a/2+1 */
  fftw_plan kplan[FP_MAX_DIM];
  double *khat[FP_MAX_DIM];          /* G_a: DFT of the kernel (real) */
  /* ISJ */
  double *isj;                       /* ISJ_GRID reals (fftw_malloc) */
  fftw_plan isj_plan;                /* REDFT10, in place */
  double a2[ISJ_GRID];               /* squared DCT coefficients, k >= 1 */
  gsl_root_fsolver *solver;
} kde_work;

static void free_grid(kde_work *w)
{
  if (w->fwd) fftw_destroy_plan(w->fwd);
  if (w->inv) fftw_destroy_plan(w->inv);
  w->fwd = w->inv = NULL;
  fftw_free(w->grid);
  fftw_free(w->spec);
  w->grid = NULL;
  w->spec = NULL;
  for (int a = 0; a < FP_MAX_DIM; a++) {
    if (w->kplan[a]) fftw_destroy_plan(w->kplan[a]);
    w->kplan[a] = NULL;
    fftw_free(w->kbuf[a]);
    fftw_free(w->kspec[a]);
    free(w->khat[a]);
    w->kbuf[a] = NULL;
    w->kspec[a] = NULL;
    w->khat[a] = NULL;
    w->G[a] = 0;
  }
  w->dim = 0;
  w->total = w->half = 0;
}

static void kde_free(void *ptr)
{
  kde_work *w = ptr;
  if (!w) return;
  free_grid(w);
  if (w->isj_plan) fftw_destroy_plan(w->isj_plan);
  fftw_free(w->isj);
  if (w->solver) gsl_root_fsolver_free(w->solver);
  free(w->col);
  free(w);
}

/* Make the grid arrays and plans for dim and G (kept when unchanged). */
static int setup_grid(kde_work *w, int dim, const size_t *G, fp_error *err)
{
  int same = w->dim == dim && w->grid;
  for (int a = 0; a < dim && same; a++) same = w->G[a] == G[a];
  if (same) return FP_OK;
  free_grid(w);
  size_t total = 1, half;
  for (int a = 0; a < dim; a++) total *= G[a];
  half = total / G[0] * (G[0] / 2 + 1);
  w->grid = fftw_malloc(total * sizeof *w->grid);
  w->spec = fftw_malloc(half * sizeof *w->spec);
  if (!w->grid || !w->spec) goto nomem;
  int n[FP_MAX_DIM];
  for (int a = 0; a < dim; a++) n[dim - 1 - a] = (int)G[a]; /* FFTW: last index fastest */
  w->fwd = fftw_plan_dft_r2c(dim, n, w->grid, w->spec, FFTW_ESTIMATE);
  w->inv = fftw_plan_dft_c2r(dim, n, w->spec, w->grid, FFTW_ESTIMATE);
  if (!w->fwd || !w->inv) goto noplan;
  for (int a = 0; a < dim; a++) {
    w->kbuf[a] = fftw_malloc(G[a] * sizeof *w->kbuf[a]);
    w->kspec[a] = fftw_malloc((G[a] / 2 + 1) * sizeof *w->kspec[a]);
    w->khat[a] = malloc(G[a] * sizeof *w->khat[a]);
    if (!w->kbuf[a] || !w->kspec[a] || !w->khat[a]) goto nomem;
    w->kplan[a] = fftw_plan_dft_r2c_1d((int)G[a], w->kbuf[a], w->kspec[a], FFTW_ESTIMATE);
    if (!w->kplan[a]) goto noplan;
    w->G[a] = G[a];
  }
  w->dim = dim;
  w->total = total;
  w->half = half;
  return FP_OK;
nomem:
  free_grid(w);
  return fp_fail(err, FP_ERR_NOMEM, "out of memory for a KDE grid of %zu points", total);
noplan:
  free_grid(w);
  return fp_fail(err, FP_ERR_UNSUPPORTED, "FFTW could not plan the KDE transforms");
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Quantile of sorted data, linear interpolation between order statistics
 * (numpy's default, Hyndman-Fan type 7). */
static double quantile_sorted(const double *s, size_t n, double q)
{
  double pos = q * (double)(n - 1);
  size_t i = (size_t)floor(pos);
  if (i + 1 >= n) return s[n - 1];
  double f = pos - (double)i;
  return s[i] + f * (s[i + 1] - s[i]);
}

/* ---- ISJ (Botev, Grotowski & Kroese 2010) -------------------------------- */

typedef struct isj_params {
  const double *a2; /* a2[k] = A_k^2, k = 1..ISJ_GRID-1 (cosine coefficients) */
  double N;         /* number of distinct data values */
} isj_params;

/* ||f^(s)||^2 of the diffusion estimate at time t on [0, 1]:
 *   (1/2) pi^(2s) sum_k k^(2s) A_k^2 exp(-k^2 pi^2 t). */
static double isj_functional(const double *a2, int s, double t)
{
  double sum = 0.0;
  for (int k = 1; k < ISJ_GRID; k++) {
    double k2 = (double)k * (double)k;
    sum += pow(k2, s) * a2[k] * exp(-k2 * M_PI * M_PI * t);
  }
  return 0.5 * pow(M_PI, 2 * s) * sum;
}

/* t - xi gamma^[l](t), Botev's fixed-point function.  Always finite: where
 * the functional underflows t_opt is +inf and the sign of t - t_opt is what
 * matters, so -1 (t < 1 here) is returned. */
static double isj_fixed_point(double t, void *ctx)
{
  const isj_params *p = ctx;
  double f = isj_functional(p->a2, ISJ_L, t);
  for (int s = ISJ_L - 1; s >= 2; s--) {
    double k0 = 1.0;
    for (int j = 1; j <= 2 * s - 1; j += 2) k0 *= j;
    k0 /= sqrt(2.0 * M_PI);
    double c = (1.0 + pow(0.5, s + 0.5)) / 3.0;
    double time = pow(2.0 * c * k0 / (p->N * f), 2.0 / (3.0 + 2.0 * s));
    f = isj_functional(p->a2, s, time);
  }
  double t_opt = pow(2.0 * p->N * sqrt(M_PI) * f, -0.4);
  double out = t - t_opt;
  return isfinite(out) ? out : -1.0;
}

/* ISJ bandwidth of the sorted 1D data s[0..n-1]: FP_OK with *h set, or 1 when
 * no root is found (caller falls back), or an error status. */
static int isj_bandwidth(kde_work *w, const double *s, size_t n, double *h, fp_error *err)
{
  double xmin = s[0], xmax = s[n - 1], range = xmax - xmin;
  if (!(range > 0.0)) return 1;
  if (!w->isj) {
    w->isj = fftw_malloc(ISJ_GRID * sizeof *w->isj);
    if (!w->isj) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the ISJ grid");
  }
  if (!w->isj_plan) {
    w->isj_plan = fftw_plan_r2r_1d(ISJ_GRID, w->isj, w->isj, FFTW_REDFT10, FFTW_ESTIMATE);
    if (!w->isj_plan) return fp_fail(err, FP_ERR_UNSUPPORTED, "FFTW could not plan the ISJ DCT");
  }
  if (!w->solver) {
    w->solver = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (!w->solver) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the ISJ root finder");
  }
  /* Botev: the data's range padded by half of it on each side, mapped to
   * [0, 1]; bin masses at the cell centres (j + 1/2)/G by linear binning. */
  const double lo = xmin - 0.5 * range, R = 2.0 * range, dx = R / ISJ_GRID;
  memset(w->isj, 0, ISJ_GRID * sizeof *w->isj);
  size_t unique = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || s[i] != s[i - 1]) unique++;
    double t = (s[i] - lo) / dx - 0.5;
    long j = (long)floor(t);
    double fr = t - (double)j;
    if (j < 0) j = 0, fr = 0.0;
    if (j > ISJ_GRID - 2) j = ISJ_GRID - 2, fr = 1.0;
    w->isj[j] += (1.0 - fr) / (double)n;
    w->isj[j + 1] += fr / (double)n;
  }
  /* FFTW's REDFT10 is Y_k = 2 sum_j X_j cos(pi k (j + 1/2)/G): with the bin
   * masses X_j (sum 1) at x_j = (j + 1/2)/G this is exactly the coefficient
   * A_k = 2 int f cos(k pi x) dx of the cosine series f = 1 + sum A_k cos(k pi x)
   * on [0, 1], which is Botev's a_k (his dct1d; his a2 = (a_k/2)^2 with the
   * prefactor 2 pi^(2l) gives the same (1/2) pi^(2l) sum k^(2l) A_k^2). */
  fftw_execute(w->isj_plan);
  w->a2[0] = 0.0;
  for (int k = 1; k < ISJ_GRID; k++) w->a2[k] = w->isj[k] * w->isj[k];

  isj_params par = {w->a2, (double)unique};
  gsl_function F = {isj_fixed_point, &par};
  /* KDEpy's search: [0, tol], tol doubled until a root is bracketed. */
  double nn = (double)unique < 50 ? 50 : ((double)unique > 1050 ? 1050 : (double)unique);
  for (double tol = 1e-11 + 0.01 * (nn - 50) / 1000; tol < 1.0; tol *= 2.0) {
    double f0 = isj_fixed_point(0.0, &par), f1 = isj_fixed_point(tol, &par);
    if (!((f0 < 0.0 && f1 > 0.0) || (f0 > 0.0 && f1 < 0.0))) continue; /* set() would fail */
    if (gsl_root_fsolver_set(w->solver, &F, 0.0, tol) != GSL_SUCCESS) continue;
    int status = GSL_CONTINUE;
    for (int it = 0; it < ISJ_MAX_ITER && status == GSL_CONTINUE; it++) {
      if (gsl_root_fsolver_iterate(w->solver) != GSL_SUCCESS) break;
      status = gsl_root_test_interval(gsl_root_fsolver_x_lower(w->solver),
                                      gsl_root_fsolver_x_upper(w->solver), 1e-15, 1e-10);
    }
    double t = gsl_root_fsolver_root(w->solver);
    if (status == GSL_SUCCESS && t > 0.0 && isfinite(t)) {
      *h = sqrt(t) * R;
      return FP_OK;
    }
  }
  return 1;
}

/* ---- the estimate -------------------------------------------------------- */

/* Linear-binning weights of point x on the grid lo + j dx (G[a] nodes per
 * axis): the lower node's flat index (returned), the strides, and the two
 * weights per axis.  The same weights bin the data and interpolate the
 * density back at the data, which is what makes the self-term exact. */
static size_t linear_weights(const double *x, const double *lo, const double *dx, const size_t *G,
                             int d, double wt[FP_MAX_DIM][2], size_t stride[FP_MAX_DIM])
{
  size_t base = 0, st = 1;
  for (int a = 0; a < d; a++) {
    double t = (x[a] - lo[a]) / dx[a];
    size_t j = (size_t)t; /* t >= pad h / dx > 0 */
    if (j > G[a] - 2) j = G[a] - 2;
    double fr = t - (double)j;
    wt[a][0] = 1.0 - fr;
    wt[a][1] = fr;
    base += j * st;
    stride[a] = st;
    st *= G[a];
  }
  return base;
}

static int kde_estimate(fp_estimator *e, const fp_samples *p, const fp_kl_reference *ref,
                        double *kl, fp_estimator_report *rep, fp_error *err)
{
  const int d = p->dim;
  const size_t n = p->n;
  const double dn = (double)n;
  if (!e->work) {
    e->work = calloc(1, sizeof(kde_work));
    if (!e->work) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the KDE workspace");
  }
  kde_work *w = e->work;
  double mean_log_q;
  int rc = fp_est_mean_log_q(ref, p, &mean_log_q, err);
  if (rc != FP_OK) return rc;
  double *col = fp_est_grow(w->col, &w->col_cap, n, sizeof *w->col);
  if (!col) return fp_fail(err, FP_ERR_NOMEM, "out of memory for a KDE of %zu points", n);
  w->col = col;

  /* bandwidths and grid geometry per axis */
  static const size_t auto_grid[FP_MAX_DIM] = {256, 128, 32};
  const double pad = e->value[P_PAD].num;
  size_t G[FP_MAX_DIM] = {1, 1, 1};
  double lo[FP_MAX_DIM] = {0}, dx[FP_MAX_DIM] = {1, 1, 1}, h[FP_MAX_DIM] = {0};
  size_t total = 1;
  for (int a = 0; a < d; a++) {
    for (size_t i = 0; i < n; i++) col[i] = p->x[i * (size_t)d + (size_t)a];
    qsort(col, n, sizeof *col, cmp_double);
    double mean, sd;
    fp_est_mean_sd(p, a, &mean, &sd);
    if (!(sd > 0.0))
      return fp_fail(err, FP_ERR_NUMERIC,
                     "estimator '%s': the sample has zero spread along axis %d", e->spec, a);
    double iqr = (quantile_sorted(col, n, 0.75) - quantile_sorted(col, n, 0.25)) / 1.349;
    double sigma = iqr > 0.0 && iqr < sd ? iqr : sd; /* statsmodels' robust spread */
    double silverman = d == 1 ? 0.9 * sigma * pow(dn, -0.2)
                              : sigma * pow(4.0 / (dn * (d + 2.0)), 1.0 / (d + 4.0));
    switch (e->value[P_BW].word) {
    case BW_SILVERMAN: h[a] = silverman; break;
    case BW_SCOTT:
      h[a] = d == 1 ? 1.059 * sigma * pow(dn, -0.2) : sigma * pow(dn, -1.0 / (d + 4.0));
      break;
    case BW_ISJ:
      rc = isj_bandwidth(w, col, n, &h[a], err);
      if (rc == 1) {
        h[a] = silverman;
        rep->isj_fallback = true;
      } else if (rc != FP_OK) {
        return rc;
      }
      break;
    default: h[a] = e->value[P_BW].num; break;
    }
    G[a] = e->value[P_GRID].word >= 0 ? auto_grid[d - 1] : (size_t)e->value[P_GRID].num;
    if (G[a] > KDE_MAX_TOTAL / total)
      return fp_fail(err, FP_ERR_ARG, "estimator '%s': more than %zu grid points in all", e->spec,
                     KDE_MAX_TOTAL);
    total *= G[a];
    lo[a] = col[0] - pad * h[a];
    dx[a] = (col[n - 1] + pad * h[a] - lo[a]) / (double)(G[a] - 1);
    if (!(isfinite(lo[a]) && isfinite(dx[a]) && dx[a] > 0.0))
      return fp_fail(err, FP_ERR_ARG, "estimator '%s': bandwidth %g is too large for axis %d",
                     e->spec, h[a], a);
    rep->bandwidth[a] = h[a];
    rep->bins[a] = G[a];
  }
  rc = setup_grid(w, d, G, err);
  if (rc != FP_OK) return rc;

  /* linear binning: counts at the nodes lo + j dx */
  memset(w->grid, 0, w->total * sizeof *w->grid);
  for (size_t i = 0; i < n; i++) {
    const double *x = p->x + i * (size_t)d;
    size_t base, stride[FP_MAX_DIM];
    double wt[FP_MAX_DIM][2];
    base = linear_weights(x, lo, dx, G, d, wt, stride);
    for (int c = 0; c < (1 << d); c++) {
      double v = 1.0;
      size_t idx = base;
      for (int a = 0; a < d; a++) {
        int bit = (c >> a) & 1;
        v *= wt[a][bit];
        idx += (size_t)bit * stride[a];
      }
      w->grid[idx] += v;
    }
  }
  fftw_execute(w->fwd);

  /* the kernel per axis: kappa_a(j) = phi(j dx/h) / (dx sum_j phi(j dx/h))
   * on the periodic grid, and its DFT (real: the kernel is even) */
  double kappa0[FP_MAX_DIM], kappa1[FP_MAX_DIM];
  for (int a = 0; a < d; a++) {
    double sum = 0.0, r = dx[a] / h[a];
    for (size_t j = 0; j < G[a]; j++) {
      double off = (double)(j <= G[a] / 2 ? j : G[a] - j) * r;
      w->kbuf[a][j] = exp(-0.5 * off * off);
      sum += w->kbuf[a][j];
    }
    double norm = 1.0 / (sum * dx[a]);
    for (size_t j = 0; j < G[a]; j++) w->kbuf[a][j] *= norm;
    kappa0[a] = w->kbuf[a][0];
    kappa1[a] = w->kbuf[a][1];
    fftw_execute(w->kplan[a]);
    for (size_t m = 0; m < G[a]; m++) w->khat[a][m] = w->kspec[a][m <= G[a] / 2 ? m : G[a] - m][0];
  }

  /* multiply the spectra; 1/total undoes c2r's scaling, 1/n makes f^ a density */
  const size_t hx = G[0] / 2 + 1;
  const double scale = 1.0 / ((double)w->total * dn);
  for (size_t idx = 0; idx < w->half; idx++) {
    size_t mx = idx % hx, rest = idx / hx;
    double k = w->khat[0][mx] * scale;
    if (d > 1) k *= w->khat[1][rest % G[1]];
    if (d > 2) k *= w->khat[2][rest / G[1]];
    w->spec[idx][0] *= k;
    w->spec[idx][1] *= k;
  }
  fftw_execute(w->inv); /* w->grid = f^ at the nodes (spec destroyed) */

  double fmax = 0.0;
  for (size_t idx = 0; idx < w->total; idx++)
    if (w->grid[idx] > fmax) fmax = w->grid[idx];
  const double floor_value = KDE_FLOOR_REL * fmax;

  /* leave-one-out resubstitution */
  double sum = 0.0;
  size_t floored = 0;
  for (size_t i = 0; i < n; i++) {
    const double *x = p->x + i * (size_t)d;
    size_t base, stride[FP_MAX_DIM];
    double wt[FP_MAX_DIM][2], self = 1.0 / dn;
    base = linear_weights(x, lo, dx, G, d, wt, stride);
    for (int a = 0; a < d; a++) {
      self *= (wt[a][0] * wt[a][0] + wt[a][1] * wt[a][1]) * kappa0[a] +
              2.0 * wt[a][0] * wt[a][1] * kappa1[a];
    }
    double f = 0.0;
    for (int c = 0; c < (1 << d); c++) {
      double v = 1.0;
      size_t idx = base;
      for (int a = 0; a < d; a++) {
        int bit = (c >> a) & 1;
        v *= wt[a][bit];
        idx += (size_t)bit * stride[a];
      }
      f += v * w->grid[idx];
    }
    double loo = dn * (f - self) / (dn - 1.0);
    if (!(loo > floor_value)) {
      loo = floor_value;
      floored++;
    }
    sum += log(loo);
  }
  if (!(floor_value > 0.0))
    return fp_fail(err, FP_ERR_NUMERIC, "estimator '%s': the density estimate vanished", e->spec);
  rep->floored = floored;
  *kl = sum / dn - mean_log_q;
  return FP_OK;
}

static const char *const kde_bw_words[] = {"silverman", "scott", "isj", NULL};
static const char *const kde_grid_words[] = {"auto", NULL};

static const fp_est_param kde_params[] = {
    {"bw", FP_EST_REAL, kde_bw_words, "silverman", 0, DBL_MAX, 1,
     "bandwidth rule, or one bandwidth for every axis"},
    {"grid", FP_EST_INT, kde_grid_words, "auto", 16, 65536, 0,
     "grid points per axis; auto: 256 (1D), 128 (2D), 32 (3D)"},
    {"pad", FP_EST_REAL, NULL, "4", 3, 20, 0, "grid padding beyond the data, in bandwidths"},
};

const fp_estimator_type fp_est_kde_type = {
    .name = "kde",
    .summary = "binned FFT Gaussian KDE, leave-one-out resubstitution mean ln(f_-i(X_i)/q(X_i))",
    .params = kde_params,
    .nparams = sizeof kde_params / sizeof kde_params[0],
    .needs_all = FP_EST_NEED_LOG_Q,
    .needs_any = 0,
    .estimate = kde_estimate,
    .free_work = kde_free,
};
