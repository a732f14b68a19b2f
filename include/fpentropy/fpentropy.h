/* fpentropy: the whole public API.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Headers are grouped by pipeline stage (the same folders as src/):
 *   core/      status.h (status codes, error reports), version.h
 *   problem/   problem.h (build a problem in code), grid.h, expr.h, case.h,
 *              fields.h, density.h, reference.h (initial and reference
 *              densities on the grid, closed forms): what is solved
 *   fv/        operator.h (finite-volume operator, face fluxes),
 *              stationary.h (stationary density of the discrete dynamics)
 *   time/      solver.h (CVODE stepping), run.h (one complete run)
 *   balance/   balance.h (discrete entropy balance), gaussian.h (OU closed
 *              forms), verify.h (Appendix A checks)
 *   streams/   particles.h (SDE particles), estimator.h (sample KL
 *              estimators), compare.h (estimators against the PDE)
 *   policy/    policy.h (retraining policies), retrain_cost.h, oracle.h,
 *              policy_study.h (policies on exact and sampled divergences)
 *   io/        output.h (atomic files, CSV tables, snapshots),
 *              sweep.h (sweep plans, manifest, gathered table)
 */
#ifndef FPENTROPY_FPENTROPY_H
#define FPENTROPY_FPENTROPY_H

#include <fpentropy/balance/balance.h>
#include <fpentropy/balance/gaussian.h>
#include <fpentropy/balance/richardson.h>
#include <fpentropy/balance/verify.h>
#include <fpentropy/core/status.h>
#include <fpentropy/core/version.h>
#include <fpentropy/fv/operator.h>
#include <fpentropy/fv/selling.h>
#include <fpentropy/fv/stationary.h>
#include <fpentropy/io/output.h>
#include <fpentropy/io/samples.h>
#include <fpentropy/io/sweep.h>
#include <fpentropy/policy/loss_objective.h>
#include <fpentropy/io/vti.h>
#include <fpentropy/policy/oracle.h>
#include <fpentropy/policy/policy.h>
#include <fpentropy/policy/debt_study.h>
#include <fpentropy/policy/nig.h>
#include <fpentropy/policy/policy_study.h>
#include <fpentropy/policy/retrain_cost.h>
#include <fpentropy/policy/stream.h>
#include <fpentropy/problem/case.h>
#include <fpentropy/problem/density.h>
#include <fpentropy/problem/expr.h>
#include <fpentropy/problem/fields.h>
#include <fpentropy/problem/grid.h>
#include <fpentropy/problem/problem.h>
#include <fpentropy/problem/reference.h>
#include <fpentropy/streams/compare.h>
#include <fpentropy/streams/estimator.h>
#include <fpentropy/streams/labels.h>
#include <fpentropy/streams/logistic.h>
#include <fpentropy/streams/particles.h>
#include <fpentropy/time/estimate.h>
#include <fpentropy/time/resources.h>
#include <fpentropy/time/run.h>
#include <fpentropy/time/solver.h>

#endif /* FPENTROPY_FPENTROPY_H */
