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

/* The one spec grammar of the estimator and policy registries:
 *     spec = name [ ":" [ item { sep item } [ sep ] ] ]      sep = "," | ";"
 *     item = key "=" value
 * Spaces around the name, keys and values are ignored; a value holds no
 * separator.  Each registry keeps its own parameter tables and messages;
 * the canonical forms they print (estimators with ';', so that a spec can
 * be a CSV column name; policies with ',') both read back through this. */

/* The trimmed name of a spec and the text after its ':' (NULL without one). */
void fp_spec_split(const char *spec, const char **name, size_t *name_len, const char **params);

/* One key=value item, trimmed, as pointers into the spec. */
typedef struct fp_spec_item {
  const char *key, *value;
  size_t key_len, value_len;
} fp_spec_item;

enum { FP_SPEC_END = 0, FP_SPEC_ITEM = 1, FP_SPEC_EMPTY = -1, FP_SPEC_NO_EQUALS = -2 };

/* Read the next item from *cursor (start with the params of fp_spec_split;
 * NULL or blank means no items) and advance it.  Returns FP_SPEC_ITEM with
 * *item set, FP_SPEC_END, or an error: FP_SPEC_EMPTY (an empty item before
 * another separator) or FP_SPEC_NO_EQUALS (then item->key/key_len hold the
 * offending text). */
int fp_spec_next(const char **cursor, fp_spec_item *item);

#endif /* FPENTROPY_TEXT_IMPL_H */
