/* fpentropy: status codes and error reports.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - FP_STATUS_LIST, the one list that defines every status code and its text;
 *   - enum fp_status (0 = success, every other value an error);
 *   - fp_error, the report a failing call fills in (code plus a printable message);
 *   - fp_strerror() and fp_error_clear().
 *
 * Every function of the library that can fail returns an int status and takes
 * an `fp_error *err` as its last argument.  `err` may be NULL; when it is not,
 * a failing call writes a complete, printable sentence into err->message
 * (naming the file, line, key or argument concerned).  The library never
 * prints, aborts or exits on its own initiative and keeps no global state.
 */
#ifndef FPENTROPY_STATUS_H
#define FPENTROPY_STATUS_H

#include <fpentropy/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The single source of truth for status codes and their one-line texts. */
#define FP_STATUS_LIST(ENTRY)                                                \
  ENTRY(FP_OK, "success")                                                    \
  ENTRY(FP_ERR_NOMEM, "out of memory")                                       \
  ENTRY(FP_ERR_ARG, "invalid argument")                                      \
  ENTRY(FP_ERR_IO, "input/output error")                                     \
  ENTRY(FP_ERR_CASE, "invalid case file")                                    \
  ENTRY(FP_ERR_EXPR, "invalid expression")                                   \
  ENTRY(FP_ERR_NUMERIC, "numerical failure (non-finite or negative values)") \
  ENTRY(FP_ERR_SOLVER, "time integration failed")                            \
  ENTRY(FP_ERR_UNSUPPORTED, "unsupported configuration")                     \
  ENTRY(FP_ERR_INTERRUPTED, "interrupted")

#define FP_EXPAND_TO_ENUM(name, text) name,
enum fp_status { FP_STATUS_LIST(FP_EXPAND_TO_ENUM) FP_STATUS_COUNT };
#undef FP_EXPAND_TO_ENUM

/* Room for a message that names a file, a line, a key and an expression. */
#define FP_ERROR_MESSAGE_SIZE 1024

typedef struct fp_error {
  int code;                             /* an enum fp_status value */
  char message[FP_ERROR_MESSAGE_SIZE];  /* NUL-terminated, printable */
} fp_error;

/* The fixed text of a status code ("unknown status" for values outside the
 * list).  The returned string is static; do not free it. Thread-safe. */
FP_API const char *fp_strerror(int code);

/* Reset a report to FP_OK with an empty message.  NULL is a no-op. */
FP_API void fp_error_clear(fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_STATUS_H */
