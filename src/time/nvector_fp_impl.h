/* fpentropy (internal): the project's serial N_Vector for CVODE and SPGMR.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Debian's SUNDIALS libraries are built without optimisation, and CVODE with
 * N_Vector_Serial spends most of a run in their unoptimised vector kernels
 * (issue 11: 53 % of the profile).  This vector implements the same
 * operations, plus the fused and vector-array ones CVODE and SPGMR use (one
 * pass over memory where the generic fallbacks take several), compiled with
 * the project's flags.
 *
 * The content is laid out exactly like N_Vector_Serial's (length, own_data,
 * data) and the vector reports SUNDIALS_NVEC_SERIAL: SUNDIALS' direct linear
 * solvers (band, dense, KLU) accept only vectors with that id and read them
 * through N_VGetArrayPointer, which this vector supports. */
#ifndef FPENTROPY_NVECTOR_FP_IMPL_H
#define FPENTROPY_NVECTOR_FP_IMPL_H

#include <sundials/sundials_nvector.h>

/* A new vector of length n with its own (64-byte aligned) data; NULL when
 * out of memory.  Destroy with N_VDestroy. */
N_Vector fp_nvector_new(sunindextype n, SUNContext ctx);

/* A vector over the caller's array (not owned, not freed by N_VDestroy). */
N_Vector fp_nvector_wrap(sunindextype n, double *data, SUNContext ctx);

/* SUNDIALS 6.4.1's N_VClone uses the clone without checking it, so a clone
 * that fails for want of memory inside CVodeInit or SUNLinSol_SPGMR is a
 * crash, not an error code.  Before handing tmpl to SUNDIALS, its owner
 * sets aside the vectors SUNDIALS will clone from it (and from its clones):
 * then the allocations that can fail are made here, where failure is a
 * return value, and releases what is left once SUNDIALS is set up.
 * fp_nvector_reserve returns 0, or -1 when out of memory (nothing kept);
 * fp_nvector_reserve_left says how many are still set aside;
 * fp_nvector_release_reserve frees them and returns how many clones found
 * the reserve empty and allocated (0 when the count was large enough). */
int fp_nvector_reserve(N_Vector tmpl, int count);
/* A clone of w that draws on w's reserve, NULL when out of memory (unlike
 * N_VClone, which crashes then). */
N_Vector fp_nvector_clone(N_Vector w);
int fp_nvector_reserve_left(N_Vector tmpl);
int fp_nvector_release_reserve(N_Vector tmpl);

#endif /* FPENTROPY_NVECTOR_FP_IMPL_H */
