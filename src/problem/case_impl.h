/* fpentropy (internal): what the case reader, schema and semantics share.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A case file is loaded by three modules (docs/architecture.md):
 *   case_schema.c     the sections, their keys and defaults, messages about
 *                     unknown names, fp_case_print();
 *   case_reader.c     phase 1: the INI structure (our line reader feeding
 *                     libinih), entries, --set overrides, fp_case_load*();
 *   case.c            phase 2: the semantics, section by section, into the
 *                     fp_case fields.
 * Names shared between them carry the prefix fpc_. */
#ifndef FPENTROPY_CASE_IMPL_H
#define FPENTROPY_CASE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <fpentropy/problem/case.h>


#define FP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* No entry / no position. */
#define NONE SIZE_MAX

/* Upper bound on output and snapshot counts: a typo such as 1e9 should be an
 * error, not a multi-gigabyte allocation. */
#define MAX_TIME_COUNT 1000000L

enum {
  SEC_DOMAIN = 0,
  SEC_CONSTANTS,
  SEC_DYNAMICS,
  SEC_INITIAL,
  SEC_REFERENCE,
  SEC_TIME,
  SEC_SOLVER,
  SEC_OUTPUT,
  SEC_SAMPLE,
  SEC_POLICY,
  SEC_LABELS, /* [labels] and [model]: read by fp_labels_load() (labels.h) */
  SEC_MODEL,
  SEC_COUNT
};


typedef struct key_default {
  int section;
  const char *key;
  const char *value;
} key_default;

extern const char *const fpc_axis_names[FP_MAX_DIM];
extern const char *const fpc_section_names[SEC_COUNT];

typedef struct fp_loader {
  fp_case *c;
  const char *path;
  FILE *file;

  /* line reader */
  char *line;        /* getline() buffer */
  size_t line_cap;
  int lineno;        /* lines read so far */
  int section;       /* SEC_* of the last header; -1 before the first */
  bool have_key;     /* a key was read since that header (libinih continues it) */
  bool continuation; /* the line now inside libinih continues entries[last_entry] */
  size_t last_entry;
  bool stop;         /* phase 1 failed: hand libinih no more lines */

  /* per-entry bookkeeping, parallel to c->entries */
  size_t cap;
  int *lines;        /* file line of each entry; 0 for --set */
  size_t *order;     /* position used to find the first error */
  size_t *hindex;    /* hash of (section, key) -> entry + 1, so that finding
                        an entry is O(1) and loading n keys O(n) */
  size_t hcap;       /* a power of two, or 0 */

  /* the first error (smallest order) found so far */
  bool failed;
  size_t error_order;
  fp_error error;

  /* what later checks depend on */
  bool dim_ok;
  bool constants_ok;
  bool t_end_ok;
} fp_loader;

/* One key as the interpreter sees it. */
typedef struct field {
  int section;
  const char *key;
  size_t idx;       /* entry index, or NONE when the key is absent */
  const char *text; /* the value, the default when absent, or NULL */
} field;

const char *fpc_default_text(int section, const char *key);
void fpc_describe_unknown_key(int section, const char *key, char *out, size_t size);
void fpc_describe_unknown_section(const char *name, char *out, size_t size);
char *fpc_duplicate(const char *s);
int fpc_fail(fp_loader *ld, const field *f, int code, const char *fmt, ...) FP_PRINTF(4, 5);
void fpc_field_location(const fp_loader *ld, const field *f, char *out, size_t size);
size_t fpc_field_order(const fp_loader *ld, const field *f);
int fpc_find_section(const char *name);
char *fpc_format_alloc(const char *fmt, ...) FP_PRINTF(1, 2);
field fpc_get_field(const fp_loader *ld, int section, const char *key);
bool fpc_is_identifier(const char *s);
const field *fpc_later(const fp_loader *ld, const field *a, const field *b);
int fpc_missing(fp_loader *ld, const field *f, const char *hint);
int fpc_nomem(fp_loader *ld);
bool fpc_section_has_key(int section, const char *key);

/* Phase 2 (case.c): interpret every section of the loader's entries. */
int fpc_interpret(fp_loader *ld);

#endif /* FPENTROPY_CASE_IMPL_H */
