/* fpentropy: version information (for provenance in output files).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FPENTROPY_VERSION_H
#define FPENTROPY_VERSION_H

#include <fpentropy/export.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "fpentropy X.Y.Z" */
FP_API const char *fp_version(void);

/* Write one line naming the versions of fpentropy, SUNDIALS and GSL (the
 * headers it was built with) and FFTW (the library it runs with) into buf. */
FP_API void fp_library_versions(char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_VERSION_H */
