/* fpentropy (internal): small text helpers shared by the spec parsers and
 * messages of the estimator and policy registries.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FPENTROPY_TEXT_IMPL_H
#define FPENTROPY_TEXT_IMPL_H

#include <stddef.h>

/* Append `item` to the NUL-terminated list in buf (size bytes), preceded by
 * ", " unless the list is empty; truncates safely. */
void fp_text_append_item(char *buf, size_t size, const char *item);

/* The shortest "%.*g" form of x that reads back as exactly x. */
void fp_text_format_real(char *buf, size_t size, double x);

#endif /* FPENTROPY_TEXT_IMPL_H */
