/* fpentropy (internal): helpers that fill an fp_error.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FPENTROPY_ERROR_IMPL_H
#define FPENTROPY_ERROR_IMPL_H

#include <stddef.h>

#include <fpentropy/core/status.h>

/* Format a message into err (if not NULL), set err->code, and return `code`,
 * so that a failing path reads `return fp_fail(err, FP_ERR_ARG, "...", ...);`. */
int fp_fail(fp_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in err with a context ("reading case x.ini: ..."),
 * set err->code to `code`, and return `code`. */
int fp_fail_context(fp_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write a point as "x = 1" (1D), "(x, y) = (1, 2)" or "(x, y, z) = (...)". */
void fp_format_point(char *buf, size_t size, int dim, const double x[3]);

#endif /* FPENTROPY_ERROR_IMPL_H */
