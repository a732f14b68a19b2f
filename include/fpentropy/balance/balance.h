/* fpentropy: the discrete entropy balance (Appendix A of the paper, exactly).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_balance_row: every column of balance.csv at one time;
 *   - fp_balance: a workspace that evaluates a row from a density p, its
 *     reference q and (optionally) a stationary density p_ss, using the
 *     operator's face fluxes;
 *   - cell fields for snapshots: current J, entropy-production density,
 *     log(p/q).
 *
 * With l_i = log(p_i/q_i) and F_f the flux through face f from cell L to
 * cell R (docs/balance.md gives every formula and sign):
 *   kl        = sum_i p_i l_i |V|
 *   dkl_dt    = sum_i (L p)_i (l_i + 1) |V|            (exact, from the RHS)
 *   flux_form = -sum_interior F_f (l_L - l_R) |f| + boundary   (discrete A.7)
 *   boundary  = -sum_walls F_out (l + 1) |f|           (absorbing walls only)
 *   every D (faces, or the edges of the full-tensor scheme), X_f = Pe_f +
 *   log p_L - log p_R:
 *     sigma_tot = sum_interior F_f X_f |f|   (>= 0 face by face)
 *     q_hk      = sum_interior F_f (Pe_f + log q_L - log q_R) |f|
 *     sigma_hk_hs = sum F_f (Pe_f + log pss_L - log pss_R) |f|,
 *     sigma_na    = sum F_f (log(p/pss)_L - log(p/pss)_R) |f|
 *     so that dkl_dt = -sigma_tot + q_hk + boundary and
 *     sigma_tot = sigma_hk_hs + sigma_na hold to round-off, each term
 *     summed on its own (none is a remainder).  log p is exact for p > 0;
 *     see FP_BALANCE_LOG_SUBSTITUTE for p <= 0.
 */
#ifndef FPENTROPY_BALANCE_H
#define FPENTROPY_BALANCE_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/fv/operator.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_balance_row {
  double t;
  double mass, min_p, max_p;
  double kl, dkl_dt, flux_form;
  double sigma_tot, q_hk, boundary;
  double residual;       /* dkl_dt - (-sigma_tot + q_hk + boundary) */
  double residual_a7;    /* dkl_dt - flux_form */
  double dkl_dt_fd;      /* independent: from CVODE's dense output (NAN if not given) */
  bool has_split;        /* a stationary density was supplied */
  double sigma_hk_hs, sigma_na;
  double split_residual; /* sigma_tot - sigma_hk_hs - sigma_na */
  double kl_scale;       /* sum_i |p_i l_i| |V|: what the round-off of kl is relative to */
  double scale;          /* sum of the magnitudes of the terms the identities add up:
                            the size that round-off is relative to */
  double min_face_sigma; /* smallest face term F_f X_f |f| (>= 0 up to round-off) */
  double current_l1;     /* sum over interior faces of |F_f| |f|: zero iff J = 0 */
  size_t nonpositive_cells;   /* cells with p <= 0: no logarithm (reported, see below) */
  double nonpositive_mass;    /* their mass (<= 0) */
  size_t nonpositive_pss_faces; /* faces where p_ss <= 0 enters the split */
} fp_balance_row;

/* Cells with p <= 0 have no log p.  They add nothing to kl (kl is the KL
 * divergence of the positive part of p, 0 log 0 = 0, so no bias); in the
 * rate columns their log p is this value (log = -744.4), the same way in
 * every column so that the identities stay exact, and their count and mass
 * are reported (summary.txt, verify).  Positive values, subnormal ones
 * included, enter with their exact logarithm. */
#define FP_BALANCE_LOG_SUBSTITUTE 4.9406564584124654e-324

/* The former floor, still used by sample-based code outside the balance. */
#define FP_BALANCE_FLOOR 1e-300

typedef struct fp_balance fp_balance; /* opaque */

/* A workspace for operator `op` (which must outlive it); every column comes
 * from the operator's faces or edges.
 * Errors: FP_ERR_ARG (NULL), FP_ERR_NOMEM.  Ownership: fp_balance_destroy(). */
FP_API int fp_balance_create(fp_operator *op, fp_balance **out, fp_error *err);

/* Release a workspace; NULL and *b == NULL are no-ops; sets *b to NULL. */
FP_API void fp_balance_destroy(fp_balance **b);

/* Evaluate every column at time t (the operator must be assembled at t).
 *   p      density (ncells);   q  reference density (ncells, > 0);
 *   dpdt_dense  CVODE's dense-output derivative at t (NULL: dkl_dt_fd = NAN);
 *   p_ss   stationary density of the frozen dynamics (NULL: no split).
 * Errors: FP_ERR_NUMERIC if a column is not finite. */
FP_API int fp_balance_compute(fp_balance *b, double t, const double *p, const double *q,
                       const double *dpdt_dense, const double *p_ss, fp_balance_row *row,
                       fp_error *err);

/* Cell fields from the last fp_balance_compute():
 *   current:    dim values per cell (J_x, J_y, J_z interleaved);
 *   production: entropy production per unit volume, half of each adjacent
 *               face (edge) term F_f X_f |f| / |V| (>= 0 cell by cell);
 *   log_ratio:  log(p/q) per cell.
 * Pointers stay valid until the workspace is destroyed. */
FP_API const double *fp_balance_current(const fp_balance *b);
FP_API const double *fp_balance_production(const fp_balance *b);
FP_API const double *fp_balance_log_ratio(const fp_balance *b);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_BALANCE_H */
