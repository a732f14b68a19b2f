/* fpentropy: the whole public API.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Modules (one header each):
 *   status.h    status codes and error reports
 *   grid.h      the cell-centred box grid
 *   expr.h      expressions in x, y, z, t and named constants
 *   case.h      case files: the description of a problem
 *   fields.h    drift and diffusion fields evaluated pointwise
 *   density.h   densities on the grid
 *   operator.h  the finite-volume operator and its face fluxes
 *   solver.h    CVODE time stepping
 *   gaussian.h  closed forms for linear-Gaussian (Ornstein-Uhlenbeck) cases
 *   output.h    atomic files, CSV tables, VTK and column snapshots
 *   particles.h particle streams (Euler-Maruyama) of a case
 *   policy.h    retraining policies (one interface, a registry)
 *   retrain_cost.h  the cost of a retraining schedule, 002 excess loss
 *   oracle.h    the cost-minimising schedule (dynamic programming)
 *   policy_study.h  policies driven by exact PDE divergences
 *   run.h       one complete run of a case
 *   balance.h   the discrete entropy balance
 *   stationary.h the stationary density of the discrete dynamics
 *   verify.h    verification of Appendix A on a case
 *   version.h   versions for provenance
 */
#ifndef FPENTROPY_FPENTROPY_H
#define FPENTROPY_FPENTROPY_H

#include <fpentropy/case.h>
#include <fpentropy/compare.h>
#include <fpentropy/density.h>
#include <fpentropy/estimator.h>
#include <fpentropy/expr.h>
#include <fpentropy/fields.h>
#include <fpentropy/gaussian.h>
#include <fpentropy/grid.h>
#include <fpentropy/operator.h>
#include <fpentropy/output.h>
#include <fpentropy/oracle.h>
#include <fpentropy/particles.h>
#include <fpentropy/policy.h>
#include <fpentropy/policy_study.h>
#include <fpentropy/retrain_cost.h>
#include <fpentropy/run.h>
#include <fpentropy/stationary.h>
#include <fpentropy/balance.h>
#include <fpentropy/solver.h>
#include <fpentropy/status.h>
#include <fpentropy/verify.h>
#include <fpentropy/version.h>

#endif /* FPENTROPY_FPENTROPY_H */
