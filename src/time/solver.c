/* fpentropy: CVODE time stepping (see solver.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/time/solver.h>

#include <cvode/cvode.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sundials/sundials_config.h>
#include <sunlinsol/sunlinsol_band.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunlinsol/sunlinsol_klu.h>
#include <sunlinsol/sunlinsol_spgmr.h>

/* CVODE's linear tolerance factor for full-tensor D (its default is 0.05). */
#ifndef FP_EPSLIN_TENSOR
#define FP_EPSLIN_TENSOR 0.00005
#endif
#include <sunmatrix/sunmatrix_band.h>
#include <sunmatrix/sunmatrix_dense.h>
#include <sunmatrix/sunmatrix_sparse.h>

#include "core/error_impl.h"
#include "fv/precond_fft.h"
#include "time/expo_impl.h"
#include "time/nvector_fp_impl.h"
#include "time/chebyshev_impl.h"
#include "time/solver_impl.h"

#if !defined(SUNDIALS_DOUBLE_PRECISION)
#error "fpentropy needs SUNDIALS built in double precision"
#endif
_Static_assert(sizeof(sunindextype) == sizeof(int64_t), "SUNDIALS index type must be 64-bit");


struct fp_solver {
  int unreserved_clones; /* SUNDIALS' clones the reserve did not cover (fp_nvector_reserve) */
  bool reserve_released;
  fp_operator *op;
  fp_linear_solver_kind kind;
  fp_preconditioner_kind prec;
  fp_integrator_kind integrator;
  fp_expo *expo;           /* the exponential integrator, or NULL (CVODE) */
  SUNContext ctx;
  void *cvode;
  N_Vector y;
  N_Vector constraints;
  N_Vector dky;            /* work vector for the dense-output derivative */
  bool stepped;            /* CVode has taken at least one step */
  bool nonnegative;        /* constraints p >= 0 are imposed */
  double clamp_below;      /* |negative| values below this are round-off (see advance) */
  long clamped;            /* how many output values were set from (-clamp_below, 0) to 0 */
  SUNMatrix J;
  SUNLinearSolver LS;
  fp_precond_fft *fft;
  double gamma;            /* from the last preconditioner setup */
  double mean_D[FP_MAX_DIM];
  double t;
  double rtol;             /* resolved relative tolerance */
  bool rtol_auto;
  fp_error callback_error; /* first failure inside a CVODE callback */
  volatile sig_atomic_t *interrupted;
  char cvode_message[512]; /* last message from CVODE's error handler */
};

void fp_solver_options_from_case(const fp_case *c, const fp_operator *op, fp_solver_options *opt)
{
  opt->rtol = c->rtol;
  opt->atol = c->atol;
  opt->max_steps = c->max_steps;
  opt->max_step = c->max_step;
  opt->initial_step = c->initial_step;
  opt->linear_solver = c->linear_solver;
  opt->preconditioner = c->preconditioner;
  opt->krylov_dim = c->krylov_dim;
  opt->fft_measure = c->fft_measure;
  opt->nonnegative = op ? fp_operator_two_point(op) : false;
  opt->integrator = c->integrator;
  opt->stop_time = c->t_end;
  opt->output_times = NULL;
  opt->n_output_times = 0;
  opt->interrupted = NULL;
}

static void error_handler(int code, const char *module, const char *function, char *msg,
                          void *data)
{
  fp_solver *s = data;
  (void)code;
  snprintf(s->cvode_message, sizeof s->cvode_message, "%s/%s: %s", module, function, msg);
}

/* CVODE callbacks follow SUNDIALS' contract: 0 success, < 0 unrecoverable. */
static int rhs(sunrealtype t, N_Vector y, N_Vector ydot, void *data)
{
  fp_solver *s = data;
  if (s->interrupted && *s->interrupted) {
    fp_fail(&s->callback_error, FP_ERR_INTERRUPTED, "interrupted at t = %g", t);
    return -1;
  }
  if (fp_operator_assemble(s->op, t, &s->callback_error) != FP_OK) return -1;
  fp_operator_apply(s->op, N_VGetArrayPointer(y), N_VGetArrayPointer(ydot));
  return 0;
}

static int jacobian(sunrealtype t, N_Vector y, N_Vector fy, SUNMatrix J, void *data, N_Vector t1,
                    N_Vector t2, N_Vector t3)
{
  fp_solver *s = data;
  (void)y, (void)fy, (void)t1, (void)t2, (void)t3;
  if (fp_operator_assemble(s->op, t, &s->callback_error) != FP_OK) return -1;
  fp_csr_view L;
  fp_operator_matrix(s->op, &L);
  switch (s->kind) {
  case FP_LINSOL_KLU:
    memcpy(SM_INDEXPTRS_S(J), L.row_ptr, (L.rows + 1) * sizeof *L.row_ptr);
    memcpy(SM_INDEXVALS_S(J), L.col, L.nnz * sizeof *L.col);
    memcpy(SM_DATA_S(J), L.value, L.nnz * sizeof *L.value);
    break;
  case FP_LINSOL_BAND:
    SUNMatZero(J);
    for (size_t i = 0; i < L.rows; i++)
      for (int64_t q = L.row_ptr[i]; q < L.row_ptr[i + 1]; q++)
        SM_ELEMENT_B(J, (sunindextype)i, L.col[q]) = L.value[q];
    break;
  default:
    SUNMatZero(J);
    for (size_t i = 0; i < L.rows; i++)
      for (int64_t q = L.row_ptr[i]; q < L.row_ptr[i + 1]; q++)
        SM_ELEMENT_D(J, (sunindextype)i, L.col[q]) = L.value[q];
    break;
  }
  return 0;
}

static int jtimes(N_Vector v, N_Vector Jv, sunrealtype t, N_Vector y, N_Vector fy, void *data,
                  N_Vector tmp)
{
  fp_solver *s = data;
  (void)y, (void)fy, (void)tmp;
  if (fp_operator_assemble(s->op, t, &s->callback_error) != FP_OK) return -1;
  fp_operator_apply(s->op, N_VGetArrayPointer(v), N_VGetArrayPointer(Jv));
  return 0;
}

static int prec_setup(sunrealtype t, N_Vector y, N_Vector fy, sunbooleantype jok,
                      sunbooleantype *jcur, sunrealtype gamma, void *data)
{
  fp_solver *s = data;
  (void)y, (void)fy, (void)jok;
  if (fp_operator_assemble(s->op, t, &s->callback_error) != FP_OK) return -1;
  fp_operator_mean_diffusion(s->op, s->mean_D);
  s->gamma = gamma;
  *jcur = SUNTRUE;
  return 0;
}

static int prec_solve(sunrealtype t, N_Vector y, N_Vector fy, N_Vector r, N_Vector z,
                      sunrealtype gamma, sunrealtype delta, int lr, void *data)
{
  fp_solver *s = data;
  (void)t, (void)y, (void)fy, (void)delta, (void)lr;
  /* gamma may differ slightly from the setup's; the current one is exact. */
  fp_precond_fft_solve(s->fft, gamma, s->mean_D, N_VGetArrayPointer(r), N_VGetArrayPointer(z));
  return 0;
}

void fp_solver_destroy(fp_solver **sp)
{
  if (!sp || !*sp) return;
  fp_solver *s = *sp;
  if (s->cvode) CVodeFree(&s->cvode);
  if (s->LS) SUNLinSolFree(s->LS);
  if (s->J) SUNMatDestroy(s->J);
  if (s->y) {
    fp_nvector_release_reserve(s->y);
    N_VDestroy(s->y);
  }
  if (s->constraints) N_VDestroy(s->constraints);
  if (s->dky) N_VDestroy(s->dky);
  fp_precond_fft_destroy(&s->fft);
  fp_expo_destroy(&s->expo);
  if (s->ctx) SUNContext_Free(&s->ctx);
  free(s);
  *sp = NULL;
}

static fp_linear_solver_kind choose_linear_solver(const fp_grid *g, fp_linear_solver_kind asked)
{
  if (asked != FP_LINSOL_AUTO) return asked;
  bool periodic = false;
  for (int k = 0; k < g->dim; k++) periodic |= g->bc[k] == FP_BC_PERIODIC;
  if (g->dim == 1) return periodic ? FP_LINSOL_KLU : FP_LINSOL_BAND;
  /* In 2D and 3D, GMRES with the fast-transform preconditioner beat KLU at
   * every size measured, from 32^2 up (KLU refactors whenever CVODE changes
   * gamma; tools/bench_solvers.py and docs/scheme.md have the numbers). */
  return FP_LINSOL_GMRES;
}

/* How many vectors CVODE and its solvers clone from the state vector, made
 * before they ask (see fp_nvector_reserve): counted on SUNDIALS 6.4.1 -
 * CVodeInit with BDF and its Newton solver 16, the constraints 2 (ours and
 * CVODE's copy), SPGMR in its first initialisation krylov_dim + 3 more.  A count too small is not an
 * error: the clones beyond it allocate, as they would without a reserve. */
static int reserved_vectors(fp_linear_solver_kind kind, const fp_solver_options *opt)
{
  int maxl = opt->krylov_dim > 0 ? opt->krylov_dim : 5; /* SPGMR: 5 when not positive */
  return 16 + (opt->nonnegative ? 2 : 0) + (kind == FP_LINSOL_GMRES ? maxl + 3 : 0);
}

static int cvode_failed(fp_solver *s, fp_error *err, int flag, const char *call)
{
  if (s->callback_error.code != FP_OK)
    return fp_fail(err, s->callback_error.code, "%s", s->callback_error.message);
  char *name = CVodeGetReturnFlagName(flag); /* malloc'd in SUNDIALS 6 */
  int rc = fp_fail(err, FP_ERR_SOLVER, "%s failed (%s)%s%s", call, name ? name : "?",
                   s->cvode_message[0] ? ": " : "", s->cvode_message);
  free(name);
  return rc;
}

static int attach_linear_solver(fp_solver *s, const fp_solver_options *opt, fp_error *err)
{
  const fp_grid *g = fp_operator_grid(s->op);
  sunindextype n = (sunindextype)g->ncells;
  fp_csr_view L;
  fp_operator_matrix(s->op, &L);
  int flag;
  switch (s->kind) {
  case FP_LINSOL_BAND: {
    size_t lower, upper;
    fp_operator_bandwidth(s->op, &lower, &upper);
    s->J = SUNBandMatrix(n, (sunindextype)upper, (sunindextype)lower, s->ctx);
    if (s->J) s->LS = SUNLinSol_Band(s->y, s->J, s->ctx);
    break;
  }
  case FP_LINSOL_DENSE:
    s->J = SUNDenseMatrix(n, n, s->ctx);
    if (s->J) s->LS = SUNLinSol_Dense(s->y, s->J, s->ctx);
    break;
  case FP_LINSOL_KLU:
    s->J = SUNSparseMatrix(n, n, (sunindextype)L.nnz, CSR_MAT, s->ctx);
    if (s->J) s->LS = SUNLinSol_KLU(s->y, s->J, s->ctx);
    break;
  case FP_LINSOL_GMRES: {
    bool fft = opt->preconditioner != FP_PREC_NONE;
    s->prec = fft ? FP_PREC_FFT : FP_PREC_NONE;
    if (fft) {
      int rc = fp_precond_fft_create(g, opt->fft_measure, &s->fft, err);
      if (rc != FP_OK) return rc;
    }
    s->LS = SUNLinSol_SPGMR(s->y, fft ? SUN_PREC_RIGHT : SUN_PREC_NONE, opt->krylov_dim, s->ctx);
    break;
  }
  default: return fp_fail(err, FP_ERR_ARG, "unknown linear solver %d", (int)s->kind);
  }
  if (!s->LS) return fp_fail(err, FP_ERR_NOMEM, "could not create the %s linear solver",
                             fp_linear_solver_name(s->kind));
  flag = CVodeSetLinearSolver(s->cvode, s->LS, s->J);
  if (flag != CV_SUCCESS) return cvode_failed(s, err, flag, "CVodeSetLinearSolver");
  if (s->kind == FP_LINSOL_GMRES) {
    flag = CVodeSetJacTimes(s->cvode, NULL, jtimes);
    if (flag == CV_SUCCESS && s->fft) flag = CVodeSetPreconditioner(s->cvode, prec_setup, prec_solve);
    /* Full tensor: the preconditioner leaves out the cross diffusion, and
     * the mass the Krylov residual carries is added to p at every step;
     * a tighter linear tolerance keeps the mass drift below 1e-12 */
    if (flag == CV_SUCCESS && fp_operator_full_tensor(s->op)) flag = CVodeSetEpsLin(s->cvode, FP_EPSLIN_TENSOR);
  } else {
    flag = CVodeSetJacFn(s->cvode, jacobian);
  }
  if (flag != CV_SUCCESS) return cvode_failed(s, err, flag, "CVodeSetJacFn");
  return FP_OK;
}

double fp_solver_space_error_level(const fp_grid *g, const double *p)
{
  double mass = 0.0, curvature = 0.0;
  for (size_t i = 0; i < g->ncells; i++) mass += fabs(p[i]);
  for (int k = 0; k < g->dim; k++) {
    size_t stride = g->stride[k], n = g->n[k], layer = stride * n;
    double sum = 0.0;
    /* cells with both neighbours along k: index along k in [1, n-2] */
    for (size_t base = 0; base < g->ncells; base += layer)
      for (size_t a = 1; a + 1 < n; a++)
        for (size_t s = 0; s < stride; s++) {
          size_t i = base + a * stride + s;
          sum += fabs(p[i + stride] - 2.0 * p[i] + p[i - stride]);
        }
    curvature += sum / 24.0;
  }
  return mass > 0.0 ? curvature / mass : 0.0;
}

double fp_solver_auto_rtol(const fp_grid *g, const double *p0)
{
  double r = FP_RTOL_AUTO_FACTOR * fp_solver_space_error_level(g, p0);
  if (!(r >= FP_RTOL_AUTO_MIN)) r = FP_RTOL_AUTO_MIN; /* also NaN */
  return r > FP_RTOL_AUTO_MAX ? FP_RTOL_AUTO_MAX : r;
}

double fp_solver_rtol(const fp_solver *s) { return s->rtol; }

/* The choice of fp_solver_choose_integrator; *rho is the spectral bound when
 * it was computed for the choice, else 0 (the exponential integrator then
 * computes it itself). */
static fp_integrator_kind choose_integrator(const fp_operator *op, fp_integrator_kind asked,
                                           double span, double *rho)
{
  *rho = 0.0;
  if (asked != FP_INTEGRATOR_AUTO) return asked;
  if (fp_operator_time_dependent(op) || !(span > 0.0)) return FP_INTEGRATOR_CVODE;
  /* The Chebyshev steps cost ~ sqrt(rho span) operator applications per
   * output interval, growing like cells^1.5 in 2D, while BDF with the FFT
   * preconditioner takes a number of steps nearly independent of the grid:
   * the exponential integrator wins below a measured rho span
   * (tools/bench_defaults.py, docs/scheme.md). */
  *rho = fp_cheb_spectral_bound(op);
  return 0.5 * *rho * span <= FP_EXPO_AUTO_MAX_Z ? FP_INTEGRATOR_EXPONENTIAL : FP_INTEGRATOR_CVODE;
}

fp_integrator_kind fp_solver_choose_integrator(const fp_operator *op, fp_integrator_kind asked,
                                               double span)
{
  double rho;
  return choose_integrator(op, asked, span, &rho);
}

fp_integrator_kind fp_solver_integrator(const fp_solver *s) { return s->integrator; }

const char *fp_integrator_name(fp_integrator_kind k)
{
  switch (k) {
  case FP_INTEGRATOR_CVODE: return "cvode";
  case FP_INTEGRATOR_EXPONENTIAL: return "exponential";
  default: return "auto";
  }
}

static int create_exponential(fp_solver *s, const double *p0, double t0,
                              const fp_solver_options *opt, double rho, fp_error *err)
{
  const fp_grid *g = fp_operator_grid(s->op);
  bool conserving = true;
  for (int k = 0; k < g->dim; k++) conserving &= g->bc[k] != FP_BC_ABSORBING;
  fp_expo_options eo = {.rtol = s->rtol,
                        .atol = opt->atol,
                        .max_steps = opt->max_steps,
                        .nonnegative = opt->nonnegative,
                        .conserving = conserving,
                        .spectral_bound = rho,
                        .output_times = opt->output_times,
                        .n_output_times = opt->n_output_times,
                        .interrupted = opt->interrupted};
  return fp_expo_create(s->op, t0, p0, &eo, &s->expo, err);
}

static int check_options(const fp_solver_options *opt, fp_error *err)
{
  if (!(opt->rtol == FP_RTOL_AUTO || (opt->rtol > 0.0 && opt->rtol < 1.0)))
    return fp_fail(err, FP_ERR_ARG, "rtol must be in (0, 1), got %g", opt->rtol);
  if (!(opt->atol > 0.0)) return fp_fail(err, FP_ERR_ARG, "atol must be positive, got %g", opt->atol);
  if (opt->max_steps <= 0) return fp_fail(err, FP_ERR_ARG, "max_steps must be positive");
  if (opt->max_step < 0.0 || opt->initial_step < 0.0)
    return fp_fail(err, FP_ERR_ARG, "max_step and initial_step must be >= 0");
  if (opt->linear_solver == FP_LINSOL_GMRES && (opt->krylov_dim < 1 || opt->krylov_dim > 500))
    return fp_fail(err, FP_ERR_ARG, "krylov_dim must be in [1, 500], got %d", opt->krylov_dim);
  return FP_OK;
}

int fp_solver_create(fp_operator *op, double t0, const double *p0, const fp_solver_options *opt,
                     fp_solver **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_solver_create: out is NULL");
  *out = NULL;
  if (!op || !p0 || !opt) return fp_fail(err, FP_ERR_ARG, "fp_solver_create: NULL argument");
  int rc = check_options(opt, err);
  if (rc != FP_OK) return rc;
  const fp_grid *g = fp_operator_grid(op);
  fp_solver *s = calloc(1, sizeof *s);
  if (!s) return fp_fail(err, FP_ERR_NOMEM, "out of memory creating the solver");
  s->op = op;
  s->t = t0;
  s->interrupted = opt->interrupted;
  s->kind = choose_linear_solver(g, opt->linear_solver);
  if (s->kind == FP_LINSOL_BAND) {
    /* A periodic axis couples the first and last cells: the band would be
     * the whole matrix. */
    for (int k = 0; k < g->dim; k++)
      if (g->bc[k] == FP_BC_PERIODIC && g->n[k] > 2 && g->dim == 1) {
        fp_solver_destroy(&s);
        return fp_fail(err, FP_ERR_UNSUPPORTED,
                       "linear_solver = band does not suit a periodic axis; use klu or auto");
      }
  }
  s->rtol_auto = opt->rtol == FP_RTOL_AUTO;
  s->rtol = s->rtol_auto ? fp_solver_auto_rtol(g, p0) : opt->rtol;
  double rho = 0.0;
  s->integrator = choose_integrator(op, opt->integrator, opt->stop_time - t0, &rho);
  s->nonnegative = opt->nonnegative;
  if (s->integrator == FP_INTEGRATOR_EXPONENTIAL) {
    rc = create_exponential(s, p0, t0, opt, rho, err);
    if (rc != FP_OK) goto fail;
    *out = s;
    return FP_OK;
  }
  int flag;
  rc = FP_ERR_SOLVER;
  if (SUNContext_Create(NULL, &s->ctx) != 0) {
    rc = fp_fail(err, FP_ERR_SOLVER, "SUNContext_Create failed");
    goto fail;
  }
  s->y = fp_nvector_new((sunindextype)g->ncells, s->ctx);
  s->dky = fp_nvector_new((sunindextype)g->ncells, s->ctx);
  s->cvode = CVodeCreate(CV_BDF, s->ctx);
  if (!s->y || !s->dky || !s->cvode) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory creating CVODE");
    goto fail;
  }
  if (fp_nvector_reserve(s->y, reserved_vectors(s->kind, opt)) != 0) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory creating CVODE's vectors");
    goto fail;
  }
  memcpy(N_VGetArrayPointer(s->y), p0, g->ncells * sizeof *p0);
  flag = CVodeSetErrHandlerFn(s->cvode, error_handler, s);
  if (flag == CV_SUCCESS) flag = CVodeInit(s->cvode, rhs, t0, s->y);
  if (flag == CV_SUCCESS) flag = CVodeSetUserData(s->cvode, s);
  if (flag == CV_SUCCESS) flag = CVodeSStolerances(s->cvode, s->rtol, opt->atol);
  if (flag == CV_SUCCESS) flag = CVodeSetMaxNumSteps(s->cvode, opt->max_steps);
  if (flag == CV_SUCCESS && opt->max_step > 0) flag = CVodeSetMaxStep(s->cvode, opt->max_step);
  if (flag == CV_SUCCESS && opt->initial_step > 0) flag = CVodeSetInitStep(s->cvode, opt->initial_step);
  /* Drifts with rotation put eigenvalues near the imaginary axis, where
   * high-order BDF is unstable; stability-limit detection lowers the order. */
  if (flag == CV_SUCCESS) flag = CVodeSetStabLimDet(s->cvode, SUNTRUE);
  /* One stop time, at the end: a stop at every output time would make
   * CVODE shorten its step and restart its order ramp there (125 steps
   * instead of 82 on ou2d_rotating at 352^2); outputs are interpolated
   * from the step polynomial to the same order instead. */
  if (flag == CV_SUCCESS && opt->stop_time > t0) flag = CVodeSetStopTime(s->cvode, opt->stop_time);
  if (flag != CV_SUCCESS) {
    rc = cvode_failed(s, err, flag, "CVODE setup");
    goto fail;
  }
  s->clamp_below = FP_SOLVER_ROUNDOFF_NEGATIVE * opt->atol;
  if (opt->nonnegative) {
    s->constraints = fp_nvector_clone(s->y); /* from the reserve: CVODE clones it */
    if (!s->constraints) {
      rc = fp_fail(err, FP_ERR_NOMEM, "out of memory creating CVODE constraints");
      goto fail;
    }
    N_VConst(1.0, s->constraints); /* 1.0: component >= 0 */
    flag = CVodeSetConstraints(s->cvode, s->constraints);
    if (flag != CV_SUCCESS) {
      rc = cvode_failed(s, err, flag, "CVodeSetConstraints");
      goto fail;
    }
  }
  rc = attach_linear_solver(s, opt, err);
  if (rc != FP_OK) goto fail;
  *out = s;
  return FP_OK;
fail:
  fp_solver_destroy(&s);
  return rc;
}

/* See FP_SOLVER_ROUNDOFF_NEGATIVE: values in (-clamp_below, 0) set to 0,
 * the state rescaled so that its mass (uniform cells: the plain sum) stays. */
static void clamp_roundoff_negatives(fp_solver *s)
{
  double *y = N_VGetArrayPointer(s->y);
  size_t n = fp_operator_grid(s->op)->ncells;
  double sum = 0.0, zeroed = 0.0;
  for (size_t i = 0; i < n; i++) {
    sum += y[i];
    if (y[i] < 0.0 && y[i] > -s->clamp_below) zeroed -= y[i], y[i] = 0.0, s->clamped++;
  }
  if (zeroed > 0.0 && sum > 0.0) {
    double scale = sum / (sum + zeroed);
    for (size_t i = 0; i < n; i++) y[i] *= scale;
  }
}

int fp_solver_advance(fp_solver *s, double t_out, fp_error *err)
{
  if (t_out == s->t) return FP_OK;
  if (t_out < s->t)
    return fp_fail(err, FP_ERR_ARG, "cannot advance backwards from t = %g to %g", s->t, t_out);
  if (s->expo) {
    int rc = fp_expo_advance(s->expo, t_out, err);
    if (rc == FP_OK) s->t = t_out, s->stepped = true;
    return rc;
  }
  int flag;
  sunrealtype t_reached = s->t;
  flag = CVode(s->cvode, t_out, s->y, &t_reached, CV_NORMAL);
  if (!s->reserve_released) { /* SUNDIALS has made all its vectors */
    s->unreserved_clones = fp_nvector_release_reserve(s->y);
    s->reserve_released = true;
  }
  if (flag < 0) {
    s->t = t_reached;
    int rc = cvode_failed(s, err, flag, "CVode");
    return fp_fail_context(err, rc, "integrating from t = %g towards %g", t_reached, t_out);
  }
  s->t = t_out;
  s->stepped = true;
  if (s->nonnegative) clamp_roundoff_negatives(s);
  return FP_OK;
}

int fp_solver_dense_derivative(fp_solver *s, double *dpdt, fp_error *err)
{
  /* the exponential integrator's step solutions are exp(t L) p0 to the
   * tolerance: their derivative is L p */
  if (!s->stepped || s->expo) {
    if (fp_operator_assemble(s->op, s->t, err) != FP_OK) return err ? err->code : FP_ERR_NUMERIC;
    fp_operator_apply(s->op, fp_solver_state(s), dpdt);
    return FP_OK;
  }
  int flag = CVodeGetDky(s->cvode, s->t, 1, s->dky);
  if (flag != CV_SUCCESS) return cvode_failed(s, err, flag, "CVodeGetDky");
  memcpy(dpdt, N_VGetArrayPointer(s->dky), fp_operator_grid(s->op)->ncells * sizeof *dpdt);
  return FP_OK;
}

double fp_solver_time(const fp_solver *s) { return s->t; }
int fp_solver_unreserved_clones(const fp_solver *s) { return s->unreserved_clones; }
const double *fp_solver_state(const fp_solver *s)
{
  return s->expo ? fp_expo_state(s->expo) : N_VGetArrayPointer(s->y);
}

void fp_solver_get_stats(const fp_solver *s, fp_solver_stats *st)
{
  memset(st, 0, sizeof *st);
  if (s->expo) {
    fp_expo_stats es;
    fp_expo_get_stats(s->expo, &es);
    st->steps = es.steps;
    st->rhs_evals = es.applications;
    st->err_test_fails = es.rejected;
    st->last_order = es.last_krylov_dim;
    st->last_step = es.last_step;
    st->roundoff_negatives_zeroed = es.zeroed;
    return;
  }
  void *m = s->cvode;
  CVodeGetNumSteps(m, &st->steps);
  CVodeGetNumRhsEvals(m, &st->rhs_evals);
  CVodeGetNumLinSolvSetups(m, &st->lin_setups);
  CVodeGetNumErrTestFails(m, &st->err_test_fails);
  CVodeGetNumNonlinSolvIters(m, &st->nonlin_iters);
  CVodeGetNumNonlinSolvConvFails(m, &st->nonlin_conv_fails);
  CVodeGetLastOrder(m, &st->last_order);
  CVodeGetLastStep(m, &st->last_step);
  st->roundoff_negatives_zeroed = s->clamped;
  if (s->kind == FP_LINSOL_GMRES) {
    CVodeGetNumLinIters(m, &st->lin_iters);
    CVodeGetNumLinConvFails(m, &st->lin_conv_fails);
    CVodeGetNumPrecEvals(m, &st->prec_evals);
    CVodeGetNumPrecSolves(m, &st->prec_solves);
    CVodeGetNumJtimesEvals(m, &st->jtimes_evals);
  } else {
    CVodeGetNumJacEvals(m, &st->jac_evals);
  }
}

const char *fp_solver_linear_solver_name(const fp_solver *s)
{
  if (s->expo) return "none";
  if (s->kind == FP_LINSOL_GMRES) return s->fft ? "gmres+fft" : "gmres";
  return fp_linear_solver_name(s->kind);
}

void fp_solver_print_stats(const fp_solver *s, FILE *f)
{
  fp_solver_stats st;
  fp_solver_get_stats(s, &st);
  fprintf(f, "rtol: %.3e\nrtol_auto: %s\n", s->rtol,
          s->rtol_auto ? "yes (from the spatial error level of p(0))" : "no");
  fprintf(f, "integrator: %s\n", fp_integrator_name(s->integrator));
  if (s->expo) {
    fprintf(f, "linear_solver: none\n");
    fp_expo_stats es;
    fp_expo_get_stats(s->expo, &es);
    fprintf(f, "steps: %ld\nchebyshev_steps: %ld\nspectral_bound: %.6g\noperator_applications: %ld\n"
               "rejected_steps: %ld\nlast_terms: %d\nlast_step: %.6g\n"
               "negatives_zeroed: %ld (values in (-atol, 0) set to 0)\n",
            st.steps, es.chebyshev_steps, es.spectral_bound, st.rhs_evals, st.err_test_fails,
            st.last_order, st.last_step, st.roundoff_negatives_zeroed);
    return;
  }
  fprintf(f, "linear_solver: %s\n", fp_solver_linear_solver_name(s));
  fprintf(f, "steps: %ld\nrhs_evals: %ld\nlinear_setups: %ld\njacobian_evals: %ld\n", st.steps,
          st.rhs_evals, st.lin_setups, st.jac_evals);
  fprintf(f, "nonlinear_iters: %ld\nnonlinear_conv_fails: %ld\nerror_test_fails: %ld\n",
          st.nonlin_iters, st.nonlin_conv_fails, st.err_test_fails);
  fprintf(f, "linear_iters: %ld\nlinear_conv_fails: %ld\nprec_setups: %ld\nprec_solves: %ld\n",
          st.lin_iters, st.lin_conv_fails, st.prec_evals, st.prec_solves);
  fprintf(f, "jtimes_evals: %ld\nlast_order: %d\nlast_step: %.6g\n", st.jtimes_evals,
          st.last_order, st.last_step);
  fprintf(f, "roundoff_negatives_zeroed: %ld (values in (-%g atol, 0) set to 0, mass kept)\n",
          st.roundoff_negatives_zeroed, FP_SOLVER_ROUNDOFF_NEGATIVE);
}
