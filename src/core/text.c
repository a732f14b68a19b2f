/* fpentropy (internal): small text helpers (see text_impl.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/text_impl.h"

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
