/* fpentropy (internal): small text helpers (see text_impl.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/text_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fp_text_append_item(char *buf, size_t size, const char *item)
{
  size_t used = strlen(buf);
  if (used + 1 >= size) return;
  snprintf(buf + used, size - used, "%s%s", used ? ", " : "", item);
}

void fp_text_format_real(char *buf, size_t size, double x)
{
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) return;
  }
}

static void trim_span(const char **s, size_t *len)
{
  while (*len > 0 && isspace((unsigned char)**s)) (*s)++, (*len)--;
  while (*len > 0 && isspace((unsigned char)(*s)[*len - 1])) (*len)--;
}

void fp_spec_split(const char *spec, const char **name, size_t *name_len, const char **params)
{
  const char *colon = strchr(spec, ':');
  *name = spec;
  *name_len = colon ? (size_t)(colon - spec) : strlen(spec);
  trim_span(name, name_len);
  *params = colon ? colon + 1 : NULL;
}

int fp_spec_next(const char **cursor, fp_spec_item *item)
{
  const char *s = *cursor;
  memset(item, 0, sizeof *item);
  for (;;) {
    if (!s) return FP_SPEC_END;
    const char *sep = strpbrk(s, ",;");
    size_t len = sep ? (size_t)(sep - s) : strlen(s);
    const char *text = s;
    s = sep ? sep + 1 : NULL;
    *cursor = s;
    trim_span(&text, &len);
    if (len == 0) {
      if (!s) return FP_SPEC_END; /* "name:" or a trailing separator */
      return FP_SPEC_EMPTY;
    }
    const char *eq = memchr(text, '=', len);
    if (!eq) {
      item->key = text;
      item->key_len = len;
      return FP_SPEC_NO_EQUALS;
    }
    item->key = text;
    item->key_len = (size_t)(eq - text);
    item->value = eq + 1;
    item->value_len = len - item->key_len - 1;
    trim_span(&item->key, &item->key_len);
    trim_span(&item->value, &item->value_len);
    return FP_SPEC_ITEM;
  }
}
