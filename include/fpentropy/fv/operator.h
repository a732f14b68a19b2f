/* fpentropy: the finite-volume Fokker-Planck operator dp/dt = L(t) p.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_operator: faces, face fluxes and the sparse matrix L(t) of the
 *     cell-centred finite-volume scheme (docs/scheme.md);
 *   - views of the faces (for the entropy-balance diagnostics) and of L in
 *     compressed sparse row form (for the Jacobian);
 *   - fp_bernoulli(), the exponential-fitting weight B(z) = z / (e^z - 1).
 *
 * Scheme.  Each face f between cells L and R (R above L along the face's
 * axis k) carries the flux F_f, positive from L to R:
 *     F_f = (D_kk/d) [B(-Pe) p_L - B(Pe) p_R]  +  cross terms,
 *     Pe  = d v_k / D_kk (or the potential difference, see fields.h),
 * with d the distance between the two points that carry p (h_k inside, h_k/2
 * from a cell centre to an absorbing wall, where p = 0).  This is the
 * Scharfetter-Gummel exponentially fitted flux: an M-matrix for diagonal D
 * (p >= 0 is preserved), exact zero flux at the Boltzmann state of a
 * potential drift, second order for smooth solutions.  Off-diagonal D_kj
 * adds -D_kj (d_j p)_f with (d_j p)_f the mean of the centred differences in
 * the two cells (one-sided at walls); these cross terms are not monotone.
 * Reflecting walls carry no flux; periodic axes wrap around.
 *     dp_i/dt = -(1/|V_i|) sum over faces of F_f |f| (outward),
 * so mass is conserved to round-off except through absorbing walls.
 */
#ifndef FPENTROPY_OPERATOR_H
#define FPENTROPY_OPERATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/problem/grid.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the missing cell of a wall face (p = 0 there). */
#define FP_NO_CELL UINT32_MAX

typedef struct fp_operator fp_operator; /* opaque */

/* Read-only view of the faces.  Arrays have `count` entries and stay valid
 * until the operator is destroyed; values change on reassembly. */
typedef struct fp_face_view {
  size_t count;
  const uint32_t *left;     /* cell below the face, or FP_NO_CELL at a lower wall */
  const uint32_t *right;    /* cell above the face, or FP_NO_CELL at an upper wall */
  const unsigned char *axis;/* 0, 1, 2 */
  const double *pe;         /* Peclet number of the two-point part */
  const double *dcoef;      /* D_kk / d (d: distance between the two points) */
  double area[3];           /* |f| for faces of each axis: cell_volume / h_k */
  const int64_t *below[3];  /* per axis: the face under each cell, -1 if none */
  const int64_t *above[3];  /* per axis: the face over each cell, -1 if none */
} fp_face_view;

/* Read-only view of L in compressed sparse row form (column indices sorted). */
typedef struct fp_csr_view {
  size_t rows;
  size_t nnz;
  const int64_t *row_ptr;   /* rows + 1 entries */
  const int64_t *col;       /* nnz entries */
  const double *value;      /* nnz entries */
} fp_csr_view;

/* Build the operator of case `c` and assemble it at t = 0.
 * Errors: FP_ERR_NUMERIC when D_kk <= 0 or a coefficient is not finite at some
 * face (the message gives the point), FP_ERR_NOMEM, FP_ERR_UNSUPPORTED for
 * more than 2^32 - 1 cells.  The case must outlive the operator.
 * Ownership: fp_operator_destroy(). */
int fp_operator_create(const fp_case *c, fp_operator **out, fp_error *err);
void fp_operator_destroy(fp_operator **op);

const fp_grid *fp_operator_grid(const fp_operator *op);

/* True when the fields refer to t (L must be reassembled for each new t). */
bool fp_operator_time_dependent(const fp_operator *op);

/* True when every flux is two-point (diagonal D): L is then an M-matrix. */
bool fp_operator_two_point(const fp_operator *op);

/* Make L = L(t).  A no-op for time-independent fields or when already at t.
 * Evaluates the case's expressions at every face (not thread-safe). */
int fp_operator_assemble(fp_operator *op, double t, fp_error *err);

/* The time of the last assembly. */
double fp_operator_time(const fp_operator *op);

/* dpdt = L p (at the assembled time), evaluated in flux form: the face
 * fluxes first, then dp_i/dt = sum_k (F_below - F_above) / h_k, so mass is
 * conserved to the round-off of the differences.  p and dpdt have ncells
 * entries and must not overlap.  Uses a buffer inside op: one thread per
 * operator. */
void fp_operator_apply(fp_operator *op, const double *p, double *dpdt);

/* The same product by the general path (face stencils and index arrays),
 * which fp_operator_apply() replaces by a structured-grid stencil for
 * diagonal D with bit-for-bit equal results; for tests and benchmarks. */
void fp_operator_apply_general(fp_operator *op, const double *p, double *dpdt);

/* flux[f] = F_f for every face (fp_operator_faces().count entries). */
void fp_operator_face_fluxes(const fp_operator *op, const double *p, double *flux);

/* Two-point part of F_f only (equal to F_f for diagonal D). */
double fp_operator_two_point_flux(const fp_face_view *faces, size_t f, const double *p);

void fp_operator_faces(const fp_operator *op, fp_face_view *view);
void fp_operator_matrix(const fp_operator *op, fp_csr_view *view);

/* Lower and upper bandwidth of L (for band solvers). */
void fp_operator_bandwidth(const fp_operator *op, size_t *lower, size_t *upper);

/* Mean of D_kk over the faces of each axis (for constant-coefficient
 * preconditioners). */
void fp_operator_mean_diffusion(const fp_operator *op, double mean_D[FP_MAX_DIM]);

/* B(z) = z / (e^z - 1), B(0) = 1, evaluated without cancellation or overflow. */
double fp_bernoulli(double z);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_OPERATOR_H */
