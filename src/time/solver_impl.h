/* fpentropy (internal): what the solver's tests look at beyond the public API.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FPENTROPY_SOLVER_IMPL_H
#define FPENTROPY_SOLVER_IMPL_H

#include <fpentropy/time/solver.h>

/* How many of the vectors SUNDIALS cloned while the solver was set up and
 * first advanced had to be allocated there, beyond those the solver set
 * aside beforehand (fp_nvector_reserve).  0 means a failing allocation could
 * only happen where the solver reports it. */
int fp_solver_unreserved_clones(const fp_solver *s);

#endif /* FPENTROPY_SOLVER_IMPL_H */
