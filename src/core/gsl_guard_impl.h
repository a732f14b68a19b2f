/* fpentropy (internal): GSL's error handler switched off for the span of a library call.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GSL's default handler aborts the process.  The library checks every GSL
 * return code itself, and a C callback of the caller's (fp_expr_create_fn)
 * may call GSL too, so every public entry point that reaches GSL runs with
 * the handler off and puts the caller's handler back on return.  Guards
 * nest (each restores what it found).  GSL keeps one handler per process:
 * a host that changes it from another thread while a library call runs
 * races with the guard, as it would with any GSL code. */
#ifndef FPENTROPY_GSL_GUARD_IMPL_H
#define FPENTROPY_GSL_GUARD_IMPL_H

#include <gsl/gsl_errno.h>

typedef struct fp_gsl_guard {
  gsl_error_handler_t *saved;
} fp_gsl_guard;

static inline fp_gsl_guard fp_gsl_guard_begin(void)
{
  fp_gsl_guard g = {gsl_set_error_handler_off()};
  return g;
}

static inline void fp_gsl_guard_end(fp_gsl_guard g) { gsl_set_error_handler(g.saved); }

#endif /* FPENTROPY_GSL_GUARD_IMPL_H */
