/* fpentropy: version information.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/core/version.h>

#include <fftw3.h>
#include <stdio.h>
#include <gsl/gsl_version.h>
#include <sundials/sundials_config.h>

const char *fp_version(void) { return "fpentropy " FP_VERSION; }

void fp_library_versions(char *buf, size_t size)
{
  snprintf(buf, size, "fpentropy %s; SUNDIALS %s; GSL %s; %s", FP_VERSION, SUNDIALS_VERSION,
           GSL_VERSION, fftw_version);
}
