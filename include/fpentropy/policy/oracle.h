/* fpentropy: the hindsight-optimal retraining schedule.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_oracle_solve(): the schedule minimising
 *         C = c * #retrains + sum_k mismatch[k] dt_k
 *     over all 2^T schedules, for the exact data of retrain_cost.h (same
 *     convention: a retrain at k is applied at k, so mismatch[k] = 0), by
 *     dynamic programming over the last retrain time in O(T^2) time and O(T)
 *     memory beyond K;
 *   - fp_oracle_pareto(): a sweep of c giving the oracle's
 *     (#retrains, mismatch integral) points.
 *
 * Recurrence (docs/policies.md).  Let S(j, e) = sum_{k=j+1}^{e-1} K[k][j] dt_k
 * (the mismatch of the model trained at j over the periods after j up to,
 * not including, e), and G[j] the least cost of periods j..T-1 given a
 * retrain at j (its c included):
 *     G[T] = 0,
 *     G[j] = c + min_{e = j+1..T} ( S(j, e) + G[e] )      (e = T: no more)
 *     C*   = min_{e = 0..T} ( sum_{k<e} D0[k] dt_k + G[e] )
 * computed for j = T-1 down to 0 with running sums.  Ties go to the later
 * next retrain (so with c > 0 and zero mismatch nothing is retrained).
 * This is Regol et al. 2025's oracle (their Appendix, value iteration on
 * V(t, i)) and CARA's, specialised to the mismatch cost.  The oracle's cost
 * is a lower bound on the cost of every policy on the same data.
 *
 * Thread safety: pure functions; they allocate O(T) work space.
 */
#ifndef FPENTROPY_ORACLE_H
#define FPENTROPY_ORACLE_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>

#include <fpentropy/policy/retrain_cost.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The optimal schedule for retrain cost c >= 0: schedule (T booleans, may be
 * NULL) and *out (count, mismatch integral and cost of that schedule, as
 * fp_retrain_evaluate() gives them).  Returns FP_OK, FP_ERR_ARG (invalid
 * problem or c) or FP_ERR_NOMEM. */
FP_API int fp_oracle_solve(const fp_retrain_problem *pb, double c, bool *schedule,
                    fp_retrain_cost *out, fp_error *err);

/* One point of an oracle sweep. */
typedef struct fp_pareto_point {
  double c;                 /* retrain cost the oracle was run with */
  size_t n_retrains;        /* its number of retrains */
  double mismatch_integral; /* its sum_k mismatch[k] dt_k */
  double cost;              /* c n_retrains + mismatch_integral */
} fp_pareto_point;

/* Run the oracle for each of the nc costs c[i] >= 0 and write the points to
 * out[0..nc-1] (in the order given).  As c grows the oracle's retrain count
 * does not grow and its mismatch integral does not shrink (exchange
 * argument on C_c), and every point lies on the lower convex hull of the
 * achievable (#retrains, mismatch integral) pairs: a Pareto frontier, up to
 * the counts that no c selects (non-convex parts).  Returns FP_OK, FP_ERR_ARG or
 * FP_ERR_NOMEM. */
FP_API int fp_oracle_pareto(const fp_retrain_problem *pb, const double *c, size_t nc,
                     fp_pareto_point *out, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_ORACLE_H */
