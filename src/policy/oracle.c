/* fpentropy: the hindsight-optimal retraining schedule (dynamic programming
 * over the last retrain time; recurrence in oracle.h and docs/policies.md).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/policy/oracle.h>

#include <math.h>
#include <stdlib.h>

#include "core/error_impl.h"

int fp_oracle_solve(const fp_retrain_problem *pb, double c, bool *schedule,
                    fp_retrain_cost *out, fp_error *err)
{
  int rc = fp_retrain_problem_check(pb, err);
  if (rc != FP_OK) return rc;
  if (!(c >= 0.0) || !isfinite(c))
    return fp_fail(err, FP_ERR_ARG, "oracle: the retrain cost c = %g must be finite and >= 0", c);
  if (!out) return fp_fail(err, FP_ERR_ARG, "oracle: out is NULL");

  const size_t T = pb->T;
  double *G = malloc((T + 1) * sizeof *G);     /* least cost of j..T-1, retrain at j */
  size_t *next = malloc((T + 1) * sizeof *next); /* the next retrain after j (T: none) */
  bool *plan = malloc(T * sizeof *plan);
  if (!G || !next || !plan) {
    rc = fp_fail(err, FP_ERR_NOMEM, "oracle: out of memory for T = %zu", T);
    goto release;
  }

  G[T] = 0.0;
  for (size_t j = T; j-- > 0;) {
    /* e = j + 1 first (nothing charged between j and e), then e = j+2..T,
     * adding the period e-1 served by the model trained at j each time. */
    double run = 0.0;
    double best = G[j + 1];
    size_t best_e = j + 1;
    for (size_t e = j + 2; e <= T; e++) {
      size_t k = e - 1;
      run += pb->K[k * T + j] * (pb->dt ? pb->dt[k] : pb->dt_const);
      double candidate = run + G[e];
      if (candidate <= best) { /* ties: the later next retrain */
        best = candidate;
        best_e = e;
      }
    }
    G[j] = c + best;
    next[j] = best_e;
  }

  /* The first retrain e (T: never), the periods before it on the case's q_ref. */
  double run = 0.0;
  double best = G[0];
  size_t first = 0;
  for (size_t e = 1; e <= T; e++) {
    size_t k = e - 1;
    double d0 = pb->D0 ? pb->D0[k] : (k == 0 ? 0.0 : pb->K[k * T]);
    run += d0 * (pb->dt ? pb->dt[k] : pb->dt_const);
    double candidate = run + G[e];
    if (candidate <= best) {
      best = candidate;
      first = e;
    }
  }

  for (size_t k = 0; k < T; k++) plan[k] = false;
  for (size_t e = first; e < T; e = next[e]) plan[e] = true;

  /* Report the schedule's cost as the evaluator computes it, so that the
   * oracle and every policy are scored by the same code. */
  rc = fp_retrain_evaluate(pb, c, plan, NULL, NULL, out, err);
  if (rc == FP_OK && schedule)
    for (size_t k = 0; k < T; k++) schedule[k] = plan[k];

release:
  free(plan);
  free(next);
  free(G);
  return rc;
}

int fp_oracle_pareto(const fp_retrain_problem *pb, const double *c, size_t nc,
                     fp_pareto_point *out, fp_error *err)
{
  if (nc > 0 && (!c || !out)) return fp_fail(err, FP_ERR_ARG, "oracle sweep: NULL array");
  for (size_t i = 0; i < nc; i++) {
    fp_retrain_cost cost;
    int rc = fp_oracle_solve(pb, c[i], NULL, &cost, err);
    if (rc != FP_OK) return fp_fail_context(err, rc, "oracle sweep, c[%zu] = %g", i, c[i]);
    out[i].c = c[i];
    out[i].n_retrains = cost.n_retrains;
    out[i].mismatch_integral = cost.mismatch_integral;
    out[i].cost = cost.cost;
  }
  return FP_OK;
}
