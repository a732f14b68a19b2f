/* fpentropy (internal): L p as a stencil on the structured grid (diagonal D).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * With two-point fluxes every face flux is F = A p_below + B p_above, and the
 * faces of a box grid are implied by the cell index.  The stencil stores A and
 * B per axis for the face above each cell (zero at a reflecting wall, the
 * wrap face on a periodic axis, the wall face at an absorbing upper wall) and
 * the coefficient of the absorbing lower-wall faces, and evaluates
 *     dp_i = sum_k (F_k(below i) - F_k(above i)) / h_k
 * streaming only p, the 2 dim coefficient arrays and dp: no index arrays, no
 * flux buffer.  Each flux is evaluated by the same expression in its two
 * cells, so the result is bit-for-bit the flux-form result of the general
 * path (fp_operator_apply), mass conservation included
 * (tests/unit/test_stencil.c). */
#ifndef FPENTROPY_STENCIL_IMPL_H
#define FPENTROPY_STENCIL_IMPL_H

#include <fpentropy/fv/operator.h>

typedef struct fp_stencil fp_stencil;

int fp_stencil_create(const fp_grid *g, fp_stencil **out, fp_error *err);
void fp_stencil_destroy(fp_stencil **s);

/* Refill the coefficients from the operator's faces (after each assembly):
 * A = dcoef B(-Pe), B = -dcoef B(Pe), as the general path's weights. */
void fp_stencil_update(fp_stencil *s, const fp_face_view *faces);

/* dpdt = L p; p and dpdt must not overlap. */
void fp_stencil_apply(const fp_stencil *s, const double *p, double *dpdt);

/* A copy of s for a L (a > 0): its coefficients carry a / h_k, so that
 * applying it needs no division.  Its results differ from a times
 * fp_stencil_apply's by rounding only. */
int fp_stencil_create_scaled(const fp_stencil *s, double a, fp_stencil **out, fp_error *err);

/* One step of the three-term recurrence of a Chebyshev series on L, in one
 * pass over memory (the row of a L p stays in cache): with `scaled` made by
 * fp_stencil_create_scaled(s, a, ...), for every cell
 *     v = (a L p)_i + 2 p_i - prev_i,   prev_i = v,   acc[j]_i += c[j] v
 * for the nacc >= 1 sums j (several series on the same vectors: the
 * outputs of a multi-output step).  scratch holds n[0] values.  Returns max |v|. */
double fp_stencil_recurrence(const fp_stencil *scaled, const double *p, int nacc, const double *c,
                             double *const *acc, double *prev, double *scratch);


/* The operator's stencil (operator.c), NULL when it has none (full tensors). */
const fp_stencil *fp_operator_stencil(const fp_operator *op);

#endif /* FPENTROPY_STENCIL_IMPL_H */
