/* fpentropy: retraining policies (when to reset the deployed reference).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_policy_obs, what a policy sees once per monitoring period: the
 *     mismatch signal D_k since the last retrain (exact, from the PDE, or
 *     estimated from samples: a policy cannot tell which) and an optional
 *     loss signal;
 *   - fp_policy, one running policy, made from a spec string
 *     "name:key=value,key=value" by fp_policy_create(), driven period by
 *     period with fp_policy_observe();
 *   - fp_policy_type and fp_policy_param, the constant type descriptors
 *     (GSL style: name, parameter table with defaults, ranges and help;
 *     init/observe/reset/destroy) and the registry of built-in types;
 *   - fp_debt_emissions, fp_debt_calibrate() and the calibration file
 *     reader/writer for the learning-debt filter.
 *
 * Built-in policies (docs/policies.md has the rules, sources and defaults):
 *   none, calendar, threshold, alarm, cusum, performance, debt.
 *
 * Period and reset convention.  Observations are fed in period order, one
 * per monitoring period k.  obs.divergence is the mismatch D_k of the model
 * currently deployed, observed *before* this period's action.  When
 * fp_policy_observe() answers retrain = true, the policy resets its own
 * detector state at that moment (the CUSUM sum, the alarm history, the
 * debt filter's rho, the performance baseline), so the next observation
 * starts a new deployment spell; the caller must then feed the mismatch
 * against the newly deployed reference (which is 0 at the retrain period
 * itself and grows from there).  A retrain decided at period k is applied at
 * period k (same-period action, as in Katz 2026 Section 6.3): the mismatch
 * charged for period k is 0 (retrain_cost.h).  fp_policy_reset() performs
 * the same reset from outside (for a retrain the policy did not decide).
 *
 * Thread safety: an fp_policy keeps state and must not be shared between
 * threads; distinct policies are independent.  The type descriptors and the
 * registry are constant.  Nothing here prints on its own initiative or keeps
 * global mutable state.
 */
#ifndef FPENTROPY_POLICY_H
#define FPENTROPY_POLICY_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------------------- */
/* Observations                                                             */
/* ----------------------------------------------------------------------- */

/* One monitoring period, as the policy sees it. */
typedef struct fp_policy_obs {
  size_t period;     /* monitoring period index k (the driver's numbering) */
  double t;          /* monitoring time t_k (informational) */
  double divergence; /* mismatch signal D_k since the last retrain, before
                        this period's action (exact or estimated; estimated
                        values may be slightly negative); must be finite */
  bool has_loss;     /* whether `loss` carries a value this period */
  double loss;       /* optional loss/score signal (finite when has_loss) */
} fp_policy_obs;

/* ----------------------------------------------------------------------- */
/* Type descriptors                                                         */
/* ----------------------------------------------------------------------- */

/* The most parameters a policy type may declare. */
#define FP_POLICY_MAX_PARAMS 16

/* What kind of value a parameter takes in a spec string. */
typedef enum fp_policy_param_kind {
  FP_POLICY_PARAM_REAL,   /* a finite real number (strtod syntax) */
  FP_POLICY_PARAM_INT,    /* a decimal integer */
  FP_POLICY_PARAM_CHOICE, /* one word out of `choices` ("a|b|c") */
  FP_POLICY_PARAM_PATH    /* a file path (no ',' or ';' in it: the spec separators) */
} fp_policy_param_kind;

/* Parameter flags. */
#define FP_POLICY_PARAM_MIN_OPEN 0x1u /* value must be > min (else >= min) */
#define FP_POLICY_PARAM_MAX_OPEN 0x2u /* value must be < max (else <= max) */
#define FP_POLICY_PARAM_OPTIONAL 0x4u /* no default, may stay unset (the type's
                                         init decides what unset means) */

/* One row of a type's parameter table. */
typedef struct fp_policy_param {
  const char *key;           /* name in the spec string */
  fp_policy_param_kind kind;
  const char *def;           /* default, written as in a spec; NULL = no default
                                (required unless FP_POLICY_PARAM_OPTIONAL) */
  double min, max;           /* REAL/INT: allowed range (+-INFINITY = unbounded) */
  unsigned flags;            /* FP_POLICY_PARAM_* */
  const char *choices;       /* CHOICE: the allowed words, "a|b|c" */
  const char *help;          /* one line for --help */
} fp_policy_param;

/* Resolved parameter values, indexed like the type's parameter table. */
typedef struct fp_policy_values {
  bool set[FP_POLICY_MAX_PARAMS];        /* given, defaulted or resolved by init */
  double num[FP_POLICY_MAX_PARAMS];      /* REAL, INT (integral value), CHOICE
                                            (index into choices) */
  const char *str[FP_POLICY_MAX_PARAMS]; /* PATH text (owned by the policy) */
} fp_policy_values;

/* A policy type: a constant descriptor (compare gsl_odeiv2_step_type).
 * The framework allocates `state_size` zeroed bytes, calls init once, then
 * observe once per period.  When observe answers *retrain = true the
 * framework calls reset right away (the reset convention above).
 *   init:    validate values beyond the table's ranges and set up the state;
 *            may fill unset OPTIONAL values (the debt type reads its
 *            calibration file here) so that the canonical spec shows them.
 *            On failure destroy is still called.
 *   observe: decide; also report the detector statistic the decision used
 *            and the threshold it was compared with (NAN when the rule has
 *            none, e.g. calendar).  Must not change *retrain on failure.
 *   reset:   start a new deployment spell.
 *   destroy: release what init allocated inside the state (may be NULL);
 *            must cope with a state whose init failed half way. */
typedef struct fp_policy_type {
  const char *name;      /* spec name, e.g. "cusum" */
  const char *summary;   /* one line: signal and rule */
  const char *source;    /* paper and section the rule comes from */
  const char *statistic; /* name of the reported statistic, e.g. "rho" */
  const fp_policy_param *params;
  size_t nparams;        /* <= FP_POLICY_MAX_PARAMS */
  size_t state_size;
  int (*init)(void *state, fp_policy_values *values, fp_error *err);
  int (*observe)(void *state, const fp_policy_values *values, const fp_policy_obs *obs,
                 bool *retrain, double *statistic, double *threshold, fp_error *err);
  void (*reset)(void *state, const fp_policy_values *values);
  void (*destroy)(void *state);
} fp_policy_type;

/* The built-in types (docs/policies.md). */
FP_API extern const fp_policy_type fp_policy_type_none;
FP_API extern const fp_policy_type fp_policy_type_calendar;
FP_API extern const fp_policy_type fp_policy_type_threshold;
FP_API extern const fp_policy_type fp_policy_type_alarm;
FP_API extern const fp_policy_type fp_policy_type_cusum;
FP_API extern const fp_policy_type fp_policy_type_performance;
FP_API extern const fp_policy_type fp_policy_type_debt;

/* Registry: the number of built-in types, the i-th (NULL past the end), and
 * the one called `name` (NULL when unknown). */
FP_API size_t fp_policy_type_count(void);
FP_API const fp_policy_type *fp_policy_type_at(size_t i);
FP_API const fp_policy_type *fp_policy_type_find(const char *name);

/* Write the help text of one type (name != NULL) or of every built-in type
 * (name == NULL) to `out`: the spec syntax, each type's summary and source,
 * and one line per parameter (key, kind, default or "required", range,
 * help).  The library writes only where the caller says.
 * Returns FP_OK, FP_ERR_ARG (NULL stream, unknown name) or FP_ERR_IO. */
FP_API int fp_policy_help(FILE *out, const char *name, fp_error *err);

/* ----------------------------------------------------------------------- */
/* Policies                                                                 */
/* ----------------------------------------------------------------------- */

typedef struct fp_policy fp_policy; /* opaque */

/* Make a policy from a spec "name" or "name:key=value,key=value,..." (the
 * estimators' grammar: ';' separates items as well as ',').
 * Spaces around names, keys and values are ignored; keys may appear in any
 * order but at most once; keys not given take the table's default.
 * Returns FP_OK; FP_ERR_ARG with a message naming the problem: unknown
 * policy (listing the known ones), unknown key (listing the type's keys),
 * repeated key, malformed or out-of-range value (giving the range), missing
 * required value, and the type's own checks (e.g. debt without emissions);
 * FP_ERR_IO when a file the spec names cannot be read; FP_ERR_NOMEM.
 * Ownership: the caller ends *out with fp_policy_destroy(). */
FP_API int fp_policy_create(const char *spec, fp_policy **out, fp_error *err);

/* The same from a type descriptor (built-in or the caller's own) and the
 * parameter part of a spec ("key=value,..."; NULL or "" for all defaults). */
FP_API int fp_policy_create_type(const fp_policy_type *type, const char *params, fp_policy **out,
                          fp_error *err);

/* Release a policy; NULL and *p == NULL are no-ops; sets *p to NULL. */
FP_API void fp_policy_destroy(fp_policy **p);

/* Feed one period and get the decision in *retrain.  When it is true the
 * policy has already reset itself (new deployment spell).
 * Returns FP_OK; FP_ERR_ARG (NULL arguments, non-finite divergence or loss,
 * a loss-based rule given no loss; *retrain is left unchanged); FP_ERR_NOMEM. */
FP_API int fp_policy_observe(fp_policy *p, const fp_policy_obs *obs, bool *retrain, fp_error *err);

/* External reset: start a new deployment spell now (the same reset the
 * policy applies itself when it decides to retrain).  NULL is a no-op. */
FP_API void fp_policy_reset(fp_policy *p);

/* The statistic the last decision used and the threshold it was compared
 * with, as they were at the decision (before any reset); NAN before the first
 * observation or when the rule has none.  Either pointer may be NULL. */
FP_API void fp_policy_last(const fp_policy *p, double *statistic, double *threshold);

/* The canonical spec: the type name and every parameter in table order with
 * its resolved value (defaults filled in, reals in the shortest form that
 * reads back exactly), e.g. "cusum:k_ref=0,h=2,signal=auto".  Feeding it to
 * fp_policy_create() gives an identical policy.  A debt policy's calibration
 * file is not in it: the emissions read from the file are, so the spec
 * needs no file.  Owned by p. */
FP_API const char *fp_policy_spec(const fp_policy *p);

/* The type name and descriptor of p. */
FP_API const char *fp_policy_name(const fp_policy *p);
FP_API const fp_policy_type *fp_policy_get_type(const fp_policy *p);

/* ----------------------------------------------------------------------- */
/* Learning-debt filter: emissions and their calibration                   */
/* ----------------------------------------------------------------------- */

/* The floor on the calibrated emission standard deviations (Katz 2026,
 * replication code). */
#define FP_DEBT_SIGMA_FLOOR 0.01

/* Gaussian emissions of y = sqrt(max(D, 0)) in the stable (0) and stale (1)
 * states of the debt filter's two-state hidden Markov model. */
typedef struct fp_debt_emissions {
  double mu0, sigma0; /* stable state */
  double mu1, sigma1; /* stale state */
  size_t n0, n1;      /* pilot samples per class (0 when not calibrated) */
  bool fallback0;     /* the stable class had < 2 samples (see below) */
  bool fallback1;     /* the stale class had < 2 samples */
} fp_debt_emissions;

/* Calibrate the emissions from a pilot series under a frozen deployment
 * (Katz 2026, Section 6.2 and the replication code's
 * calibrate_hmm_emissions): y_i = sqrt(max(divergence[i], 0)), split by
 * stale[i] (0 = stable, 1 = stale);
 *     mu_s = mean(y | s),   sigma_s = max(sd(y | s), FP_DEBT_SIGMA_FLOOR)
 * with the sample standard deviation (n - 1 denominator).  Fallbacks:
 *   - stale class with < 2 samples:  mu1 = mu0 + 1, sigma1 = 0.5 (as Katz);
 *   - stable class with exactly 1 sample: mu0 = that y, sigma0 = 0.5 (the
 *     mirror of Katz's stale fallback; Katz has none for this class);
 *   - stable class with no sample: FP_ERR_ARG (nothing to anchor the filter).
 * Returns FP_OK; FP_ERR_ARG (NULL arrays with n > 0, n == 0, a label other
 * than 0/1, a non-finite divergence). */
FP_API int fp_debt_calibrate(const double *divergence, const int *stale, size_t n,
                      fp_debt_emissions *out, fp_error *err);

/* Write emissions to a small text file of "key = value" lines (mu0, sigma0,
 * mu1, sigma1, n0, n1, fallback0, fallback1; '#' starts a comment), written
 * atomically (output.h).  `comment` (may be NULL) is written as leading '#'
 * lines, e.g. the case and command that produced the pilot series.
 * Returns FP_OK, FP_ERR_ARG (NULL, invalid emissions) or FP_ERR_IO. */
FP_API int fp_debt_emissions_write(const char *path, const fp_debt_emissions *em,
                            const char *comment, fp_error *err);

/* Read a file written by fp_debt_emissions_write() (or by hand): mu0, sigma0,
 * mu1, sigma1 are required, n0, n1, fallback0, fallback1 optional; blank
 * lines and '#' comments are ignored; unknown or repeated keys, malformed
 * numbers, sigma <= 0 are errors naming file:line and key.
 * Returns FP_OK, FP_ERR_IO (cannot open/read) or FP_ERR_ARG. */
FP_API int fp_debt_emissions_read(const char *path, fp_debt_emissions *out, fp_error *err);

/* The debt filter's one-step update (Katz 2026, B.3 v1), exposed for tests
 * and drivers that trace the filter:
 *     rho_pred = hazard (1 - rho) + (1 - p10) rho
 *     rho'     = rho_pred N(y; mu1, sigma1)
 *                / max(rho_pred N(y; mu1, sigma1) + (1 - rho_pred) N(y; mu0, sigma0), 1e-12)
 * with y = sqrt(max(divergence, 0)).  Pure; no checks beyond the caller's. */
FP_API double fp_debt_filter_update(double rho, double divergence, double hazard, double p10,
                             const fp_debt_emissions *em);

/* The same update with the emission variable y given directly (the debt
 * policy's input=direct: a signal already on the emission scale, such as
 * Katz's proxy filter signal mu0 + raw sigma0, which may be negative). */
FP_API double fp_debt_filter_update_y(double rho, double y, double hazard, double p10,
                               const fp_debt_emissions *em);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_POLICY_H */
