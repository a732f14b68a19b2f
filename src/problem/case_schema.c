/* fpentropy: the case-file schema: sections, keys, defaults, messages about unknown names, printing.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/problem/case.h>

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

const char *const fpc_section_names[SEC_COUNT] = {
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

const char *const fpc_axis_names[FP_MAX_DIM] = {"x", "y", "z"};

/* Levenshtein distance, for "did you mean" suggestions. */
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

int fpc_find_section(const char *name)
{
  for (int s = 0; s < SEC_COUNT; s++)
    if (strcmp(fpc_section_names[s], name) == 0) return s;
  return -1;
}

bool fpc_section_has_key(int section, const char *key)
{
  if (section == SEC_CONSTANTS) return true;
  for (const char *const *k = section_keys[section]; *k; k++)
    if (strcmp(*k, key) == 0) return true;
  return false;
}

const char *fpc_default_text(int section, const char *key)
{
  for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
    if (defaults[i].section == section && strcmp(defaults[i].key, key) == 0)
      return defaults[i].value;
  return NULL;
}

/* "did you mean [time]?" or the list of sections. */
void fpc_describe_unknown_section(const char *name, char *out, size_t size)
{
  for (int s = 0; s < SEC_COUNT; s++)
    if (edit_distance(name, fpc_section_names[s]) <= 2) {
      snprintf(out, size, "did you mean [%s]?", fpc_section_names[s]);
      return;
    }
  snprintf(out, size,
           "the sections are [domain], [constants], [dynamics], [initial], [reference], "
           "[time], [solver], [output], [sample], [policy], [labels] and [model]");
}

/* The most useful hint for a key that `section` does not have. */
void fpc_describe_unknown_key(int section, const char *key, char *out, size_t size)
{
  if (section == SEC_DYNAMICS &&
      (strcmp(key, "diffusion_yx") == 0 || strcmp(key, "diffusion_zx") == 0 ||
       strcmp(key, "diffusion_zy") == 0)) {
    snprintf(out, size, "D is symmetric: give only diffusion_%c%c", key[11], key[10]);
    return;
  }
  for (int s = 0; s < SEC_COUNT; s++)
    if (s != section && s != SEC_CONSTANTS && fpc_section_has_key(s, key)) {
      snprintf(out, size, "'%s' belongs in [%s]", key, fpc_section_names[s]);
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
  size_t len = (size_t)snprintf(out, size, "the keys of [%s] are", fpc_section_names[section]);
  for (const char *const *k = section_keys[section]; *k && len < size; k++)
    len += (size_t)snprintf(out + len, size - len, "%s %s", k == section_keys[section] ? "" : ",",
                            *k);
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

static bool has_entry(const fp_case *c, int section, const char *key)
{
  for (size_t i = 0; i < c->n_entries; i++)
    if (strcmp(c->entries[i].section, fpc_section_names[section]) == 0 &&
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
      if (strcmp(e->section, fpc_section_names[s]) != 0) continue;
      double value;
      if (s == SEC_CONSTANTS && fp_constants_get(&c->constants, e->key, &value))
        fprintf(f, "%s.%s = %s    # %s (= %.15g)\n", e->section, e->key, e->value, e->source,
                value);
      else
        fprintf(f, "%s.%s = %s    # %s\n", e->section, e->key, e->value, e->source);
    }
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
      if (defaults[i].section == s && default_applies(c, &defaults[i]))
        fprintf(f, "%s.%s = %s    # default\n", fpc_section_names[s], defaults[i].key,
                defaults[i].value);
    if (s == SEC_OUTPUT && !has_entry(c, SEC_OUTPUT, "directory") && c->output_dir)
      fprintf(f, "output.directory = %s    # default\n", c->output_dir);
  }
}
