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
 * potential drift, second order for smooth solutions.  Off-diagonal D
 * (full tensor) uses edges instead of faces: H^-1 D H^-1 = sum_e w_e e e^T
 * (Selling's decomposition, selling.h) with offsets e in the 3^d
 * neighbourhood, and each edge from cell L to L + e carries the two-point
 * flux w_e h_axis [B(-Pe) p_L - B(Pe) p_R], Pe = (H e)^T D^-1 v: still an
 * M-matrix, exact for the Boltzmann state, second order (docs/scheme.md).
 * Reflecting walls carry no flux; periodic axes wrap around.
 *     dp_i/dt = -(1/|V_i|) sum over faces of F_f |f| (outward),
 * so mass is conserved to round-off except through absorbing walls.
 */
#ifndef FPENTROPY_OPERATOR_H
#define FPENTROPY_OPERATOR_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/problem/fields.h>
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
  const signed char *offset;/* full tensor: 3 per face, the cell offset e = R - L (axis
                               unit vector at a wall); NULL for diagonal D */
} fp_face_view;

/* Read-only view of L in compressed sparse row form (column indices sorted). */
typedef struct fp_csr_view {
  size_t rows;
  size_t nnz;
  const int64_t *row_ptr;   /* rows + 1 entries */
  const int64_t *col;       /* nnz entries */
  const double *value;      /* nnz entries */
} fp_csr_view;

/* Build the operator on `grid` (copied) for `fields` (the spec is copied; its
 * expressions are borrowed and must outlive the operator) and assemble it at
 * t = 0.  Errors: FP_ERR_ARG (NULL, a grid that fp_grid_init rejects, a
 * dimension that differs from the grid's), FP_ERR_NUMERIC when D_kk <= 0 or a
 * coefficient is not finite at some face (the message gives the point),
 * FP_ERR_NOMEM, FP_ERR_UNSUPPORTED for more than 2^32 - 1 cells.
 * Ownership: fp_operator_destroy(). */
FP_API int fp_operator_create_on(const fp_grid *grid, const fp_field_spec *fields, fp_operator **out,
                          fp_error *err);

/* The same on the grid and fields of case `c` (which must outlive it). */
FP_API int fp_operator_create(const fp_case *c, fp_operator **out, fp_error *err);

/* Release an operator; NULL and *op == NULL are no-ops; sets *op to NULL. */
FP_API void fp_operator_destroy(fp_operator **op);

/* The field spec the operator was built from (its expressions are the
 * caller's), e.g. for a balance workspace of the same dynamics. */
FP_API const fp_field_spec *fp_operator_field_spec(const fp_operator *op);

/* The grid the operator was built on (owned by op). */
FP_API const fp_grid *fp_operator_grid(const fp_operator *op);

/* True when the fields refer to t (L must be reassembled for each new t). */
FP_API bool fp_operator_time_dependent(const fp_operator *op);

/* True when every flux is two-point (always, since the full-tensor scheme
 * is two-point on Selling's offsets): L is then an M-matrix. */
FP_API bool fp_operator_two_point(const fp_operator *op);

/* True for a full tensor D (off-diagonal entries, dim >= 2): the faces are
 * then edges between a cell and its 3^d - 1 neighbours (docs/scheme.md). */
FP_API bool fp_operator_full_tensor(const fp_operator *op);

/* Make L = L(t).  A no-op for time-independent fields or when already at t.
 * Evaluates the case's expressions at every face (not thread-safe). */
FP_API int fp_operator_assemble(fp_operator *op, double t, fp_error *err);

/* The time of the last assembly. */
FP_API double fp_operator_time(const fp_operator *op);

/* dpdt = L p (at the assembled time), evaluated in flux form: the face
 * fluxes first, then dp_i/dt = sum_k (F_below - F_above) / h_k, so mass is
 * conserved to the round-off of the differences.  p and dpdt have ncells
 * entries and must not overlap.  Uses a buffer inside op: one thread per
 * operator. */
FP_API void fp_operator_apply(fp_operator *op, const double *p, double *dpdt);

/* The same product by the general path (face stencils and index arrays),
 * which fp_operator_apply() replaces by a structured-grid stencil for
 * diagonal D with bit-for-bit equal results; for tests and benchmarks. */
FP_API void fp_operator_apply_general(fp_operator *op, const double *p, double *dpdt);

/* flux[f] = F_f for every face (fp_operator_faces().count entries). */
FP_API void fp_operator_face_fluxes(const fp_operator *op, const double *p, double *flux);

/* F_f from the face view (every flux is two-point: faces for diagonal D,
 * Selling edges for a full tensor). */
FP_API double fp_operator_two_point_flux(const fp_face_view *faces, size_t f, const double *p);

/* Read-only views of the faces and of L at the last assembly (pointers into
 * op, valid until it is reassembled or destroyed). */
FP_API void fp_operator_faces(const fp_operator *op, fp_face_view *view);
FP_API void fp_operator_matrix(const fp_operator *op, fp_csr_view *view);

/* Lower and upper bandwidth of L (for band solvers). */
FP_API void fp_operator_bandwidth(const fp_operator *op, size_t *lower, size_t *upper);

/* Mean of D_kk over the faces of each axis (for constant-coefficient
 * preconditioners). */
FP_API void fp_operator_mean_diffusion(const fp_operator *op, double mean_D[FP_MAX_DIM]);

/* B(z) = z / (e^z - 1), B(0) = 1, evaluated without cancellation or overflow. */
FP_API double fp_bernoulli(double z);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_OPERATOR_H */
