/* fpentropy: sweep plans, the sweep.json manifest and the gathered sweep.csv (see sweep.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/io/sweep.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpentropy/io/output.h>

#include "core/error_impl.h"

/* ----------------------------------------------------------------------- */
/* Small helpers                                                            */
/* ----------------------------------------------------------------------- */

static char *dup_n(const char *s, size_t n)
{
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static char *dup_s(const char *s) { return dup_n(s, strlen(s)); }

static void free_strings(char **v, size_t n)
{
  if (!v) return;
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

/* A growable text buffer; `failed` is sticky so that callers check once. */
typedef struct strbuf {
  char *s;
  size_t len, cap;
  bool failed;
} strbuf;

static void sb_add_n(strbuf *b, const char *s, size_t n)
{
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->s, cap);
    if (!p) {
      b->failed = true;
      return;
    }
    b->s = p;
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void sb_add(strbuf *b, const char *s) { sb_add_n(b, s, strlen(s)); }

uint64_t fp_sweep_hash(uint64_t h, const void *data, size_t n)
{
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= UINT64_C(1099511628211);
  }
  return h;
}

int fp_sweep_hash_file(const char *path, uint64_t *h, fp_error *err)
{
  FILE *f = fopen(path, "rb");
  if (!f) return fp_fail(err, FP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  unsigned char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) *h = fp_sweep_hash(*h, buf, n);
  bool bad = ferror(f);
  fclose(f);
  return bad ? fp_fail(err, FP_ERR_IO, "error reading %s", path) : FP_OK;
}

const char *fp_sweep_status_name(fp_sweep_status s)
{
  switch (s) {
  case FP_SWEEP_DONE: return "done";
  case FP_SWEEP_FAILED: return "failed";
  case FP_SWEEP_INTERRUPTED: return "interrupted";
  default: return "pending";
  }
}

static bool status_parse(const char *s, fp_sweep_status *out)
{
  for (int k = FP_SWEEP_PENDING; k <= FP_SWEEP_INTERRUPTED; k++)
    if (strcmp(s, fp_sweep_status_name((fp_sweep_status)k)) == 0) {
      *out = (fp_sweep_status)k;
      return true;
    }
  return false;
}

/* ----------------------------------------------------------------------- */
/* Axes                                                                     */
/* ----------------------------------------------------------------------- */

void fp_sweep_axis_clear(fp_sweep_axis *axis)
{
  if (!axis) return;
  free(axis->key);
  free_strings(axis->values, axis->nvalues);
  memset(axis, 0, sizeof *axis);
}

static bool parse_real(const char *s, size_t n, double *out)
{
  char buf[64];
  if (n == 0 || n >= sizeof buf) return false;
  memcpy(buf, s, n);
  buf[n] = '\0';
  char *end = NULL;
  errno = 0;
  double v = strtod(buf, &end);
  if (errno || *end != '\0' || !isfinite(v)) return false;
  *out = v;
  return true;
}

/* Split "a:b:c" (or "log:a:b:c") into numbers; false if it is not a range. */
static bool parse_range(const char *rhs, bool *log_scale, double *start, double *stop, size_t *num)
{
  *log_scale = strncmp(rhs, "log:", 4) == 0;
  const char *s = *log_scale ? rhs + 4 : rhs;
  const char *c1 = strchr(s, ':');
  const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (!c1 || !c2 || strchr(c2 + 1, ':')) return false;
  double n;
  if (!parse_real(s, (size_t)(c1 - s), start) || !parse_real(c1 + 1, (size_t)(c2 - c1 - 1), stop) ||
      !parse_real(c2 + 1, strlen(c2 + 1), &n))
    return false;
  if (n < 1 || n != floor(n) || n > FP_SWEEP_MAX_POINTS) return false;
  *num = (size_t)n;
  return true;
}

/* A range value as text: 15 significant digits, so that round-off of the
 * spacing does not show ("0.1:0.3:3" gives 0.2, not 0.20000000000000001). */
static void format_value(char *buf, size_t size, double v)
{
  snprintf(buf, size, "%.15g", v);
  if (strcmp(buf, "-0") == 0) snprintf(buf, size, "0");
}

int fp_sweep_axis_parse(const char *spec, fp_sweep_axis *axis, fp_error *err)
{
  memset(axis, 0, sizeof *axis);
  const char *eq = spec ? strchr(spec, '=') : NULL;
  if (!eq || eq == spec)
    return fp_fail(err, FP_ERR_ARG, "--grid '%s': expected KEY=V1,V2,... or KEY=start:stop:num",
                   spec ? spec : "(null)");
  for (const char *p = spec; p < eq; p++)
    if (isspace((unsigned char)*p) || *p == ',' || *p == '"')
      return fp_fail(err, FP_ERR_ARG, "--grid '%s': the key may not contain spaces, commas or quotes",
                     spec);
  if (!memchr(spec, '.', (size_t)(eq - spec)))
    return fp_fail(err, FP_ERR_ARG, "--grid '%s': the key must be section.key (as for --set)", spec);
  const char *rhs = eq + 1;
  axis->key = dup_n(spec, (size_t)(eq - spec));
  if (!axis->key) return fp_fail(err, FP_ERR_NOMEM, "out of memory");

  bool log_scale;
  double start, stop;
  size_t num;
  if (parse_range(rhs, &log_scale, &start, &stop, &num)) {
    if (log_scale && (start <= 0 || stop <= 0)) {
      fp_sweep_axis_clear(axis);
      return fp_fail(err, FP_ERR_ARG, "--grid '%s': a log range needs start and stop > 0", spec);
    }
    axis->values = calloc(num, sizeof *axis->values);
    if (!axis->values) goto nomem;
    for (size_t k = 0; k < num; k++) {
      double f = num > 1 ? (double)k / (double)(num - 1) : 0.0;
      double v = log_scale ? exp(log(start) + f * (log(stop) - log(start))) : start + f * (stop - start);
      if (k == 0) v = start;
      if (k == num - 1 && num > 1) v = stop;
      char buf[64];
      format_value(buf, sizeof buf, v);
      axis->values[k] = dup_s(buf);
      if (!axis->values[k]) goto nomem;
      axis->nvalues = k + 1;
    }
    return FP_OK;
  }
  /* a list */
  size_t n = 1;
  for (const char *p = rhs; *p; p++) n += *p == ',';
  axis->values = calloc(n, sizeof *axis->values);
  if (!axis->values) goto nomem;
  const char *p = rhs;
  for (size_t k = 0; k < n; k++) {
    const char *q = strchr(p, ',');
    size_t len = q ? (size_t)(q - p) : strlen(p);
    if (len == 0) {
      fp_sweep_axis_clear(axis);
      return fp_fail(err, FP_ERR_ARG, "--grid '%s': empty value (value %zu)", spec, k + 1);
    }
    axis->values[k] = dup_n(p, len);
    if (!axis->values[k]) goto nomem;
    axis->nvalues = k + 1;
    p = q ? q + 1 : p + len;
  }
  return FP_OK;
nomem:
  fp_sweep_axis_clear(axis);
  return fp_fail(err, FP_ERR_NOMEM, "out of memory");
}

/* ----------------------------------------------------------------------- */
/* Plans                                                                    */
/* ----------------------------------------------------------------------- */

void fp_sweep_plan_destroy(fp_sweep_plan **plan)
{
  if (!plan || !*plan) return;
  fp_sweep_plan *p = *plan;
  for (size_t i = 0; p->points && i < p->npoints; i++) {
    fp_sweep_point *pt = &p->points[i];
    free(pt->name);
    free_strings(pt->overrides, p->naxes);
    free(pt->values);
    free(pt->error);
  }
  free(p->points);
  for (size_t a = 0; p->axes && a < p->naxes; a++) fp_sweep_axis_clear(&p->axes[a]);
  free(p->axes);
  free(p);
  *plan = NULL;
}

static const char *short_key(const char *key)
{
  const char *dot = strrchr(key, '.');
  return dot ? dot + 1 : key;
}

static uint64_t point_hash(const fp_sweep_plan *p, const fp_sweep_point *pt)
{
  uint64_t h = FP_SWEEP_HASH_INIT;
  for (size_t a = 0; a < p->naxes; a++) h = fp_sweep_hash(h, pt->overrides[a], strlen(pt->overrides[a]) + 1);
  return h;
}

static int make_name(const fp_sweep_plan *p, const fp_sweep_point *pt, char **out)
{
  strbuf b = {0};
  for (size_t a = 0; a < p->naxes; a++) {
    const char *key = p->axes[a].key;
    bool shared = false;
    for (size_t o = 0; o < p->naxes; o++)
      if (o != a && strcmp(short_key(p->axes[o].key), short_key(key)) == 0) shared = true;
    if (a) sb_add(&b, "_");
    sb_add(&b, shared ? key : short_key(key));
    sb_add(&b, "=");
    for (const char *c = pt->values[a]; *c; c++) {
      char ch = isalnum((unsigned char)*c) || *c == '.' || *c == '+' || *c == '-' ? *c : '_';
      sb_add_n(&b, &ch, 1);
    }
  }
  if (b.failed) {
    free(b.s);
    return FP_ERR_NOMEM;
  }
  if (b.len > FP_SWEEP_NAME_MAX / 2) {
    /* long names are cut and made unique by the hash suffix */
    b.s[FP_SWEEP_NAME_MAX / 2 - 10] = '\0';
    b.len = strlen(b.s);
    char suffix[16];
    snprintf(suffix, sizeof suffix, "_%08x", (unsigned)(point_hash(p, pt) & 0xffffffffu));
    sb_add(&b, suffix);
    if (b.failed) {
      free(b.s);
      return FP_ERR_NOMEM;
    }
  }
  *out = b.s;
  return FP_OK;
}

typedef struct name_sort {
  const fp_sweep_plan *plan;
  size_t index;
} name_sort;

static int cmp_names(const void *a, const void *b)
{
  const name_sort *x = a, *y = b;
  int c = strcmp(x->plan->points[x->index].name, y->plan->points[y->index].name);
  return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

/* Make names unique: every name two points share gets the hash suffix. */
static int unique_names(fp_sweep_plan *p, fp_error *err)
{
  for (int pass = 0; pass < 2; pass++) {
    name_sort *idx = malloc(p->npoints * sizeof *idx);
    if (!idx) return fp_fail(err, FP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < p->npoints; i++) idx[i] = (name_sort){p, i};
    qsort(idx, p->npoints, sizeof *idx, cmp_names);
    bool any = false;
    for (size_t i = 0; i + 1 < p->npoints; i++) {
      fp_sweep_point *x = &p->points[idx[i].index], *y = &p->points[idx[i + 1].index];
      if (strcmp(x->name, y->name) != 0) continue;
      any = true;
      if (pass == 1) {
        free(idx);
        return fp_fail(err, FP_ERR_ARG, "--grid: two points have the same parameters (%s)", x->name);
      }
    }
    if (!any) {
      free(idx);
      return FP_OK;
    }
    /* second pass: suffix every member of a group of equal names */
    for (size_t i = 0; i < p->npoints;) {
      size_t j = i + 1;
      while (j < p->npoints &&
             strcmp(p->points[idx[i].index].name, p->points[idx[j].index].name) == 0)
        j++;
      if (j - i > 1) {
        for (size_t k = i; k < j; k++) {
          fp_sweep_point *pt = &p->points[idx[k].index];
          char suffix[16];
          snprintf(suffix, sizeof suffix, "_%08x", (unsigned)(point_hash(p, pt) & 0xffffffffu));
          char *n = malloc(strlen(pt->name) + strlen(suffix) + 1);
          if (!n) {
            free(idx);
            return fp_fail(err, FP_ERR_NOMEM, "out of memory");
          }
          strcpy(n, pt->name);
          strcat(n, suffix);
          free(pt->name);
          pt->name = n;
        }
      }
      i = j;
    }
    free(idx);
  }
  return FP_OK;
}

int fp_sweep_plan_create(const char *const *specs, size_t nspecs, bool zip, fp_sweep_plan **out,
                         fp_error *err)
{
  *out = NULL;
  if (nspecs == 0) return fp_fail(err, FP_ERR_ARG, "a sweep needs at least one --grid");
  if (nspecs > FP_SWEEP_MAX_AXES)
    return fp_fail(err, FP_ERR_ARG, "at most %d --grid axes", FP_SWEEP_MAX_AXES);
  fp_sweep_plan *p = calloc(1, sizeof *p);
  if (!p) return fp_fail(err, FP_ERR_NOMEM, "out of memory");
  p->zip = zip;
  p->axes = calloc(nspecs, sizeof *p->axes);
  if (!p->axes) goto nomem;
  int rc;
  for (size_t a = 0; a < nspecs; a++) {
    rc = fp_sweep_axis_parse(specs[a], &p->axes[a], err);
    if (rc != FP_OK) goto fail;
    p->naxes = a + 1;
    for (size_t o = 0; o < a; o++)
      if (strcmp(p->axes[o].key, p->axes[a].key) == 0) {
        rc = fp_fail(err, FP_ERR_ARG, "--grid: key %s is swept twice", p->axes[a].key);
        goto fail;
      }
  }
  size_t n = 1;
  if (zip) {
    n = p->axes[0].nvalues;
    for (size_t a = 1; a < p->naxes; a++)
      if (p->axes[a].nvalues != n) {
        rc = fp_fail(err, FP_ERR_ARG, "--zip: %s has %zu values but %s has %zu", p->axes[0].key, n,
                     p->axes[a].key, p->axes[a].nvalues);
        goto fail;
      }
  } else {
    for (size_t a = 0; a < p->naxes; a++) {
      if (p->axes[a].nvalues > FP_SWEEP_MAX_POINTS / n) {
        rc = fp_fail(err, FP_ERR_ARG, "--grid: more than %d points", FP_SWEEP_MAX_POINTS);
        goto fail;
      }
      n *= p->axes[a].nvalues;
    }
  }
  p->points = calloc(n, sizeof *p->points);
  if (!p->points) goto nomem;
  p->npoints = n;
  for (size_t i = 0; i < n; i++) {
    fp_sweep_point *pt = &p->points[i];
    pt->exit_code = -1;
    pt->error = dup_s("");
    pt->values = calloc(p->naxes, sizeof *pt->values);
    pt->overrides = calloc(p->naxes, sizeof *pt->overrides);
    if (!pt->error || !pt->values || !pt->overrides) goto nomem;
    /* mixed-radix digits of i, the last axis fastest */
    size_t rest = i;
    for (size_t a = p->naxes; a-- > 0;) {
      size_t k = zip ? i : rest % p->axes[a].nvalues;
      if (!zip) rest /= p->axes[a].nvalues;
      pt->values[a] = p->axes[a].values[k];
      pt->overrides[a] = malloc(strlen(p->axes[a].key) + strlen(pt->values[a]) + 2);
      if (!pt->overrides[a]) goto nomem;
      sprintf(pt->overrides[a], "%s=%s", p->axes[a].key, pt->values[a]);
    }
    if (make_name(p, pt, &pt->name) != FP_OK) goto nomem;
  }
  rc = unique_names(p, err);
  if (rc != FP_OK) goto fail;
  *out = p;
  return FP_OK;
nomem:
  rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
fail:
  fp_sweep_plan_destroy(&p);
  return rc;
}

size_t fp_sweep_plan_find(const fp_sweep_plan *plan, const char *name)
{
  for (size_t i = 0; i < plan->npoints; i++)
    if (strcmp(plan->points[i].name, name) == 0) return i;
  return plan->npoints;
}

int fp_sweep_point_finish(fp_sweep_point *pt, fp_sweep_status status, int exit_code, double seconds,
                          const char *error, fp_error *err)
{
  char *e = dup_s(error ? error : "");
  if (!e) return fp_fail(err, FP_ERR_NOMEM, "out of memory");
  free(pt->error);
  pt->error = e;
  pt->status = status;
  pt->exit_code = exit_code;
  pt->seconds = seconds;
  return FP_OK;
}

/* ----------------------------------------------------------------------- */
/* Manifest: writing                                                        */
/* ----------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
    switch (*c) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    default:
      if (*c < 0x20)
        fprintf(f, "\\u%04x", *c);
      else
        fputc(*c, f);
    }
  }
  fputc('"', f);
}

int fp_sweep_manifest_write(const char *path, const fp_sweep_plan *plan, const fp_sweep_meta *meta,
                            fp_error *err)
{
  fp_output_file *file = NULL;
  int rc = fp_output_file_open(path, &file, err);
  if (rc != FP_OK) return rc;
  FILE *f = fp_output_file_stream(file);
  fputs("{\n  \"format\": \"fpentropy-sweep 1\",\n  \"version\": ", f);
  json_string(f, meta->version);
  fputs(",\n  \"case\": ", f);
  json_string(f, meta->case_path);
  fputs(",\n  \"case_hash\": ", f);
  json_string(f, meta->case_hash);
  fputs(",\n  \"command\": ", f);
  json_string(f, meta->command);
  fprintf(f, ",\n  \"zip\": %s,\n  \"axes\": [", plan->zip ? "true" : "false");
  for (size_t a = 0; a < plan->naxes; a++) {
    fputs(a ? ",\n    {\"key\": " : "\n    {\"key\": ", f);
    json_string(f, plan->axes[a].key);
    fputs(", \"values\": [", f);
    for (size_t k = 0; k < plan->axes[a].nvalues; k++) {
      if (k) fputs(", ", f);
      json_string(f, plan->axes[a].values[k]);
    }
    fputs("]}", f);
  }
  fputs("\n  ],\n  \"points\": [", f);
  for (size_t i = 0; i < plan->npoints; i++) {
    const fp_sweep_point *pt = &plan->points[i];
    fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
    json_string(f, pt->name);
    fputs(", \"params\": {", f);
    for (size_t a = 0; a < plan->naxes; a++) {
      if (a) fputs(", ", f);
      json_string(f, plan->axes[a].key);
      fputs(": ", f);
      json_string(f, pt->values[a]);
    }
    fputs("}, \"status\": ", f);
    json_string(f, fp_sweep_status_name(pt->status));
    fprintf(f, ", \"exit_code\": %d, \"seconds\": %.6f, \"error\": ", pt->exit_code,
            isfinite(pt->seconds) ? pt->seconds : 0.0);
    json_string(f, pt->error);
    fputc('}', f);
  }
  fputs("\n  ]\n}\n", f);
  return fp_output_file_commit(&file, err);
}

/* ----------------------------------------------------------------------- */
/* Manifest: a small JSON reader (the subset JSON has: no extensions)       */
/* ----------------------------------------------------------------------- */

typedef enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
  jtype type;
  double num;
  char *str;           /* J_STR */
  size_t n;            /* J_ARR, J_OBJ */
  struct jval *items;  /* J_ARR, J_OBJ */
  char **keys;         /* J_OBJ */
} jval;

typedef struct jparser {
  const char *s, *p;
  const char *error;
  int depth;
} jparser;

static void jfree(jval *v)
{
  if (!v) return;
  free(v->str);
  for (size_t i = 0; i < v->n; i++) {
    jfree(&v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  memset(v, 0, sizeof *v);
}

static void jskip(jparser *j)
{
  while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r') j->p++;
}

static bool jvalue(jparser *j, jval *v);

static void put_utf8(strbuf *b, unsigned cp)
{
  char u[4];
  size_t n;
  if (cp < 0x80) u[0] = (char)cp, n = 1;
  else if (cp < 0x800) u[0] = (char)(0xc0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
  else
    u[0] = (char)(0xe0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
    u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
  sb_add_n(b, u, n);
}

static bool jstring(jparser *j, char **out)
{
  if (*j->p != '"') return j->error = "expected a string", false;
  j->p++;
  strbuf b = {0};
  sb_add(&b, "");
  while (*j->p && *j->p != '"') {
    if ((unsigned char)*j->p < 0x20) {
      free(b.s);
      return j->error = "control character in a string", false;
    }
    if (*j->p != '\\') {
      sb_add_n(&b, j->p++, 1);
      continue;
    }
    j->p++;
    char c = *j->p;
    if (c) j->p++;
    const char *map = strchr("\"\"\\\\//b\bf\fn\nr\rt\t", c);
    if (c && map && ((map - "\"\"\\\\//b\bf\fn\nr\rt\t") % 2 == 0)) {
      sb_add_n(&b, map + 1, 1);
    } else if (c == 'u') {
      unsigned cp = 0;
      for (int k = 0; k < 4; k++) {
        char h = *j->p++;
        if (!isxdigit((unsigned char)h)) {
          free(b.s);
          return j->error = "bad \\u escape", false;
        }
        cp = cp * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : tolower((unsigned char)h) - 'a' + 10);
      }
      put_utf8(&b, cp);
    } else {
      free(b.s);
      return j->error = "bad escape in a string", false;
    }
  }
  if (*j->p != '"' || b.failed) {
    free(b.s);
    return j->error = b.failed ? "out of memory" : "unterminated string", false;
  }
  j->p++;
  *out = b.s;
  return true;
}

static bool jcontainer(jparser *j, jval *v, bool object)
{
  v->type = object ? J_OBJ : J_ARR;
  j->p++;
  jskip(j);
  char close = object ? '}' : ']';
  if (*j->p == close) {
    j->p++;
    return true;
  }
  size_t cap = 0;
  for (;;) {
    if (v->n == cap) {
      cap = cap ? 2 * cap : 8;
      jval *items = realloc(v->items, cap * sizeof *items);
      if (!items) return j->error = "out of memory", false;
      v->items = items;
      if (object) {
        char **keys = realloc(v->keys, cap * sizeof *keys);
        if (!keys) return j->error = "out of memory", false;
        v->keys = keys;
      }
    }
    memset(&v->items[v->n], 0, sizeof v->items[v->n]);
    if (object) {
      jskip(j);
      if (!jstring(j, &v->keys[v->n])) return false;
      jskip(j);
      if (*j->p != ':') {
        free(v->keys[v->n]);
        return j->error = "expected ':'", false;
      }
      j->p++;
    }
    bool ok = jvalue(j, &v->items[v->n]);
    if (!ok && object) free(v->keys[v->n]);
    if (!ok) {
      jfree(&v->items[v->n]);
      return false;
    }
    v->n++;
    jskip(j);
    if (*j->p == ',') {
      j->p++;
      continue;
    }
    if (*j->p == close) {
      j->p++;
      return true;
    }
    return j->error = object ? "expected ',' or '}'" : "expected ',' or ']'", false;
  }
}

static bool jvalue(jparser *j, jval *v)
{
  memset(v, 0, sizeof *v);
  jskip(j);
  if (++j->depth > 32) return j->error = "nested too deeply", false;
  bool ok;
  if (*j->p == '{' || *j->p == '[') {
    ok = jcontainer(j, v, *j->p == '{');
  } else if (*j->p == '"') {
    v->type = J_STR;
    ok = jstring(j, &v->str);
  } else if (strncmp(j->p, "true", 4) == 0 || strncmp(j->p, "null", 4) == 0) {
    v->type = *j->p == 't' ? J_BOOL : J_NULL;
    v->num = *j->p == 't';
    j->p += 4;
    ok = true;
  } else if (strncmp(j->p, "false", 5) == 0) {
    v->type = J_BOOL;
    j->p += 5;
    ok = true;
  } else {
    char *end = NULL;
    v->type = J_NUM;
    v->num = strtod(j->p, &end);
    ok = end != j->p && (*j->p == '-' || isdigit((unsigned char)*j->p));
    if (ok) j->p = end;
    else j->error = "expected a value";
  }
  j->depth--;
  return ok;
}

static const jval *jget(const jval *obj, const char *key, jtype type)
{
  if (!obj || obj->type != J_OBJ) return NULL;
  for (size_t i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0) return obj->items[i].type == type ? &obj->items[i] : NULL;
  return NULL;
}

static char *read_all(const char *path, fp_error *err)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    fp_fail(err, FP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    return NULL;
  }
  strbuf b = {0};
  sb_add(&b, "");
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) sb_add_n(&b, buf, n);
  bool bad = ferror(f);
  fclose(f);
  if (bad || b.failed) {
    free(b.s);
    fp_fail(err, bad ? FP_ERR_IO : FP_ERR_NOMEM, "cannot read %s", path);
    return NULL;
  }
  return b.s;
}

void fp_sweep_manifest_destroy(fp_sweep_manifest **m)
{
  if (!m || !*m) return;
  fp_sweep_manifest *x = *m;
  free(x->meta.case_path);
  free(x->meta.command);
  free(x->meta.case_hash);
  free(x->meta.version);
  for (size_t i = 0; x->records && i < x->nrecords; i++) {
    free(x->records[i].name);
    free(x->records[i].error);
  }
  free(x->records);
  free(x);
  *m = NULL;
}

int fp_sweep_manifest_read(const char *path, fp_sweep_manifest **out, fp_error *err)
{
  *out = NULL;
  char *text = read_all(path, err);
  if (!text) return err ? err->code : FP_ERR_IO;
  jparser j = {text, text, NULL, 0};
  jval root;
  bool ok = jvalue(&j, &root);
  if (ok) {
    jskip(&j);
    if (*j.p) ok = false, j.error = "text after the end of the JSON value";
  }
  if (!ok) {
    size_t line = 1;
    for (const char *c = text; c < j.p; c++) line += *c == '\n';
    int rc = fp_fail(err, strcmp(j.error, "out of memory") ? FP_ERR_ARG : FP_ERR_NOMEM,
                     "%s:%zu: not a sweep manifest: %s", path, line, j.error);
    jfree(&root);
    free(text);
    return rc;
  }
  free(text);
  int rc = FP_OK;
  const jval *format = jget(&root, "format", J_STR);
  const jval *points = jget(&root, "points", J_ARR);
  fp_sweep_manifest *m = calloc(1, sizeof *m);
  if (!format || strncmp(format->str, "fpentropy-sweep ", 16) != 0 || !points) {
    rc = fp_fail(err, FP_ERR_ARG, "%s: not a sweep manifest (no format or points)", path);
    goto done;
  }
  if (!m) goto nomem;
  const char *names[4] = {"case", "command", "case_hash", "version"};
  char **dest[4] = {&m->meta.case_path, &m->meta.command, &m->meta.case_hash, &m->meta.version};
  for (int k = 0; k < 4; k++) {
    const jval *s = jget(&root, names[k], J_STR);
    *dest[k] = dup_s(s ? s->str : "");
    if (!*dest[k]) goto nomem;
  }
  m->records = calloc(points->n ? points->n : 1, sizeof *m->records);
  if (!m->records) goto nomem;
  for (size_t i = 0; i < points->n; i++) {
    const jval *pt = &points->items[i];
    const jval *name = jget(pt, "name", J_STR), *status = jget(pt, "status", J_STR);
    const jval *code = jget(pt, "exit_code", J_NUM), *secs = jget(pt, "seconds", J_NUM);
    const jval *error = jget(pt, "error", J_STR);
    fp_sweep_record *r = &m->records[m->nrecords];
    if (!name || !status || !status_parse(status->str, &r->status)) {
      rc = fp_fail(err, FP_ERR_ARG, "%s: point %zu has no name or no valid status", path, i + 1);
      goto done;
    }
    r->name = dup_s(name->str);
    r->error = dup_s(error ? error->str : "");
    m->nrecords++;
    if (!r->name || !r->error) goto nomem;
    r->exit_code = code ? (int)code->num : -1;
    r->seconds = secs ? secs->num : 0.0;
  }
  goto done;
nomem:
  rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
done:
  jfree(&root);
  if (rc == FP_OK)
    *out = m;
  else
    fp_sweep_manifest_destroy(&m);
  return rc;
}

size_t fp_sweep_manifest_apply(const fp_sweep_manifest *m, fp_sweep_plan *plan)
{
  size_t matched = 0;
  for (size_t r = 0; r < m->nrecords; r++) {
    size_t i = fp_sweep_plan_find(plan, m->records[r].name);
    if (i == plan->npoints) continue;
    const fp_sweep_record *rec = &m->records[r];
    if (fp_sweep_point_finish(&plan->points[i], rec->status, rec->exit_code, rec->seconds, rec->error,
                              NULL) == FP_OK)
      matched++;
  }
  return matched;
}

/* ----------------------------------------------------------------------- */
/* The gathered table                                                       */
/* ----------------------------------------------------------------------- */

/* Split one CSV line into raw fields (quotes kept, so that copying them
 * reproduces the input); returns the count, or -1 on running out of memory. */
static long split_csv(char *line, char ***fields)
{
  size_t cap = 16, n = 0;
  char **f = malloc(cap * sizeof *f);
  if (!f) return -1;
  char *p = line;
  for (;;) {
    if (n == cap) {
      cap *= 2;
      char **g = realloc(f, cap * sizeof *g);
      if (!g) {
        free(f);
        return -1;
      }
      f = g;
    }
    f[n++] = p;
    bool quoted = false;
    while (*p && (quoted || *p != ',')) {
      if (*p == '"') quoted = !quoted;
      p++;
    }
    if (!*p) break;
    *p++ = '\0';
  }
  *fields = f;
  return (long)n;
}

typedef struct column_set {
  size_t n, cap;
  char **names;
} column_set;

static long column_index(column_set *c, const char *name, bool add)
{
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->names[i], name) == 0) return (long)i;
  if (!add) return -1;
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 32;
    char **g = realloc(c->names, cap * sizeof *g);
    if (!g) return -2;
    c->names = g;
    c->cap = cap;
  }
  c->names[c->n] = dup_s(name);
  if (!c->names[c->n]) return -2;
  return (long)c->n++;
}

/* Lines of a point's table without comments and blank lines (in place). */
static size_t data_lines(char *text, char ***lines)
{
  size_t n = 0, cap = 64;
  char **l = malloc(cap * sizeof *l);
  if (!l) return (size_t)-1;
  for (char *p = text; *p;) {
    char *e = strchr(p, '\n');
    if (e) *e = '\0';
    size_t len = strlen(p);
    if (len && p[len - 1] == '\r') p[--len] = '\0';
    if (len && p[0] != '#') {
      if (n == cap) {
        cap *= 2;
        char **g = realloc(l, cap * sizeof *g);
        if (!g) {
          free(l);
          return (size_t)-1;
        }
        l = g;
      }
      l[n++] = p;
    }
    if (!e) break;
    p = e + 1;
  }
  *lines = l;
  return n;
}

static bool needs_quotes(const char *s)
{
  return strpbrk(s, ",\"\n") != NULL;
}

static void csv_field(FILE *f, const char *s)
{
  if (!needs_quotes(s)) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

int fp_sweep_gather(const fp_sweep_plan *plan, const char *dir, const char *table,
                    const char *preamble, const char *out_path, size_t *rows, fp_error *err)
{
  if (rows) *rows = 0;
  size_t np = plan->npoints;
  char **texts = calloc(np ? np : 1, sizeof *texts);
  char ***lines = calloc(np ? np : 1, sizeof *lines);
  size_t *nlines = calloc(np ? np : 1, sizeof *nlines);
  column_set cols = {0};
  fp_output_file *file = NULL;
  int rc = FP_OK;
  if (!texts || !lines || !nlines) goto nomem;
  /* first pass: read every table and collect the union of its columns */
  for (size_t i = 0; i < np; i++) {
    if (plan->points[i].status != FP_SWEEP_DONE) continue;
    char *path = malloc(strlen(dir) + strlen(plan->points[i].name) + strlen(table) + 3);
    if (!path) goto nomem;
    sprintf(path, "%s/%s/%s", dir, plan->points[i].name, table);
    texts[i] = read_all(path, err);
    free(path);
    if (!texts[i]) {
      rc = err ? err->code : FP_ERR_IO;
      goto done;
    }
    nlines[i] = data_lines(texts[i], &lines[i]);
    if (nlines[i] == (size_t)-1) {
      nlines[i] = 0;
      goto nomem;
    }
    if (nlines[i] == 0) continue;
    char *header = dup_s(lines[i][0]);
    char **fields = NULL;
    long nf = header ? split_csv(header, &fields) : -1;
    for (long k = 0; k < nf; k++)
      if (column_index(&cols, fields[k], true) == -2) nf = -1;
    free(fields);
    free(header);
    if (nf < 0) goto nomem;
  }
  /* the preamble goes to the sidecar <stem>.json: the CSV starts with its header */
  if (preamble) rc = fp_output_sidecar_write(out_path, preamble, NULL, 0, err);
  if (rc != FP_OK) goto done;
  rc = fp_output_file_open(out_path, &file, err);
  if (rc != FP_OK) goto done;
  FILE *f = fp_output_file_stream(file);
  fputs("point", f);
  for (size_t a = 0; a < plan->naxes; a++) {
    fputc(',', f);
    csv_field(f, plan->axes[a].key);
  }
  for (size_t c = 0; c < cols.n; c++) {
    fputc(',', f);
    fputs(cols.names[c], f);
  }
  fputc('\n', f);
  const char **row = calloc(cols.n ? cols.n : 1, sizeof *row);
  if (!row) goto nomem;
  size_t nrows = 0;
  for (size_t i = 0; i < np && rc == FP_OK; i++) {
    if (nlines[i] < 2) continue;
    char **hdr = NULL;
    long nh = split_csv(lines[i][0], &hdr);
    if (nh < 0) {
      rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
      break;
    }
    long *map = malloc((size_t)nh * sizeof *map);
    if (!map) {
      free(hdr);
      rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
      break;
    }
    for (long k = 0; k < nh; k++) map[k] = column_index(&cols, hdr[k], false);
    for (size_t l = 1; l < nlines[i] && rc == FP_OK; l++) {
      char **fields = NULL;
      long nf = split_csv(lines[i][l], &fields);
      if (nf < 0) {
        rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
        break;
      }
      if (nf > nh) {
        rc = fp_fail(err, FP_ERR_ARG, "%s/%s/%s: data line %zu has %ld fields, its header %ld", dir,
                     plan->points[i].name, table, l, nf, nh);
        free(fields);
        break;
      }
      for (size_t c = 0; c < cols.n; c++) row[c] = "";
      for (long k = 0; k < nf; k++) row[map[k]] = fields[k];
      csv_field(f, plan->points[i].name);
      for (size_t a = 0; a < plan->naxes; a++) {
        fputc(',', f);
        csv_field(f, plan->points[i].values[a]);
      }
      for (size_t c = 0; c < cols.n; c++) {
        fputc(',', f);
        fputs(row[c], f);
      }
      fputc('\n', f);
      nrows++;
      free(fields);
    }
    free(map);
    free(hdr);
  }
  free(row);
  if (rc == FP_OK) {
    rc = fp_output_file_commit(&file, err);
    if (rc == FP_OK && rows) *rows = nrows;
  }
  goto done;
nomem:
  rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
done:
  fp_output_file_abort(&file);
  for (size_t i = 0; i < np; i++) {
    if (lines) free(lines[i]);
    if (texts) free(texts[i]);
  }
  free(texts);
  free(lines);
  free(nlines);
  free_strings(cols.names, cols.n);
  return rc;
}
