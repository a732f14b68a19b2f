/* fpentropy: phase 1 of loading a case: the INI structure, entries and --set overrides.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/problem/case.h>

#include <ini.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"
#include "core/spd_impl.h"
#include "problem/case_impl.h"

/* ------------------------------------------------------------------------ */
/* small string helpers                                                      */

char *fpc_duplicate(const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* Formatted string on the heap (NULL on failure). */
char *fpc_format_alloc(const char *fmt, ...) FP_PRINTF(1, 2);
char *fpc_format_alloc(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *s = malloc((size_t)n + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

static char *skip_space(char *s)
{
  while (isspace((unsigned char)*s)) s++;
  return s;
}

static void trim_end(char *s)
{
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
}

bool fpc_is_identifier(const char *s)
{
  if (!(isalpha((unsigned char)*s) || *s == '_')) return false;
  for (const char *p = s + 1; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_')) return false;
  return true;
}

/* Levenshtein distance ignoring case, or SIZE_MAX for long strings (which are
 * never close to a key name anyway). */
/* ------------------------------------------------------------------------ */
/* error reports                                                             */

/* Keep the report if it comes before the one already kept. */
static int record(fp_loader *ld, size_t order, int code, const char *fmt, ...) FP_PRINTF(4, 5);
static int record(fp_loader *ld, size_t order, int code, const char *fmt, ...)
{
  if (ld->failed && order >= ld->error_order) return code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ld->error.message, sizeof ld->error.message, fmt, ap);
  va_end(ap);
  ld->error.code = code;
  ld->failed = true;
  ld->error_order = order;
  return code;
}

/* Out of memory beats every other report: nothing after it can be trusted. */
int fpc_nomem(fp_loader *ld)
{
  return record(ld, 0, FP_ERR_NOMEM, "out of memory while reading case file '%s'", ld->path);
}

/* A structural error at the line being read: report it and stop reading. */
static int line_fail(fp_loader *ld, int code, const char *fmt, ...) FP_PRINTF(3, 4);
static int line_fail(fp_loader *ld, int code, const char *fmt, ...)
{
  char detail[FP_ERROR_MESSAGE_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  ld->stop = true;
  return record(ld, (size_t)ld->lineno, code, "%s:%d: %s", ld->path, ld->lineno, detail);
}

size_t fpc_field_order(const fp_loader *ld, const field *f)
{
  return f->idx == NONE ? NONE : ld->order[f->idx];
}

/* "path:line", "--set section.key=value" or, for an absent key, "path". */
void fpc_field_location(const fp_loader *ld, const field *f, char *out, size_t size)
{
  if (f->idx == NONE)
    snprintf(out, size, "%s", ld->path);
  else if (ld->lines[f->idx] > 0)
    snprintf(out, size, "%s:%d", ld->path, ld->lines[f->idx]);
  else
    snprintf(out, size, "--set %s.%s=%s", fpc_section_names[f->section], f->key, f->text);
}

/* "location: [section] key: detail" for a value that is wrong. */
int fpc_fail(fp_loader *ld, const field *f, int code, const char *fmt, ...) FP_PRINTF(4, 5);
int fpc_fail(fp_loader *ld, const field *f, int code, const char *fmt, ...)
{
  if (ld->failed && fpc_field_order(ld, f) >= ld->error_order) return code;
  char detail[FP_ERROR_MESSAGE_SIZE], where[FP_ERROR_MESSAGE_SIZE / 2];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  fpc_field_location(ld, f, where, sizeof where);
  /* '#' starts a comment only at the beginning of a line; say so, since
   * "cells = 50  # per axis" is a natural thing to write. */
  const char *hint = f->text && strstr(f->text, " #") ? " (inline comments start with ' ;', not '#')" : "";
  return record(ld, fpc_field_order(ld, f), code, "%s: [%s] %s: %s%s", where,
                fpc_section_names[f->section], f->key, detail, hint);
}

int fpc_missing(fp_loader *ld, const field *f, const char *hint)
{
  return record(ld, NONE, FP_ERR_CASE, "%s: [%s] %s: required key is missing%s", ld->path,
                fpc_section_names[f->section], f->key, hint);
}

/* The later of two fields (the one whose presence makes a conflict). */
const field *fpc_later(const fp_loader *ld, const field *a, const field *b)
{
  return fpc_field_order(ld, a) > fpc_field_order(ld, b) ? a : b;
}

/* ------------------------------------------------------------------------ */
/* entries                                                                   */

static size_t entry_hash(const char *section, const char *key)
{
  size_t h = 1469598103934665603u; /* FNV-1a over "section\0key" */
  for (const char *p = section; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211u;
  h *= 1099511628211u;
  for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211u;
  return h;
}

static size_t find_entry(const fp_loader *ld, int section, const char *key)
{
  const fp_case *c = ld->c;
  if (ld->hcap == 0) return NONE;
  const char *sec = fpc_section_names[section];
  for (size_t h = entry_hash(sec, key) & (ld->hcap - 1);; h = (h + 1) & (ld->hcap - 1)) {
    size_t i = ld->hindex[h];
    if (i == 0) return NONE;
    i--;
    if (strcmp(c->entries[i].section, sec) == 0 && strcmp(c->entries[i].key, key) == 0) return i;
  }
}

/* Index entry i; an earlier entry with the same (section, key) stays the one found. */
static int index_entry(fp_loader *ld, size_t i)
{
  const fp_case *c = ld->c;
  if (2 * (i + 1) > ld->hcap) {
    size_t cap = ld->hcap ? 2 * ld->hcap : 64;
    size_t *index = calloc(cap, sizeof *index);
    if (!index) return fpc_nomem(ld);
    free(ld->hindex);
    ld->hindex = index;
    ld->hcap = cap;
    for (size_t j = 0; j < i; j++) {
      size_t h = entry_hash(c->entries[j].section, c->entries[j].key) & (cap - 1);
      while (index[h]) h = (h + 1) & (cap - 1);
      index[h] = j + 1;
    }
  }
  size_t h = entry_hash(c->entries[i].section, c->entries[i].key) & (ld->hcap - 1);
  while (ld->hindex[h]) h = (h + 1) & (ld->hcap - 1);
  ld->hindex[h] = i + 1;
  return FP_OK;
}

field fpc_get_field(const fp_loader *ld, int section, const char *key)
{
  field f = {section, key, find_entry(ld, section, key), NULL};
  f.text = f.idx == NONE ? fpc_default_text(section, key) : ld->c->entries[f.idx].value;
  return f;
}

static int add_entry(fp_loader *ld, int section, const char *key, const char *value,
                     const char *source, int line, size_t order)
{
  fp_case *c = ld->c;
  if (c->n_entries == ld->cap) {
    size_t cap = ld->cap ? 2 * ld->cap : 32;
    fp_case_entry *entries = realloc(c->entries, cap * sizeof *entries);
    if (!entries) return fpc_nomem(ld);
    c->entries = entries;
    int *lines = realloc(ld->lines, cap * sizeof *lines);
    if (!lines) return fpc_nomem(ld);
    ld->lines = lines;
    size_t *orders = realloc(ld->order, cap * sizeof *orders);
    if (!orders) return fpc_nomem(ld);
    ld->order = orders;
    ld->cap = cap;
  }
  fp_case_entry e = {fpc_duplicate(fpc_section_names[section]), fpc_duplicate(key), fpc_duplicate(value),
                     fpc_duplicate(source)};
  if (!e.section || !e.key || !e.value || !e.source) {
    free(e.section);
    free(e.key);
    free(e.value);
    free(e.source);
    return fpc_nomem(ld);
  }
  c->entries[c->n_entries] = e;
  ld->lines[c->n_entries] = line;
  ld->order[c->n_entries] = order;
  c->n_entries++;
  return index_entry(ld, c->n_entries - 1);
}

/* ------------------------------------------------------------------------ */
/* phase 1: reading the file                                                 */

/* An indented "name = ..." is a key, not a continuation: no value in a case
 * file contains '=', and this lets users indent keys as in the docs. */
static bool looks_like_key(const char *s)
{
  if (!(isalpha((unsigned char)*s) || *s == '_')) return false;
  while (isalnum((unsigned char)*s) || *s == '_') s++;
  while (*s == ' ' || *s == '\t') s++;
  return *s == '=' || *s == ':';
}

/* Cut an inline comment: ';' after whitespace (libinih's rule, which its
 * version 55 does not apply to continuation lines). */
static void strip_inline_comment(char *s)
{
  for (char *p = s + 1; *p; p++)
    if (*p == ';' && isspace((unsigned char)p[-1])) {
      *p = '\0';
      return;
    }
}

/* libinih's reader (fgets-style).  Reads a whole line with getline(), checks
 * it, and hands libinih a normalised copy that fits its buffer of `num`:
 * comments and blank lines become empty lines, section headers "[name]",
 * keys start in column 1, continuation lines keep one space of indentation
 * (which is what libinih uses to recognise them). */
static char *read_line(char *str, int num, void *stream)
{
  fp_loader *ld = stream;
  if (ld->stop) return NULL;
  errno = 0;
  ssize_t got = getline(&ld->line, &ld->line_cap, ld->file);
  if (got < 0) {
    if (ferror(ld->file)) {
      record(ld, 0, FP_ERR_IO, "cannot read case file '%s': %s", ld->path,
             strerror(errno ? errno : EIO));
      ld->stop = true;
    } else if (errno == ENOMEM) {
      fpc_nomem(ld);
      ld->stop = true;
    }
    return NULL;
  }
  ld->lineno++;
  ld->continuation = false;
  char *s = ld->line;
  size_t len = (size_t)got;
  if (strlen(s) != len) {
    line_fail(ld, FP_ERR_CASE, "the line contains a NUL byte (is this a text file?)");
    return NULL;
  }
  while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r')) s[--len] = '\0';
  if (ld->lineno == 1 && len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
      (unsigned char)s[2] == 0xBF)
    s += 3; /* UTF-8 byte order mark */
  char *start = skip_space(s);
  bool indented = start != s;
  if (num < 4) {
    line_fail(ld, FP_ERR_CASE, "internal error: libinih line buffer of %d bytes", num);
    return NULL;
  }
  if (*start == '\0' || *start == ';' || *start == '#') {
    str[0] = '\n';
    str[1] = '\0';
    return str;
  }
  strip_inline_comment(start);
  trim_end(start);
  /* Room for one space of indentation, the newline and the terminator. */
  size_t limit = (size_t)num - 3;
  if (strlen(start) > limit) {
    line_fail(ld, FP_ERR_CASE,
              "line longer than %zu characters (not counting indentation and comments); "
              "split the value with indented continuation lines",
              limit);
    return NULL;
  }

  if (*start == '[') {
    char *close = strchr(start, ']');
    if (!close) {
      line_fail(ld, FP_ERR_CASE, "section header '%s' has no closing ']'", start);
      return NULL;
    }
    if (close[1] != '\0') {
      line_fail(ld, FP_ERR_CASE, "unexpected text '%s' after the section header", close + 1);
      return NULL;
    }
    *close = '\0';
    char *name = skip_space(start + 1);
    trim_end(name);
    int section = fpc_find_section(name);
    if (section < 0) {
      char hint[FP_ERROR_MESSAGE_SIZE / 2];
      fpc_describe_unknown_section(name, hint, sizeof hint);
      line_fail(ld, FP_ERR_CASE, "unknown section [%s]; %s", name, hint);
      return NULL;
    }
    ld->section = section;
    ld->have_key = false;
    snprintf(str, (size_t)num, "[%s]\n", fpc_section_names[section]);
    return str;
  }

  if (indented && !looks_like_key(start)) {
    if (!ld->have_key) {
      line_fail(ld, FP_ERR_CASE,
                "indented line '%s' continues no key (only the continuation lines of a "
                "value are indented)",
                start);
      return NULL;
    }
    ld->continuation = true;
    snprintf(str, (size_t)num, " %s\n", start);
    return str;
  }

  char *sep = strpbrk(start, "=:");
  if (!sep) {
    line_fail(ld, FP_ERR_CASE,
              "expected 'key = value', got '%s' (continuation lines of a value must be "
              "indented)",
              start);
    return NULL;
  }
  if (sep == start) {
    line_fail(ld, FP_ERR_CASE, "missing key name before '%c' in '%s'", *sep, start);
    return NULL;
  }
  if (ld->section < 0) {
    line_fail(ld, FP_ERR_CASE, "'%s' comes before any [section] header", start);
    return NULL;
  }
  ld->have_key = true;
  snprintf(str, (size_t)num, "%s\n", start);
  return str;
}

/* Append a continuation line to the value it continues, with one space. */
static int append_continuation(fp_loader *ld, const char *value)
{
  fp_case_entry *e = &ld->c->entries[ld->last_entry];
  if (*value == '\0') return FP_OK;
  size_t old = strlen(e->value), add = strlen(value);
  char *joined = realloc(e->value, old + add + 2);
  if (!joined) return fpc_nomem(ld);
  e->value = joined;
  if (old > 0) joined[old++] = ' ';
  memcpy(joined + old, value, add + 1);
  return FP_OK;
}

/* libinih's handler: one call per key line and per continuation line.  The
 * section comes from the reader (libinih truncates long names). */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
  fp_loader *ld = user;
  (void)section;
  if (ld->stop) return 0;
  if (ld->continuation) {
    if (append_continuation(ld, value) != FP_OK) {
      ld->stop = true;
      return 0;
    }
    return 1;
  }
  const char *sec = fpc_section_names[ld->section];
  if (!fpc_section_has_key(ld->section, name)) {
    char hint[FP_ERROR_MESSAGE_SIZE / 2];
    fpc_describe_unknown_key(ld->section, name, hint, sizeof hint);
    line_fail(ld, FP_ERR_CASE, "[%s] %s: unknown key; %s", sec, name, hint);
    return 0;
  }
  size_t dup = find_entry(ld, ld->section, name);
  if (dup != NONE) {
    line_fail(ld, FP_ERR_CASE, "[%s] %s: duplicate key (already set on line %d)", sec, name,
              ld->lines[dup]);
    return 0;
  }
  char *source = fpc_format_alloc("%s:%d", ld->path, ld->lineno);
  int rc = source ? add_entry(ld, ld->section, name, value, source, ld->lineno,
                              (size_t)ld->lineno)
                  : fpc_nomem(ld);
  free(source);
  if (rc != FP_OK) {
    ld->stop = true;
    return 0;
  }
  ld->last_entry = ld->c->n_entries - 1;
  return 1;
}

static int read_file(fp_loader *ld)
{
  int rc = ini_parse_stream(read_line, ld, on_key, ld);
  if (rc > 0) /* a line libinih refused although our reader let it through */
    record(ld, (size_t)rc, FP_ERR_CASE,
           "%s:%d: syntax error: expected '[section]', 'key = value' or a comment", ld->path, rc);
  else if (rc < 0)
    fpc_nomem(ld);
  return ld->failed ? ld->error.code : FP_OK;
}

/* ------------------------------------------------------------------------ */
/* overrides                                                                 */

/* Split "section.key=value" in a private copy; NULL pieces mean bad syntax. */
static int split_override(const char *text, char **copy, char **section, char **key,
                          char **value)
{
  *copy = fpc_duplicate(text);
  if (!*copy) return FP_ERR_NOMEM;
  *section = *key = *value = NULL;
  char *eq = strchr(*copy, '=');
  char *dot = strchr(*copy, '.');
  if (!eq || !dot || dot > eq) return FP_OK;
  *eq = '\0';
  *dot = '\0';
  char *s = skip_space(*copy), *k = skip_space(dot + 1), *v = skip_space(eq + 1);
  trim_end(s);
  trim_end(k);
  trim_end(v);
  if (*s == '\0' || *k == '\0') return FP_OK;
  *section = s;
  *key = k;
  *value = v;
  return FP_OK;
}

static int check_override_syntax(const char *const *overrides, size_t n, fp_error *err)
{
  for (size_t i = 0; i < n; i++) {
    if (!overrides[i]) return fp_fail(err, FP_ERR_ARG, "override %zu is NULL", i + 1);
    char *copy, *section, *key, *value;
    if (split_override(overrides[i], &copy, &section, &key, &value) != FP_OK)
      return fp_fail(err, FP_ERR_NOMEM, "out of memory reading override '%s'", overrides[i]);
    free(copy);
    if (!section)
      return fp_fail(err, FP_ERR_ARG,
                     "--set '%s': expected section.key=value (for example domain.cells=200)",
                     overrides[i]);
  }
  return FP_OK;
}

/* The 1D synonym pair drift / drift_x: an override of one replaces the other. */
static size_t find_override_target(const fp_loader *ld, int section, const char *key)
{
  size_t idx = find_entry(ld, section, key);
  if (idx == NONE && section == SEC_DYNAMICS) {
    if (strcmp(key, "drift") == 0) idx = find_entry(ld, section, "drift_x");
    if (strcmp(key, "drift_x") == 0) idx = find_entry(ld, section, "drift");
  }
  return idx;
}

static int apply_override(fp_loader *ld, const char *text, size_t order)
{
  char *copy, *section, *key, *value;
  int rc = split_override(text, &copy, &section, &key, &value);
  if (rc != FP_OK) return fpc_nomem(ld);
  char hint[FP_ERROR_MESSAGE_SIZE / 2];
  int s = fpc_find_section(section);
  if (s < 0) {
    fpc_describe_unknown_section(section, hint, sizeof hint);
    rc = record(ld, order, FP_ERR_CASE, "--set %s: unknown section [%s]; %s", text, section, hint);
    goto free_copy;
  }
  if (!fpc_section_has_key(s, key)) {
    fpc_describe_unknown_key(s, key, hint, sizeof hint);
    rc = record(ld, order, FP_ERR_CASE, "--set %s: [%s] %s: unknown key; %s", text, section, key,
                hint);
    goto free_copy;
  }
  size_t idx = find_override_target(ld, s, key);
  if (idx == NONE) {
    rc = add_entry(ld, s, key, value, "--set", 0, order);
    goto free_copy;
  }
  fp_case_entry *e = &ld->c->entries[idx];
  char *new_key = fpc_duplicate(key), *new_value = fpc_duplicate(value), *new_source = fpc_duplicate("--set");
  if (!new_key || !new_value || !new_source) {
    free(new_key);
    free(new_value);
    free(new_source);
    rc = fpc_nomem(ld);
    goto free_copy;
  }
  free(e->key);
  free(e->value);
  free(e->source);
  e->key = new_key;
  e->value = new_value;
  e->source = new_source;
  ld->lines[idx] = 0;
  ld->order[idx] = order;
  /* drift <-> drift_x renames the entry: the index must follow. */
  free(ld->hindex);
  ld->hindex = NULL;
  ld->hcap = 0;
  for (size_t i = 0; rc == FP_OK && i < ld->c->n_entries; i++) rc = index_entry(ld, i);
free_copy:
  free(copy);
  return rc;
}

void fp_case_destroy(fp_case **c)
{
  if (!c || !*c) return;
  fp_case *x = *c;
  free(x->path);
  free(x->name);
  fp_constants_clear(&x->constants);
  for (int a = 0; a < FP_MAX_DIM; a++) {
    fp_expr_destroy(&x->drift[a]);
    for (int b = 0; b < FP_MAX_DIM; b++) fp_expr_destroy(&x->diffusion[a][b]);
  }
  fp_expr_destroy(&x->potential);
  fp_expr_destroy(&x->initial);
  fp_expr_destroy(&x->reference);
  free(x->output_times);
  free(x->output_dir);
  free(x->snapshot_times);
  free(x->sample_sizes);
  free(x->estimators);
  free(x->policies);
  for (size_t i = 0; i < x->n_entries; i++) {
    free(x->entries[i].section);
    free(x->entries[i].key);
    free(x->entries[i].value);
    free(x->entries[i].source);
  }
  free(x->entries);
  free(x);
  *c = NULL;
}

/* "cases/ou.ini" -> "ou". */
static char *case_name(const char *path)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t len = strlen(base);
  if (len > 4 && strcmp(base + len - 4, ".ini") == 0) len -= 4;
  if (len == 0) return fpc_duplicate("case");
  char *name = malloc(len + 1);
  if (!name) return NULL;
  memcpy(name, base, len);
  name[len] = '\0';
  return name;
}

/* A positive integer no larger than `max`. */
static int load_case(const char *path, const char *text, const char *const *overrides,
                     size_t n_overrides, fp_case **out, fp_error *err)
{
  if (n_overrides > 0 && !overrides)
    return fp_fail(err, FP_ERR_ARG, "fp_case_load: %zu overrides but the array is NULL",
                   n_overrides);
  int rc = check_override_syntax(overrides, n_overrides, err);
  if (rc != FP_OK) return rc;

  fp_loader ld = {0};
  ld.path = path;
  ld.section = -1;
  ld.c = calloc(1, sizeof *ld.c);
  if (!ld.c) return fp_fail(err, FP_ERR_NOMEM, "out of memory reading case file '%s'", path);
  ld.c->path = fpc_duplicate(path);
  ld.c->name = case_name(path);
  if (!ld.c->path || !ld.c->name) {
    rc = fpc_nomem(&ld);
    goto destroy_case;
  }
  /* A string is read through the same stream code as a file, so both give
   * the same messages; fmemopen wants a non-empty buffer. */
  ld.file = text ? (*text ? fmemopen((void *)text, strlen(text), "r") : fopen("/dev/null", "r"))
                 : fopen(path, "r");
  if (!ld.file) {
    rc = record(&ld, 0, FP_ERR_IO, "cannot open case file '%s': %s", path, strerror(errno));
    goto destroy_case;
  }

  rc = read_file(&ld);
  if (rc != FP_OK) goto close_file;
  size_t first_override = (size_t)ld.lineno + 1;
  for (size_t i = 0; i < n_overrides && rc == FP_OK; i++)
    rc = apply_override(&ld, overrides[i], first_override + i);
  if (rc != FP_OK) goto close_file;

  rc = fpc_interpret(&ld);
  if (rc == FP_OK) rc = ld.failed ? ld.error.code : FP_OK;

close_file:
  fclose(ld.file);
destroy_case:
  free(ld.line);
  free(ld.lines);
  free(ld.order);
  free(ld.hindex);
  if (rc != FP_OK) {
    if (err) *err = ld.error;
    fp_case_destroy(&ld.c);
    return rc;
  }
  *out = ld.c;
  return FP_OK;
}

int fp_case_load(const char *path, const char *const *overrides, size_t n_overrides,
                 fp_case **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_case_load: out is NULL");
  *out = NULL;
  if (!path) return fp_fail(err, FP_ERR_ARG, "fp_case_load: path is NULL");
  return load_case(path, NULL, overrides, n_overrides, out, err);
}

int fp_case_load_string(const char *text, const char *name, const char *const *overrides,
                        size_t n_overrides, fp_case **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_case_load_string: out is NULL");
  *out = NULL;
  if (!text) return fp_fail(err, FP_ERR_ARG, "fp_case_load_string: text is NULL");
  return load_case(name && *name ? name : "case", text, overrides, n_overrides, out, err);
}

/* ------------------------------------------------------------------------ */
/* printing                                                                  */

