/* fpentropy: case files (INI, read with libinih) turned into a validated fp_case.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Loading runs in two phases, so that the user sees the first real problem
 * before anything is computed:
 *
 *   1. Structure.  Our own line reader feeds libinih one line at a time.  It
 *      counts lines (Debian's libinih 55 passes no line number to the
 *      handler), rejects lines that do not fit libinih's fixed buffer instead
 *      of letting it cut them silently, strips comments, knows the current
 *      section and tells continuation lines from keys.  The handler collects
 *      every (section, key, value, source) entry.  Syntax errors, unknown
 *      sections and keys and duplicate keys stop the read at the first one.
 *      The --set overrides then replace or add entries, so a constant set on
 *      the command line is seen by everything that depends on it.
 *
 *   2. Values.  The entries are interpreted section by section (domain,
 *      constants, dynamics, initial, reference, time, solver, output: the
 *      order of their dependencies).  A check runs only when what it depends
 *      on is valid, so no error is a consequence of another one, and the error
 *      reported is the one that comes first in the file (overrides count as
 *      coming after the file, missing keys after everything).
 *
 * libinih's global settings are left alone: other code in the process may
 * rely on them. */
#include <fpentropy/problem/case.h>

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"
#include "core/spd_impl.h"

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

static const char *const section_names[SEC_COUNT] = {
    "domain", "constants", "dynamics", "initial", "reference", "time", "solver", "output",
    "sample", "policy", "labels", "model"};

/* Known keys of each section, NULL-terminated.  [constants] takes any name. */
static const char *const domain_keys[] = {"dimension", "lower", "upper", "cells", "boundary", NULL};
static const char *const dynamics_keys[] = {
    "convention",   "drift",        "drift_x",      "drift_y",      "drift_z",
    "diffusion",    "diffusion_xx", "diffusion_yy", "diffusion_zz", "diffusion_xy",
    "diffusion_xz", "diffusion_yz", "potential",    NULL};
static const char *const initial_keys[] = {"density", "mean", "covariance", NULL};
static const char *const reference_keys[] = {"density", "mean", "covariance", "normalise", NULL};
static const char *const time_keys[] = {"end",      "outputs",  "output_times", "rtol",
                                        "atol",     "max_steps", "max_step",    "initial_step",
                                        "integrator", NULL};
static const char *const solver_keys[] = {"linear_solver", "preconditioner", "krylov_dim",
                                          "fft_planning", NULL};
static const char *const output_keys[] = {"directory", "snapshots", "snapshot_times",
                                          "snapshot_format", "split", "error_estimate", NULL};
static const char *const sample_keys[] = {"particles", "replicas", "seed", "dt", "sizes",
                                          "estimators", NULL};
static const char *const policy_keys[] = {"policies", "cost", "kappa", "stale_threshold", NULL};
static const char *const labels_keys[] = {"w", "b", "features", "density", "batch", "policies", NULL};
static const char *const model_keys[] = {"window", "ridge", "max_iter", "tol", "estimator", NULL};
static const char *const *const section_keys[SEC_COUNT] = {
    domain_keys, NULL,        dynamics_keys, initial_keys, reference_keys,
    time_keys,   solver_keys, output_keys,   sample_keys,  policy_keys,
    labels_keys, model_keys};

/* Defaults, as the text a user would write.  Loading parses these through the
 * same code as written values, and fp_case_print() shows them, so the two
 * cannot disagree.  [output] directory is "out/<name>" and is built in code. */
typedef struct key_default {
  int section;
  const char *key;
  const char *value;
} key_default;

static const key_default defaults[] = {
    {SEC_DOMAIN, "boundary", "reflecting"},
    {SEC_DYNAMICS, "convention", "ito"},
    {SEC_DYNAMICS, "drift_x", "0"},
    {SEC_DYNAMICS, "drift_y", "0"},
    {SEC_DYNAMICS, "drift_z", "0"},
    {SEC_DYNAMICS, "diffusion_xy", "0"},
    {SEC_DYNAMICS, "diffusion_xz", "0"},
    {SEC_DYNAMICS, "diffusion_yz", "0"},
    {SEC_REFERENCE, "density", "initial"},
    {SEC_REFERENCE, "normalise", "yes"},
    {SEC_TIME, "outputs", "11"},
    {SEC_TIME, "rtol", "auto"},
    {SEC_TIME, "atol", "1e-12"},
    {SEC_TIME, "max_steps", "100000"},
    {SEC_TIME, "max_step", "0"},
    {SEC_TIME, "initial_step", "0"},
    {SEC_TIME, "integrator", "auto"},
    {SEC_SOLVER, "linear_solver", "auto"},
    {SEC_SOLVER, "preconditioner", "auto"},
    {SEC_SOLVER, "krylov_dim", "20"},
    {SEC_SOLVER, "fft_planning", "estimate"},
    {SEC_OUTPUT, "snapshots", "5"},
    {SEC_OUTPUT, "snapshot_format", "vti, dat"},
    {SEC_OUTPUT, "split", "auto"},
    {SEC_OUTPUT, "error_estimate", "off"},
    {SEC_SAMPLE, "particles", "10000"},
    {SEC_SAMPLE, "replicas", "10"},
    {SEC_SAMPLE, "seed", "1"},
    {SEC_SAMPLE, "dt", "0"},
    {SEC_SAMPLE, "sizes", "1000, 10000"},
    {SEC_SAMPLE, "estimators", "knn gauss hist kde"},
    {SEC_POLICY, "policies", "none calendar:k=10 threshold:tau=0.1"},
    {SEC_POLICY, "cost", "0.1"},
    {SEC_POLICY, "kappa", "1"},
    {SEC_POLICY, "stale_threshold", "0.05"},
};

static const char *const axis_names[FP_MAX_DIM] = {"x", "y", "z"};

/* libmatheval's function names: a constant with one of these names could
 * never be referred to, because the parser reads it as a function. */
static const char *const function_names[] = {
    "exp",   "log",   "sqrt",  "sin",   "cos",   "tan",   "cot",   "sec",  "csc",
    "asin",  "acos",  "atan",  "acot",  "asec",  "acsc",  "sinh",  "cosh", "tanh",
    "coth",  "sech",  "csch",  "asinh", "acosh", "atanh", "acoth", "asech", "acsch",
    "abs",   "step",  "delta", "nandelta", "erf"};

/* Everything fp_case_load() needs while it works; lives on its stack. */
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

/* ------------------------------------------------------------------------ */
/* small string helpers                                                      */

static char *duplicate(const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* Formatted string on the heap (NULL on failure). */
static char *format_alloc(const char *fmt, ...) FP_PRINTF(1, 2);
static char *format_alloc(const char *fmt, ...)
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

static bool is_identifier(const char *s)
{
  if (!(isalpha((unsigned char)*s) || *s == '_')) return false;
  for (const char *p = s + 1; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_')) return false;
  return true;
}

/* Levenshtein distance ignoring case, or SIZE_MAX for long strings (which are
 * never close to a key name anyway). */
static size_t edit_distance(const char *a, const char *b)
{
  enum { LONGEST = 40 };
  size_t la = strlen(a), lb = strlen(b);
  if (la > LONGEST || lb > LONGEST) return SIZE_MAX;
  size_t prev[LONGEST + 1], cur[LONGEST + 1];
  for (size_t j = 0; j <= lb; j++) prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
      size_t best = prev[j] + 1;
      if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
      if (prev[j - 1] + cost < best) best = prev[j - 1] + cost;
      cur[j] = best;
    }
    memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
  }
  return prev[lb];
}

static int find_section(const char *name)
{
  for (int s = 0; s < SEC_COUNT; s++)
    if (strcmp(section_names[s], name) == 0) return s;
  return -1;
}

static bool section_has_key(int section, const char *key)
{
  if (section == SEC_CONSTANTS) return true;
  for (const char *const *k = section_keys[section]; *k; k++)
    if (strcmp(*k, key) == 0) return true;
  return false;
}

static const char *default_text(int section, const char *key)
{
  for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
    if (defaults[i].section == section && strcmp(defaults[i].key, key) == 0)
      return defaults[i].value;
  return NULL;
}

/* "did you mean [time]?" or the list of sections. */
static void describe_unknown_section(const char *name, char *out, size_t size)
{
  for (int s = 0; s < SEC_COUNT; s++)
    if (edit_distance(name, section_names[s]) <= 2) {
      snprintf(out, size, "did you mean [%s]?", section_names[s]);
      return;
    }
  snprintf(out, size,
           "the sections are [domain], [constants], [dynamics], [initial], [reference], "
           "[time], [solver], [output], [sample], [policy], [labels] and [model]");
}

/* The most useful hint for a key that `section` does not have. */
static void describe_unknown_key(int section, const char *key, char *out, size_t size)
{
  if (section == SEC_DYNAMICS &&
      (strcmp(key, "diffusion_yx") == 0 || strcmp(key, "diffusion_zx") == 0 ||
       strcmp(key, "diffusion_zy") == 0)) {
    snprintf(out, size, "D is symmetric: give only diffusion_%c%c", key[11], key[10]);
    return;
  }
  for (int s = 0; s < SEC_COUNT; s++)
    if (s != section && s != SEC_CONSTANTS && section_has_key(s, key)) {
      snprintf(out, size, "'%s' belongs in [%s]", key, section_names[s]);
      return;
    }
  const char *best = NULL;
  size_t best_distance = 3;
  for (const char *const *k = section_keys[section]; *k; k++) {
    size_t d = edit_distance(key, *k);
    if (d < best_distance) {
      best = *k;
      best_distance = d;
    }
  }
  if (best) {
    snprintf(out, size, "did you mean '%s'?", best);
    return;
  }
  size_t len = (size_t)snprintf(out, size, "the keys of [%s] are", section_names[section]);
  for (const char *const *k = section_keys[section]; *k && len < size; k++)
    len += (size_t)snprintf(out + len, size - len, "%s %s", k == section_keys[section] ? "" : ",",
                            *k);
}

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
static int nomem(fp_loader *ld)
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

static size_t field_order(const fp_loader *ld, const field *f)
{
  return f->idx == NONE ? NONE : ld->order[f->idx];
}

/* "path:line", "--set section.key=value" or, for an absent key, "path". */
static void field_location(const fp_loader *ld, const field *f, char *out, size_t size)
{
  if (f->idx == NONE)
    snprintf(out, size, "%s", ld->path);
  else if (ld->lines[f->idx] > 0)
    snprintf(out, size, "%s:%d", ld->path, ld->lines[f->idx]);
  else
    snprintf(out, size, "--set %s.%s=%s", section_names[f->section], f->key, f->text);
}

/* "location: [section] key: detail" for a value that is wrong. */
static int fail(fp_loader *ld, const field *f, int code, const char *fmt, ...) FP_PRINTF(4, 5);
static int fail(fp_loader *ld, const field *f, int code, const char *fmt, ...)
{
  if (ld->failed && field_order(ld, f) >= ld->error_order) return code;
  char detail[FP_ERROR_MESSAGE_SIZE], where[FP_ERROR_MESSAGE_SIZE / 2];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  field_location(ld, f, where, sizeof where);
  /* '#' starts a comment only at the beginning of a line; say so, since
   * "cells = 50  # per axis" is a natural thing to write. */
  const char *hint = f->text && strstr(f->text, " #") ? " (inline comments start with ' ;', not '#')" : "";
  return record(ld, field_order(ld, f), code, "%s: [%s] %s: %s%s", where,
                section_names[f->section], f->key, detail, hint);
}

static int missing(fp_loader *ld, const field *f, const char *hint)
{
  return record(ld, NONE, FP_ERR_CASE, "%s: [%s] %s: required key is missing%s", ld->path,
                section_names[f->section], f->key, hint);
}

/* The later of two fields (the one whose presence makes a conflict). */
static const field *later(const fp_loader *ld, const field *a, const field *b)
{
  return field_order(ld, a) > field_order(ld, b) ? a : b;
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
  const char *sec = section_names[section];
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
    if (!index) return nomem(ld);
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

static field get_field(const fp_loader *ld, int section, const char *key)
{
  field f = {section, key, find_entry(ld, section, key), NULL};
  f.text = f.idx == NONE ? default_text(section, key) : ld->c->entries[f.idx].value;
  return f;
}

static int add_entry(fp_loader *ld, int section, const char *key, const char *value,
                     const char *source, int line, size_t order)
{
  fp_case *c = ld->c;
  if (c->n_entries == ld->cap) {
    size_t cap = ld->cap ? 2 * ld->cap : 32;
    fp_case_entry *entries = realloc(c->entries, cap * sizeof *entries);
    if (!entries) return nomem(ld);
    c->entries = entries;
    int *lines = realloc(ld->lines, cap * sizeof *lines);
    if (!lines) return nomem(ld);
    ld->lines = lines;
    size_t *orders = realloc(ld->order, cap * sizeof *orders);
    if (!orders) return nomem(ld);
    ld->order = orders;
    ld->cap = cap;
  }
  fp_case_entry e = {duplicate(section_names[section]), duplicate(key), duplicate(value),
                     duplicate(source)};
  if (!e.section || !e.key || !e.value || !e.source) {
    free(e.section);
    free(e.key);
    free(e.value);
    free(e.source);
    return nomem(ld);
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
      nomem(ld);
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
    int section = find_section(name);
    if (section < 0) {
      char hint[FP_ERROR_MESSAGE_SIZE / 2];
      describe_unknown_section(name, hint, sizeof hint);
      line_fail(ld, FP_ERR_CASE, "unknown section [%s]; %s", name, hint);
      return NULL;
    }
    ld->section = section;
    ld->have_key = false;
    snprintf(str, (size_t)num, "[%s]\n", section_names[section]);
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
  if (!joined) return nomem(ld);
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
  const char *sec = section_names[ld->section];
  if (!section_has_key(ld->section, name)) {
    char hint[FP_ERROR_MESSAGE_SIZE / 2];
    describe_unknown_key(ld->section, name, hint, sizeof hint);
    line_fail(ld, FP_ERR_CASE, "[%s] %s: unknown key; %s", sec, name, hint);
    return 0;
  }
  size_t dup = find_entry(ld, ld->section, name);
  if (dup != NONE) {
    line_fail(ld, FP_ERR_CASE, "[%s] %s: duplicate key (already set on line %d)", sec, name,
              ld->lines[dup]);
    return 0;
  }
  char *source = format_alloc("%s:%d", ld->path, ld->lineno);
  int rc = source ? add_entry(ld, ld->section, name, value, source, ld->lineno,
                              (size_t)ld->lineno)
                  : nomem(ld);
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
    nomem(ld);
  return ld->failed ? ld->error.code : FP_OK;
}

/* ------------------------------------------------------------------------ */
/* overrides                                                                 */

/* Split "section.key=value" in a private copy; NULL pieces mean bad syntax. */
static int split_override(const char *text, char **copy, char **section, char **key,
                          char **value)
{
  *copy = duplicate(text);
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
  if (rc != FP_OK) return nomem(ld);
  char hint[FP_ERROR_MESSAGE_SIZE / 2];
  int s = find_section(section);
  if (s < 0) {
    describe_unknown_section(section, hint, sizeof hint);
    rc = record(ld, order, FP_ERR_CASE, "--set %s: unknown section [%s]; %s", text, section, hint);
    goto free_copy;
  }
  if (!section_has_key(s, key)) {
    describe_unknown_key(s, key, hint, sizeof hint);
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
  char *new_key = duplicate(key), *new_value = duplicate(value), *new_source = duplicate("--set");
  if (!new_key || !new_value || !new_source) {
    free(new_key);
    free(new_value);
    free(new_source);
    rc = nomem(ld);
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

/* ------------------------------------------------------------------------ */
/* value parsers                                                             */

static bool parse_double(const char *s, size_t len, double *out)
{
  char buf[128];
  if (len == 0 || len >= sizeof buf || isspace((unsigned char)s[0])) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *end = NULL;
  double v = strtod(buf, &end);
  /* inf, nan and overflow are rejected; underflow to a tiny value is fine. */
  if (end != buf + len || !isfinite(v)) return false;
  *out = v;
  return true;
}

static bool parse_long(const char *s, size_t len, long *out)
{
  char buf[64];
  if (len == 0 || len >= sizeof buf) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  size_t digit = buf[0] == '+' || buf[0] == '-';
  if (!isdigit((unsigned char)buf[digit])) return false;
  errno = 0;
  char *end = NULL;
  long v = strtol(buf, &end, 10);
  if (errno == ERANGE || end != buf + len) return false;
  *out = v;
  return true;
}

static bool parse_number(const char *text, double *out)
{
  return parse_double(text, strlen(text), out);
}

static bool parse_integer(const char *text, long *out)
{
  return parse_long(text, strlen(text), out);
}

static bool parse_boundary(const char *s, size_t len, fp_boundary *out)
{
  static const fp_boundary all[] = {FP_BC_REFLECTING, FP_BC_PERIODIC, FP_BC_ABSORBING};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    const char *name = fp_boundary_name(all[i]);
    if (strlen(name) == len && strncmp(name, s, len) == 0) {
      *out = all[i];
      return true;
    }
  }
  return false;
}

/* Comma lists: items are trimmed; "a,,b" has an empty item. */
typedef struct item_iter {
  const char *next;
  bool done;
} item_iter;

static bool next_item(item_iter *it, const char **start, size_t *len)
{
  if (it->done) return false;
  const char *p = it->next;
  const char *comma = strchr(p, ',');
  const char *end = comma ? comma : p + strlen(p);
  while (p < end && isspace((unsigned char)*p)) p++;
  while (end > p && isspace((unsigned char)end[-1])) end--;
  *start = p;
  *len = (size_t)(end - p);
  if (comma)
    it->next = comma + 1;
  else
    it->done = true;
  return true;
}

static size_t count_items(const char *s)
{
  size_t n = 1;
  for (; *s; s++) n += *s == ',';
  return n;
}

enum axis_kind { AXIS_NUMBER = 0, AXIS_CELLS, AXIS_BOUNDARY };

static int constant_expression(fp_loader *ld, const char *s, size_t len, double *out);

/* A [domain] list: one item per axis, or one item for all axes. */
static int parse_axis_list(fp_loader *ld, const field *f, int dim, enum axis_kind kind,
                           double number[FP_MAX_DIM], long count[FP_MAX_DIM],
                           fp_boundary bc[FP_MAX_DIM])
{
  static const char *const one[] = {"a number or an expression of constants (e.g. 2*pi)",
                                    "a positive integer",
                                    "one of reflecting, periodic, absorbing"};
  static const char *const many[] = {"numbers", "positive integers",
                                     "boundary names (reflecting, periodic, absorbing)"};
  char expected[160];
  if (dim == 1)
    snprintf(expected, sizeof expected, "%s", one[kind]);
  else
    snprintf(expected, sizeof expected, "%d %s (one per axis) or 1 for all axes", dim, many[kind]);
  size_t n = count_items(f->text);
  if (n != 1 && n != (size_t)dim)
    return fail(ld, f, FP_ERR_CASE, "expected %s, got '%s' (%zu values)", expected, f->text, n);
  item_iter it = {f->text, false};
  const char *s;
  size_t len;
  for (size_t i = 0; next_item(&it, &s, &len); i++) {
    bool ok = false;
    if (kind == AXIS_NUMBER) {
      /* a number, or an expression of constants such as 2*pi */
      ok = parse_double(s, len, &number[i]);
      if (!ok) {
        int rc = constant_expression(ld, s, len, &number[i]);
        if (rc == FP_ERR_NOMEM) return rc;
        ok = rc == FP_OK;
      }
    }
    else if (kind == AXIS_CELLS)
      ok = parse_long(s, len, &count[i]) && count[i] > 0;
    else
      ok = parse_boundary(s, len, &bc[i]);
    if (ok) continue;
    if (n == 1) return fail(ld, f, FP_ERR_CASE, "expected %s, got '%s'", expected, f->text);
    if (len == 0)
      return fail(ld, f, FP_ERR_CASE, "expected %s, got '%s' (item %zu is empty)", expected,
                  f->text, i + 1);
    return fail(ld, f, FP_ERR_CASE, "expected %s, got '%s' ('%.*s' is not %s)", expected, f->text,
                (int)len, s, one[kind]);
  }
  for (int a = 1; n == 1 && a < dim; a++) {
    if (kind == AXIS_NUMBER) number[a] = number[0];
    if (kind == AXIS_CELLS) count[a] = count[0];
    if (kind == AXIS_BOUNDARY) bc[a] = bc[0];
  }
  return FP_OK;
}

/* Equally spaced times 0..t_end (just t_end when n == 1). */
static double *equally_spaced(size_t n, double t_end)
{
  double *t = malloc(n * sizeof *t);
  if (!t) return NULL;
  for (size_t i = 0; i < n; i++) t[i] = n == 1 ? t_end : t_end * (double)i / (double)(n - 1);
  t[n - 1] = t_end; /* exactly, whatever the rounding */
  return t;
}

/* A list of times, strictly increasing, within [0, t_end]; with append_end,
 * t_end is added when the list stops short of it. */
static int parse_times(fp_loader *ld, const field *f, bool append_end, double **out, size_t *n_out)
{
  double t_end = ld->c->t_end;
  size_t n = count_items(f->text);
  double *t = malloc((n + 1) * sizeof *t);
  if (!t) return nomem(ld);
  item_iter it = {f->text, false};
  const char *s;
  size_t len;
  int rc = FP_OK;
  for (size_t i = 0; next_item(&it, &s, &len); i++) {
    if (!parse_double(s, len, &t[i])) {
      rc = fail(ld, f, FP_ERR_CASE, "expected a comma list of times, got '%s' ('%.*s' is not a number)",
                f->text, (int)len, s);
      goto free_times;
    }
    if (t[i] < 0.0 || t[i] > t_end) {
      rc = fail(ld, f, FP_ERR_CASE, "time %g is outside [0, end] = [0, %g]", t[i], t_end);
      goto free_times;
    }
    if (i > 0 && !(t[i] > t[i - 1])) {
      rc = fail(ld, f, FP_ERR_CASE, "times must be strictly increasing, but %g follows %g", t[i],
                t[i - 1]);
      goto free_times;
    }
  }
  if (append_end && t[n - 1] < t_end) t[n++] = t_end;
  *out = t;
  *n_out = n;
  return FP_OK;
free_times:
  free(t);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* phase 2: interpretation, one function per section                        */

static int load_domain(fp_loader *ld)
{
  fp_grid *g = &ld->c->grid;
  field fd = get_field(ld, SEC_DOMAIN, "dimension");
  long dim = 0;
  if (!fd.text) {
    missing(ld, &fd, "");
    return FP_OK;
  }
  if (!parse_integer(fd.text, &dim) || dim < 1 || dim > FP_MAX_DIM) {
    fail(ld, &fd, FP_ERR_CASE, "expected 1, 2 or 3, got '%s'", fd.text);
    return FP_OK;
  }
  g->dim = (int)dim;
  ld->dim_ok = true;

  double lower[FP_MAX_DIM] = {0}, upper[FP_MAX_DIM] = {0};
  long cells[FP_MAX_DIM] = {0};
  fp_boundary bc[FP_MAX_DIM] = {FP_BC_REFLECTING, FP_BC_REFLECTING, FP_BC_REFLECTING};
  field fl = get_field(ld, SEC_DOMAIN, "lower");
  field fu = get_field(ld, SEC_DOMAIN, "upper");
  field fc = get_field(ld, SEC_DOMAIN, "cells");
  field fb = get_field(ld, SEC_DOMAIN, "boundary");
  /* Every list is checked even after a failure: the first error in the
   * file may be a later key. */
  bool ok = true;
  if (!fl.text) {
    missing(ld, &fl, "");
    ok = false;
  } else if (parse_axis_list(ld, &fl, g->dim, AXIS_NUMBER, lower, NULL, NULL) != FP_OK) {
    ok = false;
  }
  if (!fu.text) {
    missing(ld, &fu, "");
    ok = false;
  } else if (parse_axis_list(ld, &fu, g->dim, AXIS_NUMBER, upper, NULL, NULL) != FP_OK) {
    ok = false;
  }
  if (!fc.text) {
    missing(ld, &fc, "");
    ok = false;
  } else if (parse_axis_list(ld, &fc, g->dim, AXIS_CELLS, NULL, cells, NULL) != FP_OK) {
    ok = false;
  } else {
    for (int a = 0; a < g->dim; a++)
      if (cells[a] < 2) {
        fail(ld, &fc, FP_ERR_CASE, "axis %s needs at least 2 cells, got %ld", axis_names[a],
             cells[a]);
        ok = false;
        break;
      }
  }
  if (parse_axis_list(ld, &fb, g->dim, AXIS_BOUNDARY, NULL, NULL, bc) != FP_OK) ok = false;
  if (!ok) return FP_OK;

  for (int a = 0; a < g->dim; a++) {
    if (!(upper[a] > lower[a])) {
      fail(ld, later(ld, &fl, &fu), FP_ERR_CASE,
           "axis %s: upper (%g) must be greater than lower (%g)", axis_names[a], upper[a],
           lower[a]);
      return FP_OK;
    }
    g->lower[a] = lower[a];
    g->upper[a] = upper[a];
    g->n[a] = (size_t)cells[a];
    g->bc[a] = bc[a];
  }
  fp_error e;
  fp_error_clear(&e);
  if (fp_grid_init(g, &e) != FP_OK) fail(ld, &fc, FP_ERR_CASE, "%s", e.message);
  return FP_OK;
}

static bool is_function_name(const char *name)
{
  for (size_t i = 0; i < sizeof function_names / sizeof function_names[0]; i++)
    if (strcmp(function_names[i], name) == 0) return true;
  return false;
}

/* Report an expression error in [constants].  The expr module lists x, y, z
 * and t as allowed, which is wrong here, so its list is replaced. */
static int fail_constant_expr(fp_loader *ld, const field *f, const char *message)
{
  const fp_constants *k = &ld->c->constants;
  char text[FP_ERROR_MESSAGE_SIZE];
  snprintf(text, sizeof text, "%s", message);
  char *allowed = strstr(text, " (allowed: ");
  if (allowed) {
    size_t len = (size_t)(allowed - text);
    len += (size_t)snprintf(text + len, sizeof text - len, " (allowed in [constants]: e, pi");
    for (size_t i = 0; i < k->count && len < sizeof text; i++)
      len += (size_t)snprintf(text + len, sizeof text - len, ", %s", k->names[i]);
    if (len < sizeof text) snprintf(text + len, sizeof text - len, ")");
  }
  return fail(ld, f, FP_ERR_EXPR, "%s", text);
}

/* One constant: check the name, compile with the constants above it,
 * evaluate once. */
static int load_constant(fp_loader *ld, size_t idx)
{
  fp_case *c = ld->c;
  const char *name = c->entries[idx].key;
  field f = {SEC_CONSTANTS, name, idx, c->entries[idx].value};
  static const char *const reserved[] = {"x", "y", "z", "t", "e", "pi"};
  if (!is_identifier(name))
    return fail(ld, &f, FP_ERR_CASE,
                "'%s' is not a valid constant name (letters, digits and '_', not starting "
                "with a digit)",
                name);
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(name, reserved[i]) == 0)
      return fail(ld, &f, FP_ERR_CASE,
                  "'%s' is reserved (x, y, z, t, e and pi cannot name constants)", name);
  if (is_function_name(name))
    return fail(ld, &f, FP_ERR_CASE, "'%s' is a function name and cannot name a constant", name);

  fp_expr *e = NULL;
  fp_error ee;
  fp_error_clear(&ee);
  int rc = fp_expr_create(f.text, FP_MAX_DIM, &c->constants, &e, &ee);
  if (rc == FP_ERR_NOMEM) return nomem(ld);
  if (rc != FP_OK) return fail_constant_expr(ld, &f, ee.message);
  for (int a = FP_EXPR_TIME; a < FP_MAX_DIM; a++)
    if (fp_expr_depends_on(e, a)) {
      fp_expr_destroy(&e);
      return fail(ld, &f, FP_ERR_EXPR, "'%s' depends on %s, but a constant cannot", f.text,
                  a == FP_EXPR_TIME ? "t" : axis_names[a]);
    }
  const double origin[FP_MAX_DIM] = {0.0, 0.0, 0.0};
  double value = fp_expr_eval(e, origin, 0.0);
  fp_expr_destroy(&e);
  if (!isfinite(value))
    return fail(ld, &f, FP_ERR_EXPR, "'%s' evaluates to %g", f.text, value);
  rc = fp_constants_set(&c->constants, name, value, &ee);
  if (rc == FP_ERR_NOMEM) return nomem(ld);
  if (rc != FP_OK) return fail(ld, &f, FP_ERR_CASE, "%s", ee.message);
  return FP_OK;
}

static int load_constants(fp_loader *ld)
{
  fp_case *c = ld->c;
  ld->constants_ok = true;
  for (size_t i = 0; i < c->n_entries; i++) {
    if (strcmp(c->entries[i].section, section_names[SEC_CONSTANTS]) != 0) continue;
    int rc = load_constant(ld, i);
    if (rc == FP_ERR_NOMEM) return rc;
    if (rc != FP_OK) {
      /* Later constants and every expression may use this one: stop here
       * rather than report errors that are only consequences. */
      ld->constants_ok = false;
      return FP_OK;
    }
  }
  return FP_OK;
}

/* The value of an expression of the case's constants (e, pi, [constants]),
 * such as a domain bound `2*pi`: FP_OK, FP_ERR_NOMEM, or FP_ERR_EXPR when it
 * is not one (the caller reports what was expected). */
static int constant_expression(fp_loader *ld, const char *s, size_t len, double *out)
{
  if (!ld->constants_ok || len == 0 || len >= 512) return FP_ERR_EXPR;
  char text[512];
  memcpy(text, s, len);
  text[len] = '\0';
  fp_expr *e = NULL;
  fp_error ee;
  fp_error_clear(&ee);
  int rc = fp_expr_create(text, FP_MAX_DIM, &ld->c->constants, &e, &ee);
  if (rc != FP_OK) return rc == FP_ERR_NOMEM ? nomem(ld) : FP_ERR_EXPR;
  bool constant = true;
  for (int a = FP_EXPR_TIME; a < FP_MAX_DIM; a++) constant &= !fp_expr_depends_on(e, a);
  const double origin[FP_MAX_DIM] = {0.0, 0.0, 0.0};
  double v = constant ? fp_expr_eval(e, origin, 0.0) : NAN;
  fp_expr_destroy(&e);
  if (!isfinite(v)) return FP_ERR_EXPR;
  *out = v;
  return FP_OK;
}

/* Compile an expression in the case's coordinates and constants. */
static int compile(fp_loader *ld, const field *f, const char *text, fp_expr **out)
{
  fp_error e;
  fp_error_clear(&e);
  int rc = fp_expr_create(text, ld->c->grid.dim, &ld->c->constants, out, &e);
  if (rc == FP_OK) return FP_OK;
  if (rc == FP_ERR_NOMEM) return nomem(ld);
  return fail(ld, f, FP_ERR_EXPR, "%s", e.message);
}

static bool depends_on_anything(const fp_expr *e, int dim)
{
  if (fp_expr_depends_on(e, FP_EXPR_TIME)) return true;
  for (int a = 0; a < dim; a++)
    if (fp_expr_depends_on(e, a)) return true;
  return false;
}

/* A constant D that is not positive definite is a typo, and cheap to catch
 * before the solver starts; a variable D is the solver's to check. */
static void check_constant_diffusion(fp_loader *ld, const field *f, bool isotropic)
{
  fp_case *c = ld->c;
  int dim = c->grid.dim;
  double m[FP_MAX_DIM][FP_MAX_DIM];
  const double origin[FP_MAX_DIM] = {0.0, 0.0, 0.0};
  for (int a = 0; a < dim; a++)
    for (int b = 0; b < dim; b++) {
      if (depends_on_anything(c->diffusion[a][b], dim)) return;
      m[a][b] = fp_expr_eval(c->diffusion[a][b], origin, 0.0);
      if (!isfinite(m[a][b])) {
        fail(ld, f, FP_ERR_CASE, "the diffusion matrix has the non-finite entry %g", m[a][b]);
        return;
      }
    }
  if (isotropic) {
    if (!(m[0][0] > 0.0))
      fail(ld, f, FP_ERR_CASE, "D = %g * identity is not positive definite (need a value > 0)",
           m[0][0]);
    return;
  }
  double minor[FP_MAX_DIM] = {m[0][0], 0.0, 0.0};
  if (dim >= 2) minor[1] = m[0][0] * m[1][1] - m[0][1] * m[1][0];
  if (dim == 3)
    minor[2] = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
               m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
               m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  for (int k = 0; k < dim; k++)
    if (!(minor[k] > 0.0)) {
      fail(ld, f, FP_ERR_CASE,
           "the constant diffusion matrix is not positive definite (leading minor %d is %g)",
           k + 1, minor[k]);
      return;
    }
}

static int load_drift(fp_loader *ld)
{
  fp_case *c = ld->c;
  int dim = c->grid.dim;
  static const char *const keys[FP_MAX_DIM] = {"drift_x", "drift_y", "drift_z"};
  field synonym = get_field(ld, SEC_DYNAMICS, "drift");
  field comp[FP_MAX_DIM];
  bool ok = true;
  for (int a = 0; a < FP_MAX_DIM; a++) comp[a] = get_field(ld, SEC_DYNAMICS, keys[a]);
  if (synonym.idx != NONE && dim > 1) {
    fail(ld, &synonym, FP_ERR_CASE, "'drift' is the 1D name of drift_x; in %dD give drift_x, %s",
         dim, dim == 2 ? "drift_y" : "drift_y, drift_z");
    ok = false;
  } else if (synonym.idx != NONE && comp[0].idx != NONE) {
    const field *f = later(ld, &synonym, &comp[0]);
    const field *other = f == &synonym ? &comp[0] : &synonym;
    char where[FP_ERROR_MESSAGE_SIZE / 2];
    field_location(ld, other, where, sizeof where);
    fail(ld, f, FP_ERR_CASE, "give either 'drift' or 'drift_x', not both ('%s' is set at %s)",
         other->key, where);
    ok = false;
  }
  for (int a = dim; a < FP_MAX_DIM; a++)
    if (comp[a].idx != NONE) {
      fail(ld, &comp[a], FP_ERR_CASE, "a %dD case has no %s axis; its drift is %s", dim,
           axis_names[a], dim == 1 ? "drift_x (or drift)" : "drift_x, drift_y");
      ok = false;
    }
  for (int a = 0; ok && a < dim; a++) {
    const field *f = a == 0 && synonym.idx != NONE ? &synonym : &comp[a];
    if (compile(ld, f, f->text, &c->drift[a]) == FP_ERR_NOMEM) return FP_ERR_NOMEM;
  }
  return FP_OK;
}

static int load_diffusion(fp_loader *ld)
{
  fp_case *c = ld->c;
  int dim = c->grid.dim;
  /* components in the order xx, yy, zz, xy, xz, yz */
  static const char *const keys[6] = {"diffusion_xx", "diffusion_yy", "diffusion_zz",
                                      "diffusion_xy", "diffusion_xz", "diffusion_yz"};
  static const int pair[6][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {0, 2}, {1, 2}};
  static const char *const entries_of[FP_MAX_DIM] = {
      "diffusion_xx", "diffusion_xx, diffusion_yy, diffusion_xy",
      "diffusion_xx, diffusion_yy, diffusion_zz, diffusion_xy, diffusion_xz, diffusion_yz"};
  static const char *const diagonal_of[FP_MAX_DIM] = {
      "diffusion_xx", "diffusion_xx, diffusion_yy", "diffusion_xx, diffusion_yy, diffusion_zz"};
  field iso = get_field(ld, SEC_DYNAMICS, "diffusion");
  field comp[6];
  const field *first = NULL, *last = NULL; /* components given, by position */
  bool ok = true;
  for (int k = 0; k < 6; k++) {
    comp[k] = get_field(ld, SEC_DYNAMICS, keys[k]);
    if (comp[k].idx == NONE) continue;
    if (!first || field_order(ld, &comp[k]) < field_order(ld, first)) first = &comp[k];
    if (!last || field_order(ld, &comp[k]) > field_order(ld, last)) last = &comp[k];
    if (pair[k][1] >= dim) {
      fail(ld, &comp[k], FP_ERR_CASE, "a %dD case has no %s axis; its diffusion entries are %s",
           dim, axis_names[pair[k][1]], entries_of[dim - 1]);
      ok = false;
    }
  }
  if (iso.idx != NONE && first) {
    const field *f = later(ld, &iso, first);
    const field *other = f == &iso ? first : &iso;
    char where[FP_ERROR_MESSAGE_SIZE / 2];
    field_location(ld, other, where, sizeof where);
    fail(ld, f, FP_ERR_CASE,
         "give either 'diffusion' (D = value * identity) or the entries %s, not both ('%s' is "
         "set at %s)",
         entries_of[dim - 1], other->key, where);
    return FP_OK;
  }
  if (iso.idx == NONE && !first) {
    char hint[256];
    snprintf(hint, sizeof hint,
             " (give 'diffusion' for D = value * identity, or the matrix entries %s)",
             entries_of[dim - 1]);
    missing(ld, &iso, hint);
    return FP_OK;
  }
  if (first)
    for (int a = 0; a < dim; a++)
      if (comp[a].idx == NONE) {
        char hint[256];
        snprintf(hint, sizeof hint,
                 " (D is given by entries, so every diagonal entry is needed: %s)",
                 diagonal_of[dim - 1]);
        missing(ld, &comp[a], hint);
        ok = false;
      }
  if (!ok) return FP_OK;

  /* diffusion[a][b] and diffusion[b][a] are separate objects from one text. */
  static const int component_of[FP_MAX_DIM][FP_MAX_DIM] = {{0, 3, 4}, {3, 1, 5}, {4, 5, 2}};
  bool compiled = true;
  for (int a = 0; a < dim; a++)
    for (int b = 0; b < dim; b++) {
      const field *f = first ? &comp[component_of[a][b]] : &iso;
      const char *text = first || a == b ? f->text : "0";
      int rc = compile(ld, f, text, &c->diffusion[a][b]);
      if (rc == FP_ERR_NOMEM) return rc;
      compiled = compiled && rc == FP_OK;
    }
  if (!compiled) return FP_OK;
  c->diagonal_diffusion = true;
  for (int a = 0; a < dim; a++)
    for (int b = 0; b < dim; b++)
      if (a != b && !fp_expr_is_zero(c->diffusion[a][b])) c->diagonal_diffusion = false;
  check_constant_diffusion(ld, first ? last : &iso, !first);
  return FP_OK;
}

static int load_dynamics(fp_loader *ld)
{
  fp_case *c = ld->c;
  field conv = get_field(ld, SEC_DYNAMICS, "convention");
  if (strcmp(conv.text, "ito") != 0)
    fail(ld, &conv, FP_ERR_CASE,
         "only the Ito convention is supported, got '%s'; convert the drift first, "
         "a_Ito = a_Strat + 1/2 sum_k (B_k . grad) B_k with B_k the columns of B "
         "(D = B B^T / 2), then set convention = ito",
         conv.text);
  if (!ld->dim_ok || !ld->constants_ok) return FP_OK;
  int rc = load_drift(ld);
  if (rc == FP_OK) rc = load_diffusion(ld);
  if (rc != FP_OK) return rc;
  field fp = get_field(ld, SEC_DYNAMICS, "potential");
  if (fp.idx != NONE && compile(ld, &fp, fp.text, &c->potential) == FP_ERR_NOMEM)
    return FP_ERR_NOMEM;
  return FP_OK;
}

/* Up to `max` numbers (or expressions of constants) of a comma list. */
static int number_list(fp_loader *ld, const field *f, double *out, size_t max, size_t *n)
{
  *n = 0;
  item_iter it = {f->text, false};
  const char *s;
  size_t len;
  while (next_item(&it, &s, &len)) {
    if (*n == max) return fail(ld, f, FP_ERR_CASE, "at most %zu values, got '%s'", max, f->text);
    double v;
    if (!parse_double(s, len, &v)) {
      int rc = constant_expression(ld, s, len, &v);
      if (rc == FP_ERR_NOMEM) return rc;
      if (rc != FP_OK)
        return fail(ld, f, FP_ERR_CASE, "'%.*s' is not a number or an expression of constants",
                    (int)len, s);
    }
    out[(*n)++] = v;
  }
  return FP_OK;
}

/* density = gaussian with `mean` (dim values, or one for every axis;
 * default 0) and `covariance` (dim values: a diagonal; or dim x dim values,
 * row by row, symmetric positive definite).  The density is written as the
 * expression of the normalised normal density, exp(-Q/2) / sqrt((2 pi)^d
 * det S), with the inverse and determinant computed here (Cholesky). */
static int gaussian_density(fp_loader *ld, int section, const field *fd, char **text)
{
  *text = NULL;
  int dim = ld->c->grid.dim;
  field fm = get_field(ld, section, "mean"), fc = get_field(ld, section, "covariance");
  double m[FP_MAX_DIM] = {0.0, 0.0, 0.0}, sv[FP_MAX_DIM * FP_MAX_DIM];
  size_t nm = 0, nc = 0;
  if (fm.text) {
    int rc = number_list(ld, &fm, m, FP_MAX_DIM, &nm);
    if (rc != FP_OK) return rc;
    if (nm != 1 && nm != (size_t)dim)
      return fail(ld, &fm, FP_ERR_CASE, "expected %d values (or 1 for every axis), got %zu", dim, nm);
    for (int a = 1; nm == 1 && a < dim; a++) m[a] = m[0];
  }
  if (!fc.text)
    return fail(ld, fd, FP_ERR_CASE,
                "density = gaussian needs 'covariance' (%d values for a diagonal, or %d row by row)",
                dim, dim * dim);
  int rc = number_list(ld, &fc, sv, FP_MAX_DIM * FP_MAX_DIM, &nc);
  if (rc != FP_OK) return rc;
  double S[FP_MAX_DIM][FP_MAX_DIM] = {{0}};
  if (nc == (size_t)dim) {
    for (int a = 0; a < dim; a++) S[a][a] = sv[a];
  } else if (nc == (size_t)(dim * dim)) {
    for (int a = 0; a < dim; a++)
      for (int b = 0; b < dim; b++) S[a][b] = sv[a * dim + b];
    for (int a = 0; a < dim; a++)
      for (int b = 0; b < a; b++)
        if (S[a][b] != S[b][a])
          return fail(ld, &fc, FP_ERR_CASE, "the covariance is not symmetric (entries %d,%d and %d,%d)",
                      a + 1, b + 1, b + 1, a + 1);
  } else {
    return fail(ld, &fc, FP_ERR_CASE,
                "expected %d values (a diagonal) or %d (the matrix row by row), got %zu", dim,
                dim * dim, nc);
  }
  /* P = S^-1 and log det S from the one SPD helper (core/spd_impl.h). */
  fp_spd f;
  if (!fp_spd_factor(dim, (const double(*)[FP_SPD_MAX])S, &f))
    return fail(ld, &fc, FP_ERR_CASE, "the covariance '%s' is not positive definite", fc.text);
  double Pm[FP_MAX_DIM][FP_MAX_DIM], logdet = f.logdet;
  fp_spd_inverse(&f, Pm);
  static const char *const var[] = {"x", "y", "z"};
  size_t cap = 2048, len = 0;
  char *t = malloc(cap);
  if (!t) return nomem(ld);
  len += (size_t)snprintf(t + len, cap - len, "exp(-0.5*(0");
  for (int a = 0; a < dim; a++)
    for (int b = 0; b < dim; b++) {
      double P = Pm[a][b];
      len += (size_t)snprintf(t + len, cap - len, " + (%.17g)*(%s - (%.17g))*(%s - (%.17g))", P,
                              var[a], m[a], var[b], m[b]);
    }
  double logZ = 0.5 * ((double)dim * log(6.283185307179586476925286766559) + logdet);
  snprintf(t + len, cap - len, ") - (%.17g))", logZ);
  *text = t;
  return FP_OK;
}

/* A density key: an expression, or `gaussian` with mean and covariance
 * (which are rejected without it). */
static int load_density_expression(fp_loader *ld, int section, const field *f, fp_expr **out)
{
  field fm = get_field(ld, section, "mean"), fc = get_field(ld, section, "covariance");
  if (strcmp(f->text, "gaussian") != 0) {
    if (fm.idx != NONE || fc.idx != NONE)
      return fail(ld, fm.idx != NONE ? &fm : &fc, FP_ERR_CASE,
                  "'%s' is only used with density = gaussian", fm.idx != NONE ? "mean" : "covariance");
    return compile(ld, f, f->text, out);
  }
  char *text = NULL;
  int rc = gaussian_density(ld, section, f, &text);
  if (rc == FP_OK && text) rc = compile(ld, f, text, out);
  free(text);
  return rc;
}

static int load_densities(fp_loader *ld)
{
  fp_case *c = ld->c;
  bool can_compile = ld->dim_ok && ld->constants_ok;
  field fi = get_field(ld, SEC_INITIAL, "density");
  if (!fi.text)
    missing(ld, &fi, " (an expression, or gaussian with mean and covariance; it need not be normalised)");
  else if (can_compile && load_density_expression(ld, SEC_INITIAL, &fi, &c->initial) == FP_ERR_NOMEM)
    return FP_ERR_NOMEM;

  /* The keywords win over constants that happen to have the same name. */
  field fr = get_field(ld, SEC_REFERENCE, "density");
  field fn = get_field(ld, SEC_REFERENCE, "normalise");
  if (strcmp(fn.text, "yes") == 0)
    c->reference_normalise = true;
  else if (strcmp(fn.text, "no") == 0)
    c->reference_normalise = false;
  else
    return fail(ld, &fn, FP_ERR_CASE, "expected yes or no, got '%s'", fn.text);
  if (strcmp(fr.text, "initial") == 0) {
    c->reference_kind = FP_REFERENCE_INITIAL;
  } else if (strcmp(fr.text, "stationary") == 0) {
    c->reference_kind = FP_REFERENCE_STATIONARY;
  } else {
    c->reference_kind = FP_REFERENCE_EXPRESSION;
    if (can_compile && load_density_expression(ld, SEC_REFERENCE, &fr, &c->reference) == FP_ERR_NOMEM)
      return FP_ERR_NOMEM;
  }
  if (c->reference_kind != FP_REFERENCE_EXPRESSION && !c->reference_normalise)
    return fail(ld, &fn, FP_ERR_CASE,
                "normalise = no applies to a reference given by an expression or gaussian, "
                "not to density = %s (which is a density on the grid already)", fr.text);
  return FP_OK;
}

/* A count of equally spaced times from 0 to t_end, or an explicit list. */
static int load_time_list(fp_loader *ld, int section, const char *count_key,
                          const char *list_key, long min_count, bool append_end, double **times,
                          size_t *n_times)
{
  field fn = get_field(ld, section, count_key);
  field fl = get_field(ld, section, list_key);
  if (fn.idx != NONE && fl.idx != NONE) {
    const field *f = later(ld, &fn, &fl);
    const field *other = f == &fn ? &fl : &fn;
    char where[FP_ERROR_MESSAGE_SIZE / 2];
    field_location(ld, other, where, sizeof where);
    return fail(ld, f, FP_ERR_CASE,
                "give either '%s' (a count) or '%s' (a list), not both ('%s' is set at %s)",
                count_key, list_key, other->key, where);
  }
  if (fl.idx != NONE) {
    if (!ld->t_end_ok) return FP_OK;
    return parse_times(ld, &fl, append_end, times, n_times);
  }
  long n = 0;
  if (!parse_integer(fn.text, &n) || n < min_count || n > MAX_TIME_COUNT)
    return fail(ld, &fn, FP_ERR_CASE, "expected an integer from %ld to %ld, got '%s'", min_count,
                MAX_TIME_COUNT, fn.text);
  if (n == 0 || !ld->t_end_ok) return FP_OK;
  *times = equally_spaced((size_t)n, ld->c->t_end);
  if (!*times) return nomem(ld);
  *n_times = (size_t)n;
  return FP_OK;
}

/* A number checked against (lo, hi] or [lo, hi]; hi may be INFINITY. */
static int load_number(fp_loader *ld, int section, const char *key, double lo, bool lo_open,
                       double hi, double *out)
{
  field f = get_field(ld, section, key);
  double v = 0.0;
  bool ok = parse_number(f.text, &v) && (lo_open ? v > lo : v >= lo) && v <= hi;
  if (!ok) {
    if (isinf(hi))
      return fail(ld, &f, FP_ERR_CASE, "expected a number %s %g, got '%s'", lo_open ? ">" : ">=",
                  lo, f.text);
    return fail(ld, &f, FP_ERR_CASE, "expected a number in %c%g, %g], got '%s'",
                lo_open ? '(' : '[', lo, hi, f.text);
  }
  *out = v;
  return FP_OK;
}

static int load_time(fp_loader *ld)
{
  fp_case *c = ld->c;
  field fe = get_field(ld, SEC_TIME, "end");
  if (!fe.text)
    missing(ld, &fe, " (a positive number)");
  else if (!parse_number(fe.text, &c->t_end) || !(c->t_end > 0.0))
    fail(ld, &fe, FP_ERR_CASE, "expected a positive number, got '%s'", fe.text);
  else
    ld->t_end_ok = true;
  int rc = load_time_list(ld, SEC_TIME, "outputs", "output_times", 2, true, &c->output_times,
                          &c->n_output_times);
  if (rc == FP_ERR_NOMEM) return rc;
  field fr = get_field(ld, SEC_TIME, "rtol");
  if (fr.text && strcmp(fr.text, "auto") == 0)
    c->rtol = FP_RTOL_AUTO; /* resolved by the solver from the grid and p(0) */
  else
    load_number(ld, SEC_TIME, "rtol", 0.0, true, 0.1, &c->rtol);
  load_number(ld, SEC_TIME, "atol", 0.0, true, INFINITY, &c->atol);
  load_number(ld, SEC_TIME, "max_step", 0.0, false, INFINITY, &c->max_step);
  load_number(ld, SEC_TIME, "initial_step", 0.0, false, INFINITY, &c->initial_step);
  field fi = get_field(ld, SEC_TIME, "integrator");
  if (strcmp(fi.text, "auto") == 0)
    c->integrator = FP_INTEGRATOR_AUTO;
  else if (strcmp(fi.text, "cvode") == 0)
    c->integrator = FP_INTEGRATOR_CVODE;
  else if (strcmp(fi.text, "exponential") == 0)
    c->integrator = FP_INTEGRATOR_EXPONENTIAL;
  else
    fail(ld, &fi, FP_ERR_CASE, "expected auto, cvode or exponential, got '%s'", fi.text);
  field fm = get_field(ld, SEC_TIME, "max_steps");
  if (!parse_integer(fm.text, &c->max_steps) || c->max_steps <= 0)
    fail(ld, &fm, FP_ERR_CASE, "expected a positive integer, got '%s'", fm.text);
  return FP_OK;
}

static int load_solver(fp_loader *ld)
{
  fp_case *c = ld->c;
  static const fp_linear_solver_kind solvers[] = {FP_LINSOL_AUTO, FP_LINSOL_BAND, FP_LINSOL_DENSE,
                                                  FP_LINSOL_KLU, FP_LINSOL_GMRES};
  static const fp_preconditioner_kind preconditioners[] = {FP_PREC_AUTO, FP_PREC_NONE,
                                                           FP_PREC_FFT};
  field fs = get_field(ld, SEC_SOLVER, "linear_solver");
  field fp = get_field(ld, SEC_SOLVER, "preconditioner");
  bool solver_ok = false, prec_ok = false;
  for (size_t i = 0; i < sizeof solvers / sizeof solvers[0]; i++)
    if (strcmp(fs.text, fp_linear_solver_name(solvers[i])) == 0) {
      c->linear_solver = solvers[i];
      solver_ok = true;
    }
  if (!solver_ok)
    fail(ld, &fs, FP_ERR_CASE, "expected auto, band, dense, klu or gmres, got '%s'", fs.text);
  for (size_t i = 0; i < sizeof preconditioners / sizeof preconditioners[0]; i++)
    if (strcmp(fp.text, fp_preconditioner_name(preconditioners[i])) == 0) {
      c->preconditioner = preconditioners[i];
      prec_ok = true;
    }
  if (!prec_ok) fail(ld, &fp, FP_ERR_CASE, "expected auto, none or fft, got '%s'", fp.text);
  if (solver_ok && prec_ok && c->preconditioner == FP_PREC_FFT &&
      c->linear_solver != FP_LINSOL_AUTO && c->linear_solver != FP_LINSOL_GMRES)
    fail(ld, later(ld, &fs, &fp), FP_ERR_CASE,
         "preconditioner 'fft' needs linear_solver = gmres (or auto), not '%s'",
         fp_linear_solver_name(c->linear_solver));
  field fw = get_field(ld, SEC_SOLVER, "fft_planning");
  if (strcmp(fw.text, "estimate") == 0)
    c->fft_measure = false;
  else if (strcmp(fw.text, "measure") == 0)
    c->fft_measure = true;
  else
    fail(ld, &fw, FP_ERR_CASE, "expected estimate or measure, got '%s'", fw.text);
  field fk = get_field(ld, SEC_SOLVER, "krylov_dim");
  long k = 0;
  if (!parse_integer(fk.text, &k) || k < 1 || k > 500)
    fail(ld, &fk, FP_ERR_CASE, "expected an integer from 1 to 500, got '%s'", fk.text);
  else
    c->krylov_dim = (int)k;
  return FP_OK;
}

static int load_output(fp_loader *ld)
{
  fp_case *c = ld->c;
  field fd = get_field(ld, SEC_OUTPUT, "directory");
  if (fd.idx == NONE) {
    c->output_dir = format_alloc("out/%s", c->name);
    if (!c->output_dir) return nomem(ld);
  } else if (fd.text[0] == '\0') {
    fail(ld, &fd, FP_ERR_CASE, "expected a directory path, got an empty value");
  } else {
    c->output_dir = duplicate(fd.text);
    if (!c->output_dir) return nomem(ld);
  }
  int rc = load_time_list(ld, SEC_OUTPUT, "snapshots", "snapshot_times", 0, false,
                          &c->snapshot_times, &c->n_snapshot_times);
  if (rc == FP_ERR_NOMEM) return rc;

  field ff = get_field(ld, SEC_OUTPUT, "snapshot_format");
  item_iter it = {ff.text, false};
  const char *s;
  size_t len;
  unsigned format = 0;
  while (next_item(&it, &s, &len)) {
    if (len == 3 && strncmp(s, "vtk", 3) == 0)
      format |= FP_SNAPSHOT_VTK;
    else if (len == 3 && strncmp(s, "dat", 3) == 0)
      format |= FP_SNAPSHOT_DAT;
    else if (len == 3 && strncmp(s, "vti", 3) == 0)
      format |= FP_SNAPSHOT_VTI;
    else
      return fail(ld, &ff, FP_ERR_CASE, "expected a comma list of vti, vtk, dat, got '%s'", ff.text);
  }
  c->snapshot_format = format;
  field fsp = get_field(ld, SEC_OUTPUT, "split");
  if (strcmp(fsp.text, "auto") == 0)
    c->split = FP_SPLIT_AUTO;
  else if (strcmp(fsp.text, "on") == 0)
    c->split = FP_SPLIT_ON;
  else if (strcmp(fsp.text, "off") == 0)
    c->split = FP_SPLIT_OFF;
  else
    return fail(ld, &fsp, FP_ERR_CASE, "expected auto, on or off, got '%s'", fsp.text);
  field fee = get_field(ld, SEC_OUTPUT, "error_estimate");
  if (strcmp(fee.text, "off") == 0)
    c->error_estimate = FP_ERROR_ESTIMATE_OFF;
  else if (strcmp(fee.text, "on") == 0)
    c->error_estimate = FP_ERROR_ESTIMATE_ON;
  else if (strcmp(fee.text, "verify") == 0)
    c->error_estimate = FP_ERROR_ESTIMATE_VERIFY;
  else
    return fail(ld, &fee, FP_ERR_CASE, "expected off, on or verify, got '%s'", fee.text);
  return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* public functions                                                          */

const char *fp_linear_solver_name(fp_linear_solver_kind k)
{
  switch (k) {
  case FP_LINSOL_AUTO: return "auto";
  case FP_LINSOL_BAND: return "band";
  case FP_LINSOL_DENSE: return "dense";
  case FP_LINSOL_KLU: return "klu";
  case FP_LINSOL_GMRES: return "gmres";
  }
  return "unknown";
}

const char *fp_preconditioner_name(fp_preconditioner_kind k)
{
  switch (k) {
  case FP_PREC_AUTO: return "auto";
  case FP_PREC_NONE: return "none";
  case FP_PREC_FFT: return "fft";
  }
  return "unknown";
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
  if (len == 0) return duplicate("case");
  char *name = malloc(len + 1);
  if (!name) return NULL;
  memcpy(name, base, len);
  name[len] = '\0';
  return name;
}

/* A positive integer no larger than `max`. */
static int load_count(fp_loader *ld, int section, const char *key, long max, size_t *out)
{
  field f = get_field(ld, section, key);
  long v = 0;
  if (!parse_integer(f.text, &v) || v < 1 || v > max)
    return fail(ld, &f, FP_ERR_CASE, "expected an integer from 1 to %ld, got '%s'", max, f.text);
  *out = (size_t)v;
  return FP_OK;
}

/* A whitespace-separated list of specs, kept as text (each spec is checked
 * by the module that parses it, before any computation). */
static int load_specs(fp_loader *ld, int section, const char *key, char **out)
{
  field f = get_field(ld, section, key);
  if (f.text[0] == '\0') return fail(ld, &f, FP_ERR_CASE, "expected at least one spec, got an empty value");
  *out = duplicate(f.text);
  return *out ? FP_OK : nomem(ld);
}

static int load_sample(fp_loader *ld)
{
  fp_case *c = ld->c;
  load_count(ld, SEC_SAMPLE, "particles", 100000000L, &c->sample_particles);
  load_count(ld, SEC_SAMPLE, "replicas", 100000L, &c->sample_replicas);
  field fs = get_field(ld, SEC_SAMPLE, "seed");
  long seed = 0;
  if (!parse_integer(fs.text, &seed) || seed < 0)
    fail(ld, &fs, FP_ERR_CASE, "expected a non-negative integer, got '%s'", fs.text);
  else
    c->sample_seed = (unsigned long)seed;
  load_number(ld, SEC_SAMPLE, "dt", 0.0, false, INFINITY, &c->sample_dt);
  field fz = get_field(ld, SEC_SAMPLE, "sizes");
  size_t n = count_items(fz.text);
  c->sample_sizes = calloc(n ? n : 1, sizeof *c->sample_sizes);
  if (!c->sample_sizes) return nomem(ld);
  item_iter it = {fz.text, false};
  const char *s;
  size_t len;
  while (next_item(&it, &s, &len)) {
    long v = 0;
    if (!parse_long(s, len, &v) || v < 2 || v > 100000000L)
      return fail(ld, &fz, FP_ERR_CASE, "expected a comma list of sample sizes >= 2, got '%s'", fz.text);
    c->sample_sizes[c->n_sample_sizes++] = (size_t)v;
  }
  if (c->n_sample_sizes == 0) return fail(ld, &fz, FP_ERR_CASE, "expected at least one sample size");
  return load_specs(ld, SEC_SAMPLE, "estimators", &c->estimators);
}

static int load_policy(fp_loader *ld)
{
  fp_case *c = ld->c;
  load_number(ld, SEC_POLICY, "cost", 0.0, false, INFINITY, &c->retrain_cost);
  load_number(ld, SEC_POLICY, "kappa", 0.0, true, INFINITY, &c->kappa);
  load_number(ld, SEC_POLICY, "stale_threshold", 0.0, false, INFINITY, &c->stale_threshold);
  return load_specs(ld, SEC_POLICY, "policies", &c->policies);
}

/* Read a case from `text` (a string) or, when text is NULL, from the file
 * `path`; `path` names the source in every message either way. */
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
  ld.c->path = duplicate(path);
  ld.c->name = case_name(path);
  if (!ld.c->path || !ld.c->name) {
    rc = nomem(&ld);
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

  /* constants first: domain bounds may be expressions of them */
  int (*const sections[])(fp_loader *) = {load_constants, load_domain,    load_dynamics,
                                          load_densities, load_time,      load_solver,
                                          load_output,    load_sample,    load_policy};
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
    rc = sections[i](&ld);
    if (rc != FP_OK) goto close_file;
  }
  rc = ld.failed ? ld.error.code : FP_OK;

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

static bool has_entry(const fp_case *c, int section, const char *key)
{
  for (size_t i = 0; i < c->n_entries; i++)
    if (strcmp(c->entries[i].section, section_names[section]) == 0 &&
        strcmp(c->entries[i].key, key) == 0)
      return true;
  return false;
}

/* Whether a default in the table was used by this case. */
static bool default_applies(const fp_case *c, const key_default *d)
{
  if (has_entry(c, d->section, d->key)) return false;
  if (d->section == SEC_DYNAMICS && strncmp(d->key, "drift_", 6) == 0) {
    int axis = d->key[6] - 'x';
    return axis < c->grid.dim && !(axis == 0 && has_entry(c, SEC_DYNAMICS, "drift"));
  }
  if (d->section == SEC_DYNAMICS && strncmp(d->key, "diffusion_", 10) == 0) {
    int b = d->key[11] - 'x';
    return b < c->grid.dim && !has_entry(c, SEC_DYNAMICS, "diffusion");
  }
  if (strcmp(d->key, "outputs") == 0) return !has_entry(c, SEC_TIME, "output_times");
  if (strcmp(d->key, "snapshots") == 0) return !has_entry(c, SEC_OUTPUT, "snapshot_times");
  return true;
}

void fp_case_print(const fp_case *c, FILE *f)
{
  if (!c || !f) return;
  for (int s = 0; s < SEC_COUNT; s++) {
    for (size_t i = 0; i < c->n_entries; i++) {
      const fp_case_entry *e = &c->entries[i];
      if (strcmp(e->section, section_names[s]) != 0) continue;
      double value;
      if (s == SEC_CONSTANTS && fp_constants_get(&c->constants, e->key, &value))
        fprintf(f, "%s.%s = %s    # %s (= %.15g)\n", e->section, e->key, e->value, e->source,
                value);
      else
        fprintf(f, "%s.%s = %s    # %s\n", e->section, e->key, e->value, e->source);
    }
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
      if (defaults[i].section == s && default_applies(c, &defaults[i]))
        fprintf(f, "%s.%s = %s    # default\n", section_names[s], defaults[i].key,
                defaults[i].value);
    if (s == SEC_OUTPUT && !has_entry(c, SEC_OUTPUT, "directory") && c->output_dir)
      fprintf(f, "output.directory = %s    # default\n", c->output_dir);
  }
}
