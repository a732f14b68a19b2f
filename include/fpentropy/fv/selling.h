/* fpentropy: Selling's decomposition of a 2x2 or 3x3 symmetric positive definite matrix.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains fp_selling_decompose(): for a symmetric positive
 * definite M (dimension 2 or 3) it finds an M-obtuse superbase by Selling's
 * reduction and returns the decomposition
 *     M = sum_k w_k e_k e_k^T,   w_k >= 0,  e_k integer vectors,
 * with 3 terms in 2D and 6 in 3D (some weights may be 0).  The full-tensor
 * scheme (docs/scheme.md) uses it with M = H^-1 D H^-1 (H = diag(h)) to
 * write the diffusion tensor as non-negative weights on grid offsets, each
 * of which carries a two-point exponentially fitted flux: the operator is
 * then an M-matrix for every SPD D.  In 2D and 3D the decomposition (as a
 * map offset -> weight) does not depend on which obtuse superbase is found,
 * so the weights are continuous functions of M.
 */
#ifndef FPENTROPY_SELLING_H
#define FPENTROPY_SELLING_H

#include <fpentropy/export.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FP_SELLING_MAX_TERMS 6

typedef struct fp_selling {
  int terms;                          /* 3 (2D) or 6 (3D) */
  int offset[FP_SELLING_MAX_TERMS][3];/* e_k, sign chosen so that the first non-zero entry is > 0 */
  double weight[FP_SELLING_MAX_TERMS];/* w_k >= 0 */
} fp_selling;

/* Decompose M (entries M[i][j], i, j < dim; only dim = 2, 3; not modified;
 * not const only because C17 cannot pass double[3][3] as const double[3][3]).  Returns 0, or
 * -1 when M is not positive definite or not finite (the reduction would not
 * end). */
FP_API int fp_selling_decompose(double M[3][3], int dim, fp_selling *out);

/* The weight of offset e (either sign) in the decomposition, 0 if absent. */
FP_API double fp_selling_weight(const fp_selling *s, const int e[3]);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_SELLING_H */
