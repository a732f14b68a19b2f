/* fpentropy: retraining policies: the framework, spec parsing and registry.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The rules themselves live in policy_basic.c (none, calendar, threshold,
 * performance), policy_alarm.c, policy_cusum.c and policy_debt.c. */
#include <fpentropy/policy/policy.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"
#include "core/text_impl.h"

struct fp_policy {
  const fp_policy_type *type;
  void *state;
  bool state_ready;       /* init succeeded */
  fp_policy_values values;
  char *spec;             /* canonical spec */
  double last_statistic;
  double last_threshold;
};

/* ------------------------------------------------------------------------ */
/* Registry                                                                 */
/* ------------------------------------------------------------------------ */

static const fp_policy_type *const registry[] = {
    &fp_policy_type_none,      &fp_policy_type_calendar, &fp_policy_type_threshold,
    &fp_policy_type_alarm,     &fp_policy_type_cusum,    &fp_policy_type_performance,
    &fp_policy_type_debt,
};

#define REGISTRY_SIZE (sizeof registry / sizeof registry[0])

size_t fp_policy_type_count(void) { return REGISTRY_SIZE; }

const fp_policy_type *fp_policy_type_at(size_t i)
{
  return i < REGISTRY_SIZE ? registry[i] : NULL;
}

const fp_policy_type *fp_policy_type_find(const char *name)
{
  if (!name) return NULL;
  for (size_t i = 0; i < REGISTRY_SIZE; i++)
    if (strcmp(registry[i]->name, name) == 0) return registry[i];
  return NULL;
}

/* "none, calendar, ..." into buf. */
static void list_type_names(char *buf, size_t size)
{
  buf[0] = '\0';
  for (size_t i = 0; i < REGISTRY_SIZE; i++) fp_text_append_item(buf, size, registry[i]->name);
}

/* "k_ref, h, signal" into buf. */
static void list_param_keys(const fp_policy_type *type, char *buf, size_t size)
{
  buf[0] = '\0';
  for (size_t i = 0; i < type->nparams; i++) fp_text_append_item(buf, size, type->params[i].key);
  if (type->nparams == 0) snprintf(buf, size, "none");
}

/* ------------------------------------------------------------------------ */
/* Values: text <-> number                                                  */
/* ------------------------------------------------------------------------ */

/* Parse a whole string as a finite real. */
static bool parse_real(const char *s, double *out)
{
  if (!*s) return false;
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || !isfinite(v)) return false;
  *out = v;
  return true;
}

/* Parse a whole string as a decimal integer. */
static bool parse_int(const char *s, double *out)
{
  if (!*s) return false;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end != '\0' || errno == ERANGE) return false;
  *out = (double)v;
  return true;
}

/* The index of `word` in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *word)
{
  size_t wlen = strlen(word);
  int index = 0;
  const char *c = choices;
  while (c) {
    const char *bar = strchr(c, '|');
    size_t len = bar ? (size_t)(bar - c) : strlen(c);
    if (len == wlen && strncmp(c, word, len) == 0) return index;
    index++;
    c = bar ? bar + 1 : NULL;
  }
  return -1;
}

/* The index-th word of "a|b|c" into buf (empty when out of range). */
static void choice_word(const char *choices, int index, char *buf, size_t size)
{
  const char *c = choices;
  buf[0] = '\0';
  for (int i = 0; c; i++) {
    const char *bar = strchr(c, '|');
    int len = bar ? (int)(bar - c) : (int)strlen(c);
    if (i == index) {
      snprintf(buf, size, "%.*s", len, c);
      return;
    }
    c = bar ? bar + 1 : NULL;
  }
}

static bool in_range(const fp_policy_param *p, double v)
{
  bool lo = (p->flags & FP_POLICY_PARAM_MIN_OPEN) ? v > p->min : v >= p->min;
  bool hi = (p->flags & FP_POLICY_PARAM_MAX_OPEN) ? v < p->max : v <= p->max;
  return lo && hi;
}

/* The allowed range as text: "[0, 1]", "> 0", ">= 1", "any". */
static void format_range(const fp_policy_param *p, char *buf, size_t size)
{
  char lo[40], hi[40];
  fp_text_format_real(lo, sizeof lo, p->min);
  fp_text_format_real(hi, sizeof hi, p->max);
  bool has_lo = isfinite(p->min), has_hi = isfinite(p->max);
  const char *gt = (p->flags & FP_POLICY_PARAM_MIN_OPEN) ? ">" : ">=";
  const char *lt = (p->flags & FP_POLICY_PARAM_MAX_OPEN) ? "<" : "<=";
  if (has_lo && has_hi)
    snprintf(buf, size, "%s%s, %s%s", (p->flags & FP_POLICY_PARAM_MIN_OPEN) ? "(" : "[", lo,
             hi, (p->flags & FP_POLICY_PARAM_MAX_OPEN) ? ")" : "]");
  else if (has_lo)
    snprintf(buf, size, "%s %s", gt, lo);
  else if (has_hi)
    snprintf(buf, size, "%s %s", lt, hi);
  else
    snprintf(buf, size, "any");
}

static const char *kind_name(fp_policy_param_kind kind)
{
  switch (kind) {
  case FP_POLICY_PARAM_REAL: return "real";
  case FP_POLICY_PARAM_INT: return "integer";
  case FP_POLICY_PARAM_CHOICE: return "choice";
  case FP_POLICY_PARAM_PATH: return "path";
  }
  return "?";
}

/* Set parameter i of `type` from text.  `origin` is "" for a spec value and
 * " (default)" for a table default, for the message. */
static int set_value(const fp_policy_type *type, size_t i, const char *text, const char *origin,
                     fp_policy_values *v, fp_error *err)
{
  const fp_policy_param *p = &type->params[i];
  char range[96];
  switch (p->kind) {
  case FP_POLICY_PARAM_REAL:
  case FP_POLICY_PARAM_INT: {
    double x = 0.0;
    bool ok = p->kind == FP_POLICY_PARAM_REAL ? parse_real(text, &x) : parse_int(text, &x);
    if (!ok)
      return fp_fail(err, FP_ERR_ARG, "policy %s: %s = '%s'%s is not a%s %s", type->name, p->key,
                     text, origin, p->kind == FP_POLICY_PARAM_INT ? "n" : "",
                     p->kind == FP_POLICY_PARAM_INT ? "integer" : "finite real number");
    if (!in_range(p, x)) {
      format_range(p, range, sizeof range);
      return fp_fail(err, FP_ERR_ARG, "policy %s: %s = %s%s is out of range: must be %s",
                     type->name, p->key, text, origin, range);
    }
    v->num[i] = x;
    break;
  }
  case FP_POLICY_PARAM_CHOICE: {
    int index = choice_index(p->choices, text);
    if (index < 0)
      return fp_fail(err, FP_ERR_ARG, "policy %s: %s = '%s'%s is not one of %s", type->name,
                     p->key, text, origin, p->choices);
    v->num[i] = index;
    break;
  }
  case FP_POLICY_PARAM_PATH: {
    if (!*text)
      return fp_fail(err, FP_ERR_ARG, "policy %s: %s is empty", type->name, p->key);
    size_t len = strlen(text) + 1;
    char *copy = malloc(len);
    if (!copy) return fp_fail(err, FP_ERR_NOMEM, "policy %s: out of memory", type->name);
    memcpy(copy, text, len);
    free((void *)v->str[i]);
    v->str[i] = copy;
    break;
  }
  }
  v->set[i] = true;
  return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* Spec parsing                                                             */
/* ------------------------------------------------------------------------ */

/* Trim spaces at both ends of s in place; returns the new start. */
/* Parse the items of a spec (text_impl.h grammar) into v (params may be NULL
 * or blank). */
static int parse_params(const fp_policy_type *type, const char *params, fp_policy_values *v,
                        fp_error *err)
{
  bool given[FP_POLICY_MAX_PARAMS] = {false};
  const char *cursor = params;
  fp_spec_item it;
  int got;
  while ((got = fp_spec_next(&cursor, &it)) != FP_SPEC_END) {
    if (got == FP_SPEC_EMPTY)
      return fp_fail(err, FP_ERR_ARG, "policy %s: empty item in the parameter list '%s'",
                     type->name, params);
    if (got == FP_SPEC_NO_EQUALS)
      return fp_fail(err, FP_ERR_ARG, "policy %s: '%.*s' is not of the form key=value",
                     type->name, (int)(it.key_len < 200 ? it.key_len : 200), it.key);
    size_t index = type->nparams;
    for (size_t i = 0; i < type->nparams; i++)
      if (strlen(type->params[i].key) == it.key_len &&
          strncmp(type->params[i].key, it.key, it.key_len) == 0)
        index = i;
    if (index == type->nparams) {
      char keys[512];
      list_param_keys(type, keys, sizeof keys);
      return fp_fail(err, FP_ERR_ARG, "policy %s has no parameter '%.*s' (parameters: %s)",
                     type->name, (int)(it.key_len < 200 ? it.key_len : 200), it.key, keys);
    }
    if (given[index])
      return fp_fail(err, FP_ERR_ARG, "policy %s: parameter '%s' is given twice", type->name,
                     type->params[index].key);
    given[index] = true;
    if (it.value_len == 0)
      return fp_fail(err, FP_ERR_ARG, "policy %s: parameter '%s' has no value", type->name,
                     type->params[index].key);
    char value[FP_ERROR_MESSAGE_SIZE];
    if (it.value_len >= sizeof value)
      return fp_fail(err, FP_ERR_ARG, "policy %s: the value of '%s' is too long", type->name,
                     type->params[index].key);
    memcpy(value, it.value, it.value_len);
    value[it.value_len] = '\0';
    int rc = set_value(type, index, value, "", v, err);
    if (rc != FP_OK) return rc;
  }
  return FP_OK;
}

/* Defaults for what the spec left out; then the required-value check. */
static int apply_defaults(const fp_policy_type *type, fp_policy_values *v, fp_error *err)
{
  for (size_t i = 0; i < type->nparams; i++) {
    const fp_policy_param *p = &type->params[i];
    if (v->set[i]) continue;
    if (p->def) {
      int rc = set_value(type, i, p->def, " (default)", v, err);
      if (rc != FP_OK) return rc;
    } else if (!(p->flags & FP_POLICY_PARAM_OPTIONAL)) {
      return fp_fail(err, FP_ERR_ARG, "policy %s: parameter '%s' is required (%s)", type->name,
                     p->key, p->help ? p->help : "no default");
    }
  }
  return FP_OK;
}

/* The canonical spec of a resolved policy (malloc'd). */
static char *build_spec(const fp_policy_type *type, const fp_policy_values *v)
{
  size_t size = strlen(type->name) + 2;
  for (size_t i = 0; i < type->nparams; i++) {
    size += strlen(type->params[i].key) + 2 + 48;
    if (type->params[i].kind == FP_POLICY_PARAM_PATH && v->str[i]) size += strlen(v->str[i]);
    if (type->params[i].kind == FP_POLICY_PARAM_CHOICE) size += strlen(type->params[i].choices);
  }
  char *spec = malloc(size);
  if (!spec) return NULL;
  size_t used = (size_t)snprintf(spec, size, "%s", type->name);
  bool first = true;
  for (size_t i = 0; i < type->nparams; i++) {
    const fp_policy_param *p = &type->params[i];
    if (!v->set[i]) continue;
    char text[64];
    const char *value = text;
    switch (p->kind) {
    case FP_POLICY_PARAM_REAL: fp_text_format_real(text, sizeof text, v->num[i]); break;
    case FP_POLICY_PARAM_INT: snprintf(text, sizeof text, "%.0f", v->num[i]); break;
    case FP_POLICY_PARAM_CHOICE: choice_word(p->choices, (int)v->num[i], text, sizeof text); break;
    case FP_POLICY_PARAM_PATH: value = v->str[i]; break;
    }
    int n = snprintf(spec + used, size - used, "%s%s=%s", first ? ":" : ",", p->key, value);
    if (n < 0 || (size_t)n >= size - used) {
      free(spec);
      return NULL;
    }
    used += (size_t)n;
    first = false;
  }
  return spec;
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                               */
/* ------------------------------------------------------------------------ */

void fp_policy_destroy(fp_policy **pp)
{
  if (!pp || !*pp) return;
  fp_policy *p = *pp;
  if (p->type && p->state && p->type->destroy) p->type->destroy(p->state);
  free(p->state);
  for (size_t i = 0; i < FP_POLICY_MAX_PARAMS; i++) free((void *)p->values.str[i]);
  free(p->spec);
  free(p);
  *pp = NULL;
}

static int check_type(const fp_policy_type *type, fp_error *err)
{
  if (!type) return fp_fail(err, FP_ERR_ARG, "fp_policy_create_type: type is NULL");
  if (!type->name || !type->observe || type->nparams > FP_POLICY_MAX_PARAMS ||
      (type->nparams > 0 && !type->params))
    return fp_fail(err, FP_ERR_ARG, "policy type '%s' is malformed (name, observe, parameter "
                   "table of at most %d rows)", type->name ? type->name : "(null)",
                   FP_POLICY_MAX_PARAMS);
  for (size_t i = 0; i < type->nparams; i++) {
    const fp_policy_param *p = &type->params[i];
    if (!p->key || (p->kind == FP_POLICY_PARAM_CHOICE && !p->choices))
      return fp_fail(err, FP_ERR_ARG, "policy type '%s': parameter %zu is malformed", type->name,
                     i + 1);
  }
  return FP_OK;
}

int fp_policy_create_type(const fp_policy_type *type, const char *params, fp_policy **out,
                          fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_policy_create_type: out is NULL");
  *out = NULL;
  int rc = check_type(type, err);
  if (rc != FP_OK) return rc;

  fp_policy *p = calloc(1, sizeof *p);
  if (!p) return fp_fail(err, FP_ERR_NOMEM, "policy %s: out of memory", type->name);
  p->type = type;
  p->last_statistic = NAN;
  p->last_threshold = NAN;
  p->state = calloc(1, type->state_size ? type->state_size : 1);
  if (!p->state) {
    rc = fp_fail(err, FP_ERR_NOMEM, "policy %s: out of memory", type->name);
    goto fail;
  }
  rc = parse_params(type, params, &p->values, err);
  if (rc != FP_OK) goto fail;
  rc = apply_defaults(type, &p->values, err);
  if (rc != FP_OK) goto fail;
  if (type->init) {
    rc = type->init(p->state, &p->values, err);
    if (rc != FP_OK) goto fail;
  }
  p->state_ready = true;
  p->spec = build_spec(type, &p->values);
  if (!p->spec) {
    rc = fp_fail(err, FP_ERR_NOMEM, "policy %s: out of memory", type->name);
    goto fail;
  }
  *out = p;
  return FP_OK;

fail:
  fp_policy_destroy(&p);
  return rc;
}

int fp_policy_create(const char *spec, fp_policy **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_policy_create: out is NULL");
  *out = NULL;
  if (!spec) return fp_fail(err, FP_ERR_ARG, "fp_policy_create: spec is NULL");

  const char *params;
  size_t name_len;
  fp_spec_split(spec, &spec, &name_len, &params);
  char name[64];
  char known[256];
  list_type_names(known, sizeof known);
  if (name_len == 0)
    return fp_fail(err, FP_ERR_ARG, "policy spec '%s' has no policy name (known: %s)", spec,
                   known);
  if (name_len >= sizeof name)
    return fp_fail(err, FP_ERR_ARG, "unknown policy '%.*s...' (known: %s)", 32, spec, known);
  memcpy(name, spec, name_len);
  name[name_len] = '\0';

  const fp_policy_type *type = fp_policy_type_find(name);
  if (!type) return fp_fail(err, FP_ERR_ARG, "unknown policy '%s' (known: %s)", name, known);
  return fp_policy_create_type(type, params, out, err);
}

/* ------------------------------------------------------------------------ */
/* Use                                                                      */
/* ------------------------------------------------------------------------ */

int fp_policy_observe(fp_policy *p, const fp_policy_obs *obs, bool *retrain, fp_error *err)
{
  if (!p || !obs || !retrain)
    return fp_fail(err, FP_ERR_ARG, "fp_policy_observe: NULL argument");
  if (!isfinite(obs->divergence))
    return fp_fail(err, FP_ERR_ARG, "policy %s: period %zu: divergence %g is not finite",
                   p->type->name, obs->period, obs->divergence);
  if (obs->has_loss && !isfinite(obs->loss))
    return fp_fail(err, FP_ERR_ARG, "policy %s: period %zu: loss %g is not finite",
                   p->type->name, obs->period, obs->loss);
  bool decision = false;
  double statistic = NAN, threshold = NAN;
  int rc = p->type->observe(p->state, &p->values, obs, &decision, &statistic, &threshold, err);
  if (rc != FP_OK) return rc;
  p->last_statistic = statistic;
  p->last_threshold = threshold;
  if (decision && p->type->reset) p->type->reset(p->state, &p->values);
  *retrain = decision;
  return FP_OK;
}

void fp_policy_reset(fp_policy *p)
{
  if (!p || !p->state_ready) return;
  if (p->type->reset) p->type->reset(p->state, &p->values);
}

void fp_policy_last(const fp_policy *p, double *statistic, double *threshold)
{
  if (statistic) *statistic = p ? p->last_statistic : NAN;
  if (threshold) *threshold = p ? p->last_threshold : NAN;
}

const char *fp_policy_spec(const fp_policy *p) { return p ? p->spec : NULL; }

const char *fp_policy_name(const fp_policy *p) { return p ? p->type->name : NULL; }

const fp_policy_type *fp_policy_get_type(const fp_policy *p) { return p ? p->type : NULL; }

/* ------------------------------------------------------------------------ */
/* Help                                                                     */
/* ------------------------------------------------------------------------ */

static void help_type(FILE *out, const fp_policy_type *type)
{
  fprintf(out, "  %s: %s\n", type->name, type->summary ? type->summary : "");
  if (type->source) fprintf(out, "      source: %s\n", type->source);
  if (type->nparams == 0) fprintf(out, "      (no parameters)\n");
  for (size_t i = 0; i < type->nparams; i++) {
    const fp_policy_param *p = &type->params[i];
    char range[96] = "";
    char def[160];
    if (p->kind == FP_POLICY_PARAM_REAL || p->kind == FP_POLICY_PARAM_INT)
      format_range(p, range, sizeof range);
    else if (p->kind == FP_POLICY_PARAM_CHOICE)
      snprintf(range, sizeof range, "%s", p->choices);
    if (p->def)
      snprintf(def, sizeof def, "default %s", p->def);
    else
      snprintf(def, sizeof def, "%s",
               (p->flags & FP_POLICY_PARAM_OPTIONAL) ? "optional" : "required");
    fprintf(out, "      %-14s %-8s %-12s %-18s %s\n", p->key, kind_name(p->kind), range, def,
            p->help ? p->help : "");
  }
}

int fp_policy_help(FILE *out, const char *name, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_policy_help: stream is NULL");
  const fp_policy_type *only = NULL;
  if (name) {
    only = fp_policy_type_find(name);
    if (!only) {
      char known[256];
      list_type_names(known, sizeof known);
      return fp_fail(err, FP_ERR_ARG, "unknown policy '%s' (known: %s)", name, known);
    }
  }
  fprintf(out, "Retraining policies: --policy NAME[:KEY=VALUE[,KEY=VALUE...]]\n"
               "  A retrain decided at period k is applied at k and resets the policy's\n"
               "  detector state (new deployment spell).\n");
  for (size_t i = 0; i < REGISTRY_SIZE; i++)
    if (!only || registry[i] == only) help_type(out, registry[i]);
  if (ferror(out)) return fp_fail(err, FP_ERR_IO, "fp_policy_help: write error");
  return FP_OK;
}
