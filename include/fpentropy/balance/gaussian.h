/* fpentropy: closed forms for linear-Gaussian (Ornstein-Uhlenbeck) dynamics.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_gaussian, a normal density N(mean, cov) in 1-3 dimensions (a value
 *     type), with its density, log-density and a grid fill;
 *   - fp_gaussian_kl() and fp_gaussian_kl_rate(): D_KL(N1 || N2) and its time
 *     derivative;
 *   - fp_gaussian_frozen, the linear dynamics a(x) = -A x + c with constant D
 *     at one instant, and fp_gaussian_stationary() (Lyapunov equation);
 *   - the entropy-balance terms of docs/theory.md as Gaussian expectations:
 *     fp_gaussian_sigma_tot(), fp_gaussian_q_hk(), fp_gaussian_hatano_sasa();
 *   - fp_gaussian_model and fp_gaussian_ou, the time-dependent OU process
 *     a(x,t) = -A x + c(t), D(t), p(.,t0) = N(m0, S0), whose moments obey
 *         m' = -A m + c(t),     S' = -A S - S A^T + 2 D(t)
 *     and are integrated to round-off accuracy (GSL rk8pd);
 *   - fp_gaussian_l1_distance(), the grid L1 distance used for error norms.
 *
 * These are the reference solutions the finite-volume solver is validated
 * against (docs/theory.md, "Closed-form cases").  Everything assumes free
 * space: no boundaries and a diffusion matrix that does not depend on x, so
 * div D = 0 and J/p = v(x) = -A x + c + D S^-1 (x - m) is affine in x.
 *
 * Matrices are row-major double[FP_MAX_DIM][FP_MAX_DIM]; only the leading
 * dim x dim block is read, and entries beyond dim are written as 0.
 * Covariances and diffusion matrices must be symmetric positive definite:
 * an asymmetry above 1e-10 relative to the largest entry is rejected as a
 * mistake, and the symmetric part (M + M^T)/2 is what gets used.
 *
 * Thread safety: the pure functions are thread-safe.  An fp_gaussian_ou keeps
 * its integration state, so one object must not be used by two threads at
 * once.  GSL's error handler is left as the caller set it; every GSL return
 * code is checked, and the library avoids the calls that would trigger the
 * handler on bad input (it tests definiteness and singularity itself).
 */
#ifndef FPENTROPY_GAUSSIAN_H
#define FPENTROPY_GAUSSIAN_H

#include <fpentropy/export.h>

#include <stddef.h>

#include <fpentropy/problem/grid.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------------------- */
/* Normal densities                                                         */
/* ----------------------------------------------------------------------- */

/* N(mean, cov) in `dim` (1..3) dimensions.  A plain value: copy it freely.
 * When used to hold time derivatives (fp_gaussian_ou_at, fp_gaussian_kl_rate)
 * `cov` is dS/dt, symmetric but not definite. */
typedef struct fp_gaussian {
  int dim;
  double mean[FP_MAX_DIM];
  double cov[FP_MAX_DIM][FP_MAX_DIM];
} fp_gaussian;

/* log N(x; mean, cov) at the point x[0..dim-1].
 * Returns FP_OK, or FP_ERR_ARG (NULL pointer, dim outside 1..3, cov not
 * symmetric positive definite, non-finite entries). */
FP_API int fp_gaussian_log_density(const fp_gaussian *g, const double x[FP_MAX_DIM], double *out,
                            fp_error *err);

/* N(x; mean, cov); same arguments and errors as fp_gaussian_log_density(). */
FP_API int fp_gaussian_density(const fp_gaussian *g, const double x[FP_MAX_DIM], double *out,
                        fp_error *err);

/* Fill values[0..grid->ncells-1] with the density at the cell centres (grid
 * storage order; point values, not cell averages, so the fill is second-order
 * accurate as a cell average).  `grid` must have been through fp_grid_init()
 * and have grid->dim == g->dim.  values is caller-owned.
 * Returns FP_OK or FP_ERR_ARG (NULL, dimension mismatch, bad covariance). */
FP_API int fp_gaussian_fill_grid(const fp_gaussian *g, const fp_grid *grid, double *values,
                          fp_error *err);

/* D_KL(p || q) = 1/2 [tr(Sq^-1 Sp) + (mq - mp)^T Sq^-1 (mq - mp) - d
 *                     + ln(det Sq / det Sp)]  (nats).
 * Returns FP_OK or FP_ERR_ARG (NULL, dimensions differ, covariance not SPD). */
FP_API int fp_gaussian_kl(const fp_gaussian *p, const fp_gaussian *q, double *out, fp_error *err);

/* d/dt D_KL(p(t) || q) for fixed q, given dpdt = (dm/dt, dS/dt) of p:
 *   1/2 [tr(Sq^-1 S') - 2 (mq - m)^T Sq^-1 m' - tr(Sp^-1 S')].
 * Returns FP_OK or FP_ERR_ARG (as fp_gaussian_kl, plus dpdt->dim mismatch). */
FP_API int fp_gaussian_kl_rate(const fp_gaussian *p, const fp_gaussian *dpdt, const fp_gaussian *q,
                        double *out, fp_error *err);

/* ----------------------------------------------------------------------- */
/* Linear dynamics at one instant                                           */
/* ----------------------------------------------------------------------- */

/* The dynamics frozen at one time: drift a(x) = -A x + c, diffusion D (SPD,
 * constant in x). */
typedef struct fp_gaussian_frozen {
  int dim;
  double A[FP_MAX_DIM][FP_MAX_DIM];
  double c[FP_MAX_DIM];
  double D[FP_MAX_DIM][FP_MAX_DIM];
} fp_gaussian_frozen;

/* The stationary density N(mss, Sss) of the frozen dynamics:
 *   A Sss + Sss A^T = 2 D   (Lyapunov equation, solved as a d^2 x d^2 linear
 *                            system by LU) and A mss = c.
 * A stationary density exists iff every eigenvalue of A has a positive real
 * part; this is checked from the eigenvalues and again by requiring Sss to be
 * positive definite.
 * Returns FP_OK; FP_ERR_ARG (NULL, bad dim, D not SPD, non-finite entries);
 * FP_ERR_UNSUPPORTED when A is not stable (the message gives the offending
 * eigenvalue), i.e. there is no stationary density; FP_ERR_NUMERIC when the
 * eigenvalue computation fails or the system is numerically singular. */
FP_API int fp_gaussian_stationary(const fp_gaussian_frozen *f, fp_gaussian *pss, fp_error *err);

/* Total entropy production at p = N(m, S) under the frozen dynamics f:
 *   sigma_tot = E_p[v^T D^-1 v],  v(x) = J/p = M x + k,
 *   M = -A + D S^-1,  k = c - D S^-1 m.
 * Returns FP_OK or FP_ERR_ARG (NULL, dims differ, S or D not SPD). */
FP_API int fp_gaussian_sigma_tot(const fp_gaussian_frozen *f, const fp_gaussian *p, double *out,
                          fp_error *err);

/* The paper's "housekeeping" remainder (A.12) for q_ref = N(mq, Sq):
 *   q_hk = E_p[v^T (D^-1 a + grad U)],  U = -log q_ref, grad U = Sq^-1 (x - mq),
 * so that d/dt D_KL(p || q_ref) = -sigma_tot + q_hk.  It has no sign and is
 * not the Hatano-Sasa housekeeping term (see fp_gaussian_hatano_sasa()).
 * Returns FP_OK or FP_ERR_ARG (as fp_gaussian_sigma_tot, plus q_ref). */
FP_API int fp_gaussian_q_hk(const fp_gaussian_frozen *f, const fp_gaussian *p,
                     const fp_gaussian *q_ref, double *out, fp_error *err);

/* The standard (Hatano-Sasa / Esposito-Van den Broeck) split of sigma_tot,
 * with pss = N(mss, Sss) the stationary density of f (from
 * fp_gaussian_stationary(); any other pss gives numbers without meaning):
 *   sigma_hk = E_p[v_ss^T D^-1 v_ss],  v_ss(x) = -A x + c + D Sss^-1 (x - mss),
 *   sigma_na = E_p[g^T D g],           g = grad log(p/pss)
 *                                        = -S^-1 (x - m) + Sss^-1 (x - mss).
 * Both are >= 0 and sigma_tot = sigma_hk + sigma_na.  Either output pointer
 * may be NULL.
 * Returns FP_OK or FP_ERR_ARG (NULL inputs, dims differ, a matrix not SPD). */
FP_API int fp_gaussian_hatano_sasa(const fp_gaussian_frozen *f, const fp_gaussian *p,
                            const fp_gaussian *pss, double *sigma_hk, double *sigma_na,
                            fp_error *err);

/* ----------------------------------------------------------------------- */
/* Time-dependent Ornstein-Uhlenbeck process                                */
/* ----------------------------------------------------------------------- */

/* c(t): write the constant drift part into out[0..dim-1].  D(t): write the
 * diffusion matrix (symmetric positive definite) into out[0..dim-1][0..dim-1].
 * Return 0 on success; any other value stops the computation (the caller then
 * gets FP_ERR_SOLVER, or FP_ERR_ARG from fp_gaussian_model_frozen()).  The
 * callbacks must be deterministic functions of t. */
typedef int (*fp_gaussian_vector_fn)(double t, double out[FP_MAX_DIM], void *ctx);
typedef int (*fp_gaussian_matrix_fn)(double t, double out[FP_MAX_DIM][FP_MAX_DIM], void *ctx);

/* a(x,t) = -A x + c(t), diffusion D(t), initial density N(m0, S0) at t0. */
typedef struct fp_gaussian_model {
  int dim;                           /* 1, 2 or 3 */
  double A[FP_MAX_DIM][FP_MAX_DIM];  /* constant drift matrix */
  fp_gaussian_vector_fn c;           /* NULL: c = 0 */
  fp_gaussian_matrix_fn D;           /* required */
  void *ctx;                         /* passed to c and D; not owned */
  double t0;                         /* initial time */
  double m0[FP_MAX_DIM];             /* initial mean */
  double S0[FP_MAX_DIM][FP_MAX_DIM]; /* initial covariance (SPD) */
} fp_gaussian_model;

/* Evaluate the callbacks of `model` at time t into *out.
 * Returns FP_OK or FP_ERR_ARG (NULL, bad dim, missing D, a callback failed or
 * returned non-finite values, D(t) not SPD). */
FP_API int fp_gaussian_model_frozen(const fp_gaussian_model *model, double t, fp_gaussian_frozen *out,
                             fp_error *err);

typedef struct fp_gaussian_ou fp_gaussian_ou; /* opaque */

/* Integration tolerances (relative and absolute, per step) of the moment
 * equations: a few hundred ulps, about as tight as rk8pd can honour.  On the
 * 1D closed forms the moments come out within ~1e-15 relative over t in
 * [0, 20]; the unit tests demand 1e-12. */
#define FP_GAUSSIAN_OU_RTOL 1e-13
#define FP_GAUSSIAN_OU_ATOL 1e-13

/* Create the evolving solution of `model` (copied: the caller's struct may
 * change or go away; model->ctx must stay valid for the object's lifetime).
 * Returns FP_OK; FP_ERR_ARG (invalid model: dim, missing D, non-finite
 * entries, S0 not SPD, D(t0) not SPD or c/D failing at t0); FP_ERR_NOMEM.
 * Ownership: destroy *out with fp_gaussian_ou_destroy(). */
FP_API int fp_gaussian_ou_create(const fp_gaussian_model *model, fp_gaussian_ou **out, fp_error *err);

/* The moments at time t >= t0 in *p and, if dpdt is not NULL, their time
 * derivatives (m', S') at t in *dpdt (computed from the right-hand side, not
 * differenced).  The object integrates onwards from the last time asked when
 * t increases and restarts from t0 when t decreases, so asking for increasing
 * times costs one integration in total; results do not depend on the order of
 * the calls beyond the integration tolerance.
 * Returns FP_OK; FP_ERR_ARG (NULL, t < t0 or not finite); FP_ERR_SOLVER (the
 * integration failed, a callback failed, or the covariance lost definiteness
 * - the message says which).  After FP_ERR_SOLVER the next call restarts
 * from t0. */
FP_API int fp_gaussian_ou_at(fp_gaussian_ou *sol, double t, fp_gaussian *p, fp_gaussian *dpdt,
                      fp_error *err);

/* The model the object was created from (owned by sol). */
FP_API const fp_gaussian_model *fp_gaussian_ou_model(const fp_gaussian_ou *sol);

/* Destroy *sol and set it to NULL.  NULL or *sol == NULL is a no-op. */
FP_API void fp_gaussian_ou_destroy(fp_gaussian_ou **sol);

/* ----------------------------------------------------------------------- */
/* Grid norms                                                               */
/* ----------------------------------------------------------------------- */

/* sum_i |p_i - q_i| * cell_volume over the grid->ncells cells: the L1 distance
 * of two densities stored in grid order (e.g. a numerical solution and
 * fp_gaussian_fill_grid()).  Returns NaN if an argument is NULL or an entry
 * is NaN, so that a broken comparison cannot pass as small. */
FP_API double fp_gaussian_l1_distance(const fp_grid *grid, const double *p, const double *q);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_GAUSSIAN_H */
