/* fpentropy: the learning-debt filter policy and its calibration
 * (Katz 2026, Theorem 1, Sections 5-6, and the v1 replication code).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A two-state hidden Markov model on y = sqrt(max(D, 0)): state 0 (not
 * actionably stale) and 1 (stale), transitions 0 -> 1 with probability
 * `hazard` and 1 -> 0 with probability `p10` per period, Gaussian emissions
 * N(mu_s, sigma_s^2) calibrated on pilot series under a frozen deployment.
 * The filtered stale probability rho is updated once per period
 * (fp_debt_filter_update) and the policy retrains iff
 * rho > kappa / (1 + kappa)  (Theorem 1 with c_churn/c_wait = kappa);
 * rho <- 0 on retrain.  rho starts at 0. */
#include <fpentropy/io/output.h>
#include <fpentropy/policy/policy.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "core/error_impl.h"

/* 1/sqrt(2 pi), as R's M_1_SQRT_2PI. */
#define INV_SQRT_2PI 0.398942280401432677939946059934

/* The denominator floor of the replication code's hmm_update. */
#define DEBT_DENOM_FLOOR 1e-12

/* ------------------------------------------------------------------------ */
/* The filter                                                               */
/* ------------------------------------------------------------------------ */

/* N(y; mu, sigma^2) in R's dnorm form. */
static double normal_pdf(double y, double mu, double sigma)
{
  double z = (y - mu) / sigma;
  return INV_SQRT_2PI * exp(-0.5 * z * z) / sigma;
}

double fp_debt_filter_update(double rho, double divergence, double hazard, double p10,
                             const fp_debt_emissions *em)
{
  return fp_debt_filter_update_y(rho, sqrt(divergence > 0.0 ? divergence : 0.0), hazard, p10, em);
}

double fp_debt_filter_update_y(double rho, double y, double hazard, double p10,
                               const fp_debt_emissions *em)
{
  double rho_pred = hazard * (1.0 - rho) + (1.0 - p10) * rho;
  double lik0 = normal_pdf(y, em->mu0, em->sigma0);
  double lik1 = normal_pdf(y, em->mu1, em->sigma1);
  double denom = lik0 * (1.0 - rho_pred) + lik1 * rho_pred;
  return lik1 * rho_pred / (denom > DEBT_DENOM_FLOOR ? denom : DEBT_DENOM_FLOOR);
}

/* ------------------------------------------------------------------------ */
/* Calibration                                                              */
/* ------------------------------------------------------------------------ */

int fp_debt_calibrate(const double *divergence, const int *stale, size_t n,
                      fp_debt_emissions *out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_debt_calibrate: out is NULL");
  if (n == 0) return fp_fail(err, FP_ERR_ARG, "fp_debt_calibrate: the pilot series is empty");
  if (!divergence || !stale) return fp_fail(err, FP_ERR_ARG, "fp_debt_calibrate: NULL array");

  /* Two passes per class (mean, then squared deviations) for accuracy. */
  double sum[2] = {0.0, 0.0};
  size_t count[2] = {0, 0};
  for (size_t i = 0; i < n; i++) {
    if (stale[i] != 0 && stale[i] != 1)
      return fp_fail(err, FP_ERR_ARG, "fp_debt_calibrate: stale[%zu] = %d is not 0 or 1", i,
                     stale[i]);
    if (!isfinite(divergence[i]))
      return fp_fail(err, FP_ERR_ARG, "fp_debt_calibrate: divergence[%zu] = %g is not finite",
                     i, divergence[i]);
    double y = sqrt(divergence[i] > 0.0 ? divergence[i] : 0.0);
    sum[stale[i]] += y;
    count[stale[i]]++;
  }
  if (count[0] == 0)
    return fp_fail(err, FP_ERR_ARG, "fp_debt_calibrate: no stable (stale = 0) sample among "
                   "the %zu pilot values; the filter needs a stable baseline", n);
  double mean[2] = {sum[0] / (double)count[0], count[1] ? sum[1] / (double)count[1] : 0.0};
  double ss[2] = {0.0, 0.0};
  for (size_t i = 0; i < n; i++) {
    double y = sqrt(divergence[i] > 0.0 ? divergence[i] : 0.0);
    double d = y - mean[stale[i]];
    ss[stale[i]] += d * d;
  }

  fp_debt_emissions em;
  memset(&em, 0, sizeof em);
  em.n0 = count[0];
  em.n1 = count[1];
  em.mu0 = mean[0];
  if (count[0] >= 2) {
    double sd = sqrt(ss[0] / (double)(count[0] - 1));
    em.sigma0 = sd > FP_DEBT_SIGMA_FLOOR ? sd : FP_DEBT_SIGMA_FLOOR;
  } else {
    em.sigma0 = 0.5;
    em.fallback0 = true;
  }
  if (count[1] >= 2) {
    double sd = sqrt(ss[1] / (double)(count[1] - 1));
    em.mu1 = mean[1];
    em.sigma1 = sd > FP_DEBT_SIGMA_FLOOR ? sd : FP_DEBT_SIGMA_FLOOR;
  } else {
    em.mu1 = em.mu0 + 1.0;
    em.sigma1 = 0.5;
    em.fallback1 = true;
  }
  *out = em;
  return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* Calibration files                                                        */
/* ------------------------------------------------------------------------ */

static int check_emissions(const fp_debt_emissions *em, const char *where, fp_error *err)
{
  if (!isfinite(em->mu0) || !isfinite(em->mu1))
    return fp_fail(err, FP_ERR_ARG, "%s: mu0 = %g and mu1 = %g must be finite", where, em->mu0,
                   em->mu1);
  if (!(em->sigma0 > 0.0) || !(em->sigma1 > 0.0) || !isfinite(em->sigma0) ||
      !isfinite(em->sigma1))
    return fp_fail(err, FP_ERR_ARG, "%s: sigma0 = %g and sigma1 = %g must be finite and > 0",
                   where, em->sigma0, em->sigma1);
  return FP_OK;
}

int fp_debt_emissions_write(const char *path, const fp_debt_emissions *em, const char *comment,
                            fp_error *err)
{
  if (!path || !*path || !em)
    return fp_fail(err, FP_ERR_ARG, "fp_debt_emissions_write: NULL or empty argument");
  int rc = check_emissions(em, "fp_debt_emissions_write", err);
  if (rc != FP_OK) return rc;
  fp_output_file *f = NULL;
  rc = fp_output_file_open(path, &f, err);
  if (rc != FP_OK) return rc;
  FILE *fp = fp_output_file_stream(f);
  fprintf(fp, "# fpentropy debt-filter emissions of y = sqrt(max(D, 0)) (fp_debt_calibrate)\n");
  const char *line = comment;
  while (line && *line) {
    const char *end = strchr(line, '\n');
    int len = end ? (int)(end - line) : (int)strlen(line);
    fprintf(fp, "# %.*s\n", len, line);
    line = end ? end + 1 : NULL;
  }
  fprintf(fp, "mu0 = %.17g\nsigma0 = %.17g\nmu1 = %.17g\nsigma1 = %.17g\n", em->mu0, em->sigma0,
          em->mu1, em->sigma1);
  fprintf(fp, "n0 = %zu\nn1 = %zu\nfallback0 = %d\nfallback1 = %d\n", em->n0, em->n1,
          em->fallback0 ? 1 : 0, em->fallback1 ? 1 : 0);
  return fp_output_file_commit(&f, err);
}

/* Trim in place; returns the new start. */
static char *trim_text(char *s)
{
  while (isspace((unsigned char)*s)) s++;
  size_t len = strlen(s);
  while (len > 0 && isspace((unsigned char)s[len - 1])) s[--len] = '\0';
  return s;
}

enum { KEY_MU0, KEY_SIGMA0, KEY_MU1, KEY_SIGMA1, KEY_N0, KEY_N1, KEY_FB0, KEY_FB1, KEY_COUNT };
static const char *const file_keys[KEY_COUNT] = {"mu0", "sigma0", "mu1", "sigma1",
                                                 "n0", "n1", "fallback0", "fallback1"};

/* One "key = value" line into em. */
static int read_line(const char *path, size_t lineno, char *text, bool seen[KEY_COUNT],
                     fp_debt_emissions *em, fp_error *err)
{
  char *eq = strchr(text, '=');
  if (!eq)
    return fp_fail(err, FP_ERR_ARG, "%s:%zu: expected 'key = value', got '%s'", path, lineno,
                   text);
  *eq = '\0';
  char *key = trim_text(text);
  char *value = trim_text(eq + 1);
  int index = -1;
  for (int i = 0; i < KEY_COUNT; i++)
    if (strcmp(key, file_keys[i]) == 0) index = i;
  if (index < 0)
    return fp_fail(err, FP_ERR_ARG, "%s:%zu: unknown key '%s' (keys: mu0, sigma0, mu1, sigma1, "
                   "n0, n1, fallback0, fallback1)", path, lineno, key);
  if (seen[index])
    return fp_fail(err, FP_ERR_ARG, "%s:%zu: key '%s' is given twice", path, lineno, key);
  seen[index] = true;
  char *end = NULL;
  errno = 0;
  if (index <= KEY_SIGMA1) {
    double x = strtod(value, &end);
    if (end == value || *end != '\0' || !isfinite(x))
      return fp_fail(err, FP_ERR_ARG, "%s:%zu: %s = '%s' is not a finite number", path, lineno,
                     key, value);
    if ((index == KEY_SIGMA0 || index == KEY_SIGMA1) && !(x > 0.0))
      return fp_fail(err, FP_ERR_ARG, "%s:%zu: %s = %s must be > 0", path, lineno, key, value);
    double *slot[] = {&em->mu0, &em->sigma0, &em->mu1, &em->sigma1};
    *slot[index] = x;
  } else {
    long long x = strtoll(value, &end, 10);
    bool flag = index == KEY_FB0 || index == KEY_FB1;
    if (end == value || *end != '\0' || errno == ERANGE || x < 0 || (flag && x > 1))
      return fp_fail(err, FP_ERR_ARG, "%s:%zu: %s = '%s' is not %s", path, lineno, key, value,
                     flag ? "0 or 1" : "a non-negative integer");
    if (index == KEY_N0) em->n0 = (size_t)x;
    if (index == KEY_N1) em->n1 = (size_t)x;
    if (index == KEY_FB0) em->fallback0 = x == 1;
    if (index == KEY_FB1) em->fallback1 = x == 1;
  }
  return FP_OK;
}

int fp_debt_emissions_read(const char *path, fp_debt_emissions *out, fp_error *err)
{
  if (!path || !*path || !out)
    return fp_fail(err, FP_ERR_ARG, "fp_debt_emissions_read: NULL or empty argument");
  FILE *fp = fopen(path, "r");
  if (!fp) {
    char reason[128];
    int e = errno;
    if (strerror_r(e, reason, sizeof reason) != 0) snprintf(reason, sizeof reason, "error %d", e);
    return fp_fail(err, FP_ERR_IO, "cannot open calibration file '%s': %s", path, reason);
  }
  fp_debt_emissions em;
  memset(&em, 0, sizeof em);
  bool seen[KEY_COUNT] = {false};
  char *line = NULL;
  size_t cap = 0;
  size_t lineno = 0;
  int rc = FP_OK;
  ssize_t got;
  while ((got = getline(&line, &cap, fp)) >= 0) {
    lineno++;
    if ((size_t)got != strlen(line)) {
      rc = fp_fail(err, FP_ERR_ARG, "%s:%zu: the line contains a NUL byte (is this a text "
                   "file?)", path, lineno);
      goto done;
    }
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *text = trim_text(line);
    if (*text == '\0') continue;
    rc = read_line(path, lineno, text, seen, &em, err);
    if (rc != FP_OK) goto done;
  }
  if (ferror(fp)) {
    rc = fp_fail(err, FP_ERR_IO, "error reading calibration file '%s'", path);
    goto done;
  }
  for (int i = 0; i <= KEY_SIGMA1; i++)
    if (!seen[i]) {
      rc = fp_fail(err, FP_ERR_ARG, "%s: required key '%s' is missing", path, file_keys[i]);
      goto done;
    }
  *out = em;
done:
  free(line);
  fclose(fp);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* The policy                                                               */
/* ------------------------------------------------------------------------ */

enum { DEBT_KAPPA, DEBT_HAZARD, DEBT_P10, DEBT_MU0, DEBT_SIGMA0, DEBT_MU1, DEBT_SIGMA1,
       DEBT_CALIBRATION, DEBT_INPUT };
enum { INPUT_SQRT_DIVERGENCE, INPUT_DIRECT };

static const fp_policy_param debt_params[] = {
    {"kappa", FP_POLICY_PARAM_REAL, "1", 0, INFINITY, FP_POLICY_PARAM_MIN_OPEN, NULL,
     "c_churn/c_wait: retrain iff rho > kappa/(1+kappa)"},
    {"hazard", FP_POLICY_PARAM_REAL, "0.05", 0, 1, 0, NULL,
     "per-period probability of the 0 -> 1 (stable -> stale) transition"},
    {"p10", FP_POLICY_PARAM_REAL, "0", 0, 1, 0, NULL,
     "per-period probability of the 1 -> 0 transition (Katz: 0, 0.02 for gradual drift)"},
    {"mu0", FP_POLICY_PARAM_REAL, NULL, -INFINITY, INFINITY, FP_POLICY_PARAM_OPTIONAL, NULL,
     "stable-state emission mean of sqrt(D) (default: from calibration)"},
    {"sigma0", FP_POLICY_PARAM_REAL, NULL, 0, INFINITY,
     FP_POLICY_PARAM_OPTIONAL | FP_POLICY_PARAM_MIN_OPEN, NULL,
     "stable-state emission sd (default: from calibration)"},
    {"mu1", FP_POLICY_PARAM_REAL, NULL, -INFINITY, INFINITY, FP_POLICY_PARAM_OPTIONAL, NULL,
     "stale-state emission mean of sqrt(D) (default: from calibration)"},
    {"sigma1", FP_POLICY_PARAM_REAL, NULL, 0, INFINITY,
     FP_POLICY_PARAM_OPTIONAL | FP_POLICY_PARAM_MIN_OPEN, NULL,
     "stale-state emission sd (default: from calibration)"},
    {"calibration", FP_POLICY_PARAM_PATH, NULL, 0, 0, FP_POLICY_PARAM_OPTIONAL, NULL,
     "emissions file from fp_debt_emissions_write (explicit mu/sigma keys override it)"},
    {"input", FP_POLICY_PARAM_CHOICE, "sqrt", 0, 0, 0, "sqrt|direct",
     "emission variable: sqrt(max(D,0)) of the divergence (sqrt), or the divergence field "
     "taken as it is (direct: a signal already on the emission scale, e.g. Katz's proxy "
     "filter)"},
};

typedef struct debt_state {
  fp_debt_emissions em;
  double rho;
} debt_state;

static int debt_init(void *state, fp_policy_values *v, fp_error *err)
{
  debt_state *s = state;
  if (v->set[DEBT_CALIBRATION]) {
    fp_debt_emissions file;
    int rc = fp_debt_emissions_read(v->str[DEBT_CALIBRATION], &file, err);
    if (rc != FP_OK)
      return fp_fail_context(err, rc, "policy debt: calibration=%s", v->str[DEBT_CALIBRATION]);
    const double from_file[4] = {file.mu0, file.sigma0, file.mu1, file.sigma1};
    for (int i = 0; i < 4; i++)
      if (!v->set[DEBT_MU0 + i]) {
        v->num[DEBT_MU0 + i] = from_file[i];
        v->set[DEBT_MU0 + i] = true;
      }
    s->em = file;
    /* The canonical spec carries the emissions themselves, not the path:
     * it then rebuilds the policy without the file, which a later run
     * into the same output directory may have removed (it is in the
     * calibration run's manifest). */
    v->set[DEBT_CALIBRATION] = false;
  }
  char missing[64] = "";
  for (int i = DEBT_MU0; i <= DEBT_SIGMA1; i++)
    if (!v->set[i]) {
      size_t used = strlen(missing);
      snprintf(missing + used, sizeof missing - used, "%s%s", used ? ", " : "",
               debt_params[i].key);
    }
  if (missing[0])
    return fp_fail(err, FP_ERR_ARG, "policy debt needs its emissions: give calibration=FILE "
                   "(from a calibration run) or all of mu0, sigma0, mu1, sigma1 (missing: %s)",
                   missing);
  s->em.mu0 = v->num[DEBT_MU0];
  s->em.sigma0 = v->num[DEBT_SIGMA0];
  s->em.mu1 = v->num[DEBT_MU1];
  s->em.sigma1 = v->num[DEBT_SIGMA1];
  s->rho = 0.0;
  return FP_OK;
}

static int debt_observe(void *state, const fp_policy_values *v, const fp_policy_obs *obs,
                        bool *retrain, double *statistic, double *threshold, fp_error *err)
{
  (void)err;
  debt_state *s = state;
  if ((int)v->num[DEBT_INPUT] == INPUT_DIRECT)
    s->rho = fp_debt_filter_update_y(s->rho, obs->divergence, v->num[DEBT_HAZARD],
                                     v->num[DEBT_P10], &s->em);
  else
    s->rho = fp_debt_filter_update(s->rho, obs->divergence, v->num[DEBT_HAZARD],
                                   v->num[DEBT_P10], &s->em);
  double kappa = v->num[DEBT_KAPPA];
  *statistic = s->rho;
  *threshold = kappa / (1.0 + kappa);
  *retrain = s->rho > *threshold;
  return FP_OK;
}

static void debt_reset(void *state, const fp_policy_values *v)
{
  (void)v;
  debt_state *s = state;
  s->rho = 0.0;
}

const fp_policy_type fp_policy_type_debt = {
    .name = "debt",
    .summary = "learning-debt filter: two-state HMM on sqrt(max(D,0)) with calibrated Gaussian "
               "emissions; retrain iff the stale probability rho > kappa/(1+kappa); rho <- 0 on "
               "retrain",
    .source = "Katz 2026 Theorem 1 (eq. 3), Sections 5-6.2; v1 replication code (hmm_update, "
              "calibrate_hmm_emissions)",
    .statistic = "rho",
    .params = debt_params,
    .nparams = sizeof debt_params / sizeof debt_params[0],
    .state_size = sizeof(debt_state),
    .init = debt_init,
    .observe = debt_observe,
    .reset = debt_reset,
    .destroy = NULL,
};
