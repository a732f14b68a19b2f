/* fpentropy: status texts and error reports.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/error_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FP_EXPAND_TO_TEXT(name, text) text,
static const char *const status_texts[] = {FP_STATUS_LIST(FP_EXPAND_TO_TEXT)};
#undef FP_EXPAND_TO_TEXT

const char *fp_strerror(int code)
{
  if (code < 0 || code >= FP_STATUS_COUNT) return "unknown status";
  return status_texts[code];
}

void fp_error_clear(fp_error *err)
{
  if (!err) return;
  err->code = FP_OK;
  err->message[0] = '\0';
}

int fp_fail(fp_error *err, int code, const char *fmt, ...)
{
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}

int fp_fail_context(fp_error *err, int code, const char *fmt, ...)
{
  if (err) {
    char context[FP_ERROR_MESSAGE_SIZE];
    char inner[FP_ERROR_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    if (err->code == FP_OK || err->message[0] == '\0')
      snprintf(inner, sizeof inner, "%s", fp_strerror(code));
    else
      snprintf(inner, sizeof inner, "%s", err->message);
    /* Keep the end of the inner message if the two do not fit together. */
    int room = (int)sizeof err->message - 3;
    int keep_context = (int)strlen(context) < room / 2 ? (int)strlen(context) : room / 2;
    snprintf(err->message, sizeof err->message, "%.*s: %.*s", keep_context, context,
             room - keep_context, inner);
    err->code = code;
  }
  return code;
}

void fp_format_point(char *buf, size_t size, int dim, const double x[3])
{
  if (dim <= 1)
    snprintf(buf, size, "x = %g", x[0]);
  else if (dim == 2)
    snprintf(buf, size, "(x, y) = (%g, %g)", x[0], x[1]);
  else
    snprintf(buf, size, "(x, y, z) = (%g, %g, %g)", x[0], x[1], x[2]);
}
