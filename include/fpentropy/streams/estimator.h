/* fpentropy: sample-based estimators of D_KL(p || q_ref).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_samples, a borrowed array of n points in 1-3 dimensions;
 *   - fp_kl_reference, what is known about the reference density q: its
 *     log-density, a sample from it, its support box, its moments;
 *   - fp_estimator, an estimator made from a text spec ("knn:k=3"), with
 *     fp_estimator_create(), fp_estimator_kl(), fp_estimator_spec(),
 *     fp_estimator_report_get(), fp_estimator_destroy();
 *   - fp_estimator_names() and fp_estimator_help(), the registry for --help.
 *
 * Direction: every estimator estimates D_KL(p || q) = E_p[log p/q] in nats,
 * with p the distribution of the sample passed to fp_estimator_kl() (the
 * "current" density p_t of the Fokker-Planck solution) and q the reference.
 * This is Frouros' KL(current || reference); Evidently's kl_div is the other
 * direction.  docs/estimators.md gives every formula, constant and default.
 *
 * Estimators (spec names; parameters and defaults in docs/estimators.md):
 *   hist   histogram plug-in with exact bin masses of q (Miller-Madow corrected)
 *   kde    FFT kernel density estimate, leave-one-out resubstitution
 *   knn    one-sample Kozachenko-Leonenko with known log q
 *   wkv    two-sample Wang-Kulkarni-Verdu k-nearest-neighbour estimator
 *   gauss  moment-matched Gaussians, closed-form KL (optionally unbiased)
 *
 * Specs: "name" or "name:key=value;key=value" (',' is accepted in place of
 * ';').  fp_estimator_spec() gives the canonical form with every parameter
 * in table order and its resolved value; it contains no comma, space, quote
 * or '#', so it can be used as a CSV column name or label, and it parses
 * back to the same estimator.
 *
 * Ownership and threads: an fp_estimator owns its workspaces (k-d trees, FFT
 * grids and plans, histograms); they grow to the largest problem seen and are
 * reused, so repeated calls do not allocate once warm.  One object must not
 * be used by two threads at once; creating FFT plans (first kde call, or a
 * change of dimension) uses FFTW's planner, which is not thread-safe either.
 * Samples and the reference are borrowed for the duration of a call only.
 * The library never prints; GSL's error handler is left as the caller set it
 * and no call here can trigger it.
 */
#ifndef FPENTROPY_ESTIMATOR_H
#define FPENTROPY_ESTIMATOR_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>

#include <fpentropy/problem/grid.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* n points in dim (1..3) dimensions: point i, coordinate k at x[i*dim + k].
 * Not owned.  n = 0 (and x = NULL) means "no sample". */
typedef struct fp_samples {
  int dim;
  size_t n;
  const double *x;
} fp_samples;

/* log q(x) at the point x[0..dim-1] (entries beyond dim are 0).  Must be a
 * deterministic function returning a finite value or -INFINITY (outside the
 * support).  q must be normalised: every estimator uses log q as given. */
typedef double (*fp_log_density_fn)(const double x[FP_MAX_DIM], void *ctx);

/* What is known about the reference q.  Unused members may stay zero; each
 * estimator says what it needs (fp_estimator_help()).  A zero-initialised
 * struct plus the members one has is the intended use. */
typedef struct fp_kl_reference {
  fp_log_density_fn log_q;      /* normalised log-density of q, or NULL */
  void *ctx;                    /* passed to log_q; not owned */
  fp_samples sample;            /* a sample from q (n = 0 if none) */
  double lower[FP_MAX_DIM];     /* support box of q (the PDE domain); used */
  double upper[FP_MAX_DIM];     /*   by "hist" only */
  bool has_moments;             /* mean and cov below are q's exact moments */
  double mean[FP_MAX_DIM];
  double cov[FP_MAX_DIM][FP_MAX_DIM];
} fp_kl_reference;

/* Diagnostics of the last successful fp_estimator_kl() call.  Members that do
 * not apply to an estimator are 0. */
typedef struct fp_estimator_report {
  size_t n;                     /* size of the p-sample */
  size_t m;                     /* reference points used (wkv; hist, gauss from a sample) */
  size_t skipped;               /* knn/wkv: points dropped because a distance was 0 (ties) */
  size_t floored;               /* kde: points whose leave-one-out density was floored */
  size_t bins[FP_MAX_DIM];      /* hist: bins per axis; kde: grid points per axis */
  size_t occupied;              /* hist: occupied bins K^ */
  double correction;            /* hist: Miller-Madow term subtracted; gauss: Wishart term added */
  double bandwidth[FP_MAX_DIM]; /* kde: bandwidth per axis */
  bool isj_fallback;            /* kde bw=isj: the ISJ root was not found, silverman used */
} fp_estimator_report;

typedef struct fp_estimator fp_estimator; /* opaque */

/* Make the estimator described by `spec` ("name" or "name:key=value;...").
 * Returns FP_OK; FP_ERR_ARG for an unknown estimator (the message lists the
 * valid names), an unknown or repeated key (the message lists the valid
 * keys), or a value that does not parse or is out of range (the message
 * gives the range); FP_ERR_NOMEM.
 * Ownership: destroy *out with fp_estimator_destroy(). */
FP_API int fp_estimator_create(const char *spec, fp_estimator **out, fp_error *err);

/* Estimate D_KL(p || q) from the sample p and what `ref` knows about q.
 * p->n must be at least the estimator's minimum (k+1 for knn/wkv, dim+2 for
 * gauss, 2 otherwise); every coordinate must be finite.
 * Returns FP_OK with *kl set (it may be negative: the estimators are not
 * constrained to be >= 0); FP_ERR_ARG (NULL, bad sample, dimension mismatch,
 * reference data the estimator needs missing, hist: a sample outside the
 * support box); FP_ERR_NUMERIC (degenerate sample: zero spread, all distances
 * tied, log q not finite at a sample point, singular covariance); FP_ERR_NOMEM;
 * FP_ERR_UNSUPPORTED (FFTW could not plan).  On failure *kl is NaN. */
FP_API int fp_estimator_kl(fp_estimator *e, const fp_samples *p, const fp_kl_reference *ref, double *kl,
                    fp_error *err);

/* Canonical spec with every parameter resolved (owned by e; "" for NULL).
 * Data-dependent defaults appear as "auto" (e.g. hist:bins=auto). */
FP_API const char *fp_estimator_spec(const fp_estimator *e);

/* The estimator's registry name ("knn"); "" for NULL. */
FP_API const char *fp_estimator_name(const fp_estimator *e);

/* Diagnostics of the last successful call (all zero before one; owned by e).
 * NULL for NULL. */
FP_API const fp_estimator_report *fp_estimator_report_get(const fp_estimator *e);

/* Destroy *e (and its workspaces) and set it to NULL.  NULL is a no-op. */
FP_API void fp_estimator_destroy(fp_estimator **e);

/* The registry: set *names to the static array of estimator names and return
 * its length. */
FP_API size_t fp_estimator_names(const char *const **names);

/* A printable description of estimator `name` (one line of summary, the
 * reference data it needs, then one line per parameter with its default and
 * range) written into buf (truncated to size).  Returns FP_OK or FP_ERR_ARG
 * (NULL, unknown name). */
FP_API int fp_estimator_help(const char *name, char *buf, size_t size, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_ESTIMATOR_H */
