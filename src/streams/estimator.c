/* fpentropy: estimator registry, spec parsing, validation and shared helpers.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "streams/estimator_impl.h"
#include "core/text_impl.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_psi.h>
#include <limits.h>

#include "core/error_impl.h"
#include "core/gsl_guard_impl.h"

/* ---- registry ---------------------------------------------------------- */

/* The one list of estimators.  `registry_names` must follow the same order
 * (fp_estimator_names() hands it out as a static array); the unit tests check
 * that every listed name creates an estimator of that name. */
static const fp_estimator_type *const registry[] = {
    &fp_est_hist_type, &fp_est_kde_type, &fp_est_knn_type, &fp_est_wkv_type, &fp_est_gauss_type,
};
static const char *const registry_names[] = {"hist", "kde", "knn", "wkv", "gauss"};
#define REGISTRY_SIZE (sizeof registry / sizeof registry[0])
_Static_assert(sizeof registry / sizeof registry[0] ==
                   sizeof registry_names / sizeof registry_names[0],
               "registry and registry_names differ in length");

size_t fp_estimator_names(const char *const **names)
{
  if (names) *names = registry_names;
  return REGISTRY_SIZE;
}

static const fp_estimator_type *find_type(const char *name, size_t len)
{
  for (size_t i = 0; i < REGISTRY_SIZE; i++)
    if (strlen(registry[i]->name) == len && strncmp(registry[i]->name, name, len) == 0)
      return registry[i];
  return NULL;
}

/* "hist, kde, knn, wkv, gauss" */
static void list_names(char *buf, size_t size)
{
  buf[0] = '\0';
  for (size_t i = 0; i < REGISTRY_SIZE; i++) fp_text_append_item(buf, size, registry[i]->name);
}

static void list_keys(const fp_estimator_type *t, char *buf, size_t size)
{
  buf[0] = '\0';
  for (size_t i = 0; i < t->nparams; i++) fp_text_append_item(buf, size, t->params[i].key);
  if (t->nparams == 0) snprintf(buf, size, "(none)");
}

/* ---- values ------------------------------------------------------------ */

static void format_value(const fp_est_param *p, const fp_est_value *v, char *buf, size_t size)
{
  if (v->word >= 0) {
    snprintf(buf, size, "%s", p->words[v->word]);
    return;
  }
  switch (p->kind) {
  case FP_EST_BOOL:
  case FP_EST_INT: snprintf(buf, size, "%.0f", v->num); break;
  default: fp_text_format_real(buf, size, v->num); break;
  }
}

static int equal_nocase(const char *a, const char *b, size_t blen)
{
  if (strlen(a) != blen) return 0;
  for (size_t i = 0; i < blen; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return 0;
  return 1;
}

static void describe_range(const fp_est_param *p, char *buf, size_t size)
{
  char lo[40], hi[48], words[160] = "";
  size_t used = 0;
  if (p->words)
    for (int w = 0; p->words[w] && used < sizeof words; w++) {
      int n = snprintf(words + used, sizeof words - used, "%s|", p->words[w]);
      if (n < 0) break;
      used += (size_t)n;
    }
  switch (p->kind) {
  case FP_EST_BOOL: snprintf(buf, size, "%s0|1", words); break;
  case FP_EST_INT:
    snprintf(buf, size, "%san integer in [%.0f, %.0f]", words, p->min, p->max);
    break;
  default:
    fp_text_format_real(lo, sizeof lo, p->min);
    if (p->max >= DBL_MAX) snprintf(hi, sizeof hi, "inf)");
    else fp_text_format_real(hi, sizeof hi, p->max), strcat(hi, "]");
    snprintf(buf, size, "%sa number in %s%s, %s", words, p->min_open ? "(" : "[", lo, hi);
    break;
  }
}

/* Parse text[0..len) as a value of parameter p. */
static int parse_value(const fp_estimator_type *t, const fp_est_param *p, const char *text,
                       size_t len, fp_est_value *out, fp_error *err)
{
  char buf[128];
  char range[256];
  if (len == 0 || len >= sizeof buf) goto bad;
  memcpy(buf, text, len);
  buf[len] = '\0';
  if (p->words)
    for (int w = 0; p->words[w]; w++)
      if (equal_nocase(p->words[w], buf, len)) {
        out->word = w;
        out->num = 0.0;
        return FP_OK;
      }
  out->word = -1;
  if (p->kind == FP_EST_BOOL) {
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
      if (equal_nocase(yes[i], buf, len)) return out->num = 1.0, FP_OK;
      if (equal_nocase(no[i], buf, len)) return out->num = 0.0, FP_OK;
    }
    goto bad;
  }
  char *end = NULL;
  errno = 0;
  double v;
  if (p->kind == FP_EST_INT) {
    long long i = strtoll(buf, &end, 10);
    v = (double)i;
  } else {
    v = strtod(buf, &end);
  }
  if (errno != 0 || end == buf || *end != '\0' || !isfinite(v)) goto bad;
  if (v < p->min || v > p->max || (p->min_open && v == p->min)) goto bad;
  out->num = v;
  return FP_OK;
bad:
  describe_range(p, range, sizeof range);
  return fp_fail(err, FP_ERR_ARG, "estimator '%s': invalid value '%.*s' for '%s' (expected %s)",
                 t->name, (int)(len < 64 ? len : 64), text, p->key, range);
}

static void make_canonical(fp_estimator *e)
{
  const fp_estimator_type *t = e->type;
  size_t used = 0;
  int w = snprintf(e->spec, sizeof e->spec, "%s", t->name);
  if (w > 0) used = (size_t)w;
  for (size_t i = 0; i < t->nparams && used < sizeof e->spec; i++) {
    char val[64];
    format_value(&t->params[i], &e->value[i], val, sizeof val);
    w = snprintf(e->spec + used, sizeof e->spec - used, "%c%s=%s", i ? ';' : ':',
                 t->params[i].key, val);
    if (w < 0) break;
    used += (size_t)w;
  }
}

/* ---- create / destroy -------------------------------------------------- */

int fp_estimator_create(const char *spec, fp_estimator **out, fp_error *err)
{
  char names[256], keys[256];
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_estimator_create: NULL output pointer");
  *out = NULL;
  if (!spec) return fp_fail(err, FP_ERR_ARG, "fp_estimator_create: NULL spec");

  const char *name, *s;
  size_t name_len;
  fp_spec_split(spec, &name, &name_len, &s);
  const fp_estimator_type *t = find_type(name, name_len);
  if (!t) {
    list_names(names, sizeof names);
    return fp_fail(err, FP_ERR_ARG, "unknown estimator '%.*s' in spec '%.200s' (valid: %s)",
                   (int)(name_len < 64 ? name_len : 64), name, spec, names);
  }

  fp_estimator *e = calloc(1, sizeof *e);
  if (!e) return fp_fail(err, FP_ERR_NOMEM, "out of memory for estimator '%s'", t->name);
  e->type = t;
  int set[FP_EST_MAX_PARAMS] = {0};
  int rc;
  for (size_t i = 0; i < t->nparams; i++) {
    rc = parse_value(t, &t->params[i], t->params[i].def, strlen(t->params[i].def), &e->value[i],
                     err);
    if (rc != FP_OK) goto fail; /* a broken default is a programming error */
  }

  fp_spec_item it;
  int got;
  while ((got = fp_spec_next(&s, &it)) != FP_SPEC_END) {
    if (got == FP_SPEC_EMPTY) {
      rc = fp_fail(err, FP_ERR_ARG, "estimator spec '%.200s': empty parameter", spec);
      goto fail;
    }
    if (got == FP_SPEC_NO_EQUALS) {
      list_keys(t, keys, sizeof keys);
      rc = fp_fail(err, FP_ERR_ARG,
                   "estimator spec '%.200s': '%.*s' is not key=value (keys of '%s': %s)", spec,
                   (int)(it.key_len < 64 ? it.key_len : 64), it.key, t->name, keys);
      goto fail;
    }
    const char *key = it.key, *val = it.value;
    size_t key_len = it.key_len, val_len = it.value_len;
    size_t k = 0;
    while (k < t->nparams &&
           !(strlen(t->params[k].key) == key_len && strncmp(t->params[k].key, key, key_len) == 0))
      k++;
    if (k == t->nparams) {
      list_keys(t, keys, sizeof keys);
      rc = fp_fail(err, FP_ERR_ARG, "estimator '%s': unknown key '%.*s' (valid keys: %s)",
                   t->name, (int)(key_len < 64 ? key_len : 64), key, keys);
      goto fail;
    }
    if (set[k]) {
      rc = fp_fail(err, FP_ERR_ARG, "estimator '%s': key '%s' given twice", t->name,
                   t->params[k].key);
      goto fail;
    }
    set[k] = 1;
    rc = parse_value(t, &t->params[k], val, val_len, &e->value[k], err);
    if (rc != FP_OK) goto fail;
  }
  make_canonical(e);
  *out = e;
  return FP_OK;
fail:
  free(e);
  return rc;
}

void fp_estimator_destroy(fp_estimator **e)
{
  if (!e || !*e) return;
  if ((*e)->type && (*e)->type->free_work) (*e)->type->free_work((*e)->work);
  free(*e);
  *e = NULL;
}

const char *fp_estimator_spec(const fp_estimator *e) { return e ? e->spec : ""; }

const char *fp_estimator_name(const fp_estimator *e) { return e ? e->type->name : ""; }

const fp_estimator_report *fp_estimator_report_get(const fp_estimator *e)
{
  return e ? &e->report : NULL;
}

/* ---- help --------------------------------------------------------------- */

static const char *need_text(unsigned bits)
{
  switch (bits) {
  case FP_EST_NEED_LOG_Q: return "log_q";
  case FP_EST_NEED_SAMPLE: return "a reference sample";
  case FP_EST_NEED_BOX: return "the support box (lower < upper)";
  case FP_EST_NEED_MOMENTS: return "q's moments (has_moments)";
  default: return "?";
  }
}

/* "log_q or a reference sample" into buf. */
static void needs_text(unsigned bits, const char *join, char *buf, size_t size)
{
  size_t used = 0;
  buf[0] = '\0';
  for (unsigned b = 1; b <= FP_EST_NEED_MOMENTS && used < size; b <<= 1) {
    if (!(bits & b)) continue;
    int w = snprintf(buf + used, size - used, "%s%s", used ? join : "", need_text(b));
    if (w < 0) break;
    used += (size_t)w;
  }
}

int fp_estimator_help(const char *name, char *buf, size_t size, fp_error *err)
{
  if (!name || !buf || size == 0)
    return fp_fail(err, FP_ERR_ARG, "fp_estimator_help: NULL argument");
  const fp_estimator_type *t = find_type(name, strlen(name));
  if (!t) {
    char names[256];
    list_names(names, sizeof names);
    return fp_fail(err, FP_ERR_ARG, "unknown estimator '%.64s' (valid: %s)", name, names);
  }
  char all[160], any[160];
  needs_text(t->needs_all, " and ", all, sizeof all);
  needs_text(t->needs_any, " or ", any, sizeof any);
  size_t used = 0;
  int w = snprintf(buf, size, "%s: %s\n  needs: %s%s%s\n", t->name, t->summary, all,
                   (all[0] && any[0]) ? " and " : "", any);
  if (w > 0) used = (size_t)w;
  for (size_t i = 0; i < t->nparams && used < size; i++) {
    char range[256];
    describe_range(&t->params[i], range, sizeof range);
    w = snprintf(buf + used, size - used, "  %s=%s  %s (%s)\n", t->params[i].key,
                 t->params[i].def, t->params[i].help, range);
    if (w < 0) break;
    used += (size_t)w;
  }
  return FP_OK;
}

/* ---- estimate ------------------------------------------------------------ */

static int check_sample(const char *what, const fp_samples *s, fp_error *err)
{
  if (s->dim < 1 || s->dim > FP_MAX_DIM)
    return fp_fail(err, FP_ERR_ARG, "%s: dimension %d is not 1, 2 or 3", what, s->dim);
  if (s->n > 0 && !s->x)
    return fp_fail(err, FP_ERR_ARG, "%s: %zu points but x is NULL", what, s->n);
  for (size_t i = 0; i < s->n; i++)
    for (int k = 0; k < s->dim; k++)
      if (!isfinite(s->x[i * (size_t)s->dim + (size_t)k]))
        return fp_fail(err, FP_ERR_ARG, "%s: coordinate %d of point %zu is not finite", what, k,
                       i);
  return FP_OK;
}

static unsigned available(const fp_kl_reference *ref, int dim)
{
  unsigned have = 0;
  if (ref->log_q) have |= FP_EST_NEED_LOG_Q;
  if (ref->sample.n > 0) have |= FP_EST_NEED_SAMPLE;
  if (ref->has_moments) have |= FP_EST_NEED_MOMENTS;
  int box = 1;
  for (int k = 0; k < dim; k++)
    if (!(isfinite(ref->lower[k]) && isfinite(ref->upper[k]) && ref->lower[k] < ref->upper[k]))
      box = 0;
  if (box) have |= FP_EST_NEED_BOX;
  return have;
}

static int estimator_kl_unguarded(fp_estimator *e, const fp_samples *p, const fp_kl_reference *ref, double *kl,
                    fp_error *err)
{
  static const fp_kl_reference none; /* const: no mutable state */
  if (kl) *kl = NAN;
  if (!e || !p || !kl) return fp_fail(err, FP_ERR_ARG, "fp_estimator_kl: NULL argument");
  if (!ref) ref = &none;
  const fp_estimator_type *t = e->type;
  int rc = check_sample("estimator sample p", p, err);
  if (rc != FP_OK) return rc;
  if (p->n < 2)
    return fp_fail(err, FP_ERR_ARG, "estimator '%s': the sample p has %zu point(s); need >= 2",
                   t->name, p->n);
  if (ref->sample.n > 0) {
    rc = check_sample("estimator reference sample", &ref->sample, err);
    if (rc != FP_OK) return rc;
    if (ref->sample.dim != p->dim)
      return fp_fail(err, FP_ERR_ARG,
                     "estimator '%s': reference sample has dimension %d, sample p has %d",
                     t->name, ref->sample.dim, p->dim);
  }
  unsigned have = available(ref, p->dim);
  unsigned missing = t->needs_all & ~have;
  if (missing || (t->needs_any && !(t->needs_any & have))) {
    char all[160], any[160];
    needs_text(t->needs_all, " and ", all, sizeof all);
    needs_text(t->needs_any, " or ", any, sizeof any);
    return fp_fail(err, FP_ERR_ARG, "estimator '%s' needs %s%s%s%s%s from the reference", t->name,
                   all, (all[0] && any[0]) ? " and " : "", any[0] && all[0] ? "(" : "", any,
                   any[0] && all[0] ? ")" : "");
  }
  fp_estimator_report rep;
  memset(&rep, 0, sizeof rep);
  rep.n = p->n;
  double value = NAN;
  rc = t->estimate(e, p, ref, &value, &rep, err);
  if (rc != FP_OK) return rc;
  if (!isfinite(value))
    return fp_fail(err, FP_ERR_NUMERIC, "estimator '%s' produced a non-finite value", e->spec);
  e->report = rep;
  *kl = value;
  return FP_OK;
}

/* ---- shared helpers ----------------------------------------------------- */

void *fp_est_grow(void *buf, size_t *cap, size_t need, size_t size)
{
  if (buf && need <= *cap) return buf;
  size_t n = *cap > 0 ? *cap : 16;
  while (n < need) {
    if (n > SIZE_MAX / 2 / size) return NULL;
    n *= 2;
  }
  void *q = realloc(buf, n * size);
  if (!q) return NULL;
  *cap = n;
  return q;
}

double fp_est_log_q(const fp_kl_reference *ref, int dim, const double *x)
{
  double y[FP_MAX_DIM] = {0.0, 0.0, 0.0};
  for (int k = 0; k < dim; k++) y[k] = x[k];
  return ref->log_q(y, ref->ctx);
}

int fp_est_mean_log_q(const fp_kl_reference *ref, const fp_samples *p, double *mean, fp_error *err)
{
  double sum = 0.0;
  for (size_t i = 0; i < p->n; i++) {
    const double *x = p->x + i * (size_t)p->dim;
    double lq = fp_est_log_q(ref, p->dim, x);
    if (!isfinite(lq)) {
      char where[160];
      double y[FP_MAX_DIM] = {0.0, 0.0, 0.0};
      for (int k = 0; k < p->dim; k++) y[k] = x[k];
      fp_format_point(where, sizeof where, p->dim, y);
      return fp_fail(err, FP_ERR_NUMERIC,
                     "log q is %g at sample point %zu, %s: D(p||q) is infinite there", lq, i,
                     where);
    }
    sum += lq;
  }
  *mean = sum / (double)p->n;
  return FP_OK;
}

void fp_est_mean_sd(const fp_samples *s, int axis, double *mean, double *sd)
{
  double m = 0.0;
  for (size_t i = 0; i < s->n; i++) m += s->x[i * (size_t)s->dim + (size_t)axis];
  m /= (double)s->n;
  double ss = 0.0;
  for (size_t i = 0; i < s->n; i++) {
    double d = s->x[i * (size_t)s->dim + (size_t)axis] - m;
    ss += d * d;
  }
  *mean = m;
  *sd = s->n > 1 ? sqrt(ss / (double)(s->n - 1)) : 0.0;
}

double fp_est_log_unit_ball(int dim)
{
  switch (dim) {
  case 1: return log(2.0);
  case 2: return log(M_PI);
  default: return log(4.0 * M_PI / 3.0);
  }
}

double fp_est_digamma_int(size_t n)
{
  if (n == 0) return -INFINITY;
  gsl_sf_result r;
  /* psi at a positive integer cannot fail; keep the _e form all the same
   * (the library never goes through GSL's error handler). */
  if (n > (size_t)INT_MAX || gsl_sf_psi_int_e((int)n, &r) != GSL_SUCCESS) return NAN;
  return r.val;
}

/* Public entry points: GSL's handler off for the call (core/gsl_guard_impl.h). */

int fp_estimator_kl(fp_estimator *e, const fp_samples *p, const fp_kl_reference *ref, double *kl,
                    fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = estimator_kl_unguarded(e, p, ref, kl, err);
  fp_gsl_guard_end(guard);
  return rc;
}
