/* fpentropy (internal): the estimator type descriptor and shared helpers.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An estimator is one constant fp_estimator_type (GSL-style type descriptor):
 * a name, a parameter table with defaults and ranges, what it needs from the
 * reference, and three operations.  Adding an estimator means writing one
 * est_<name>.c that defines such a descriptor and listing it in the registry
 * of estimator.c; parsing, canonical specs, validation of the sample and of
 * the reference, help texts and reports are shared. */
#ifndef FPENTROPY_ESTIMATOR_IMPL_H
#define FPENTROPY_ESTIMATOR_IMPL_H

#include <stddef.h>

#include <fpentropy/streams/estimator.h>

/* Parameter kinds.  Every kind may in addition accept the words of `words`
 * (e.g. "auto", "silverman"); a parsed value is then a word index. */
typedef enum fp_est_kind {
  FP_EST_BOOL, /* 0/1 (also true/false, yes/no, on/off), canonical 0 or 1 */
  FP_EST_INT,  /* an integer in [min, max] */
  FP_EST_REAL  /* a finite real in [min, max] (or (min, max] with min_open) */
} fp_est_kind;

#define FP_EST_MAX_PARAMS 8

typedef struct fp_est_param {
  const char *key;
  fp_est_kind kind;
  const char *const *words; /* NULL-terminated accepted words, or NULL */
  const char *def;          /* default, in spec syntax */
  double min, max;          /* numeric range, inclusive */
  int min_open;             /* 1: the lower bound is exclusive */
  const char *help;         /* one phrase for fp_estimator_help() */
} fp_est_param;

/* A parsed parameter: word >= 0 is an index into the parameter's words,
 * otherwise num holds the number (integers and booleans exactly). */
typedef struct fp_est_value {
  int word;
  double num;
} fp_est_value;

/* What an estimator needs from the reference q.  A reference must supply all
 * of needs_all and, when needs_any is not 0, at least one of needs_any. */
enum {
  FP_EST_NEED_LOG_Q = 1u,   /* ref->log_q */
  FP_EST_NEED_SAMPLE = 2u,  /* ref->sample with n > 0 */
  FP_EST_NEED_BOX = 4u,     /* ref->lower < ref->upper on every axis */
  FP_EST_NEED_MOMENTS = 8u  /* ref->has_moments */
};

typedef struct fp_estimator_type {
  const char *name;
  const char *summary;          /* one line for --help */
  const fp_est_param *params;
  size_t nparams;
  unsigned needs_all, needs_any;
  /* Estimate D(p||q).  The shared front end has checked e, p (dim 1..3,
   * n >= 1, finite), the reference sample (same dim, finite) and the needs
   * above.  The function fills *kl and the members of *rep that apply, and
   * allocates or grows its workspace in e->work as it needs. */
  int (*estimate)(fp_estimator *e, const fp_samples *p, const fp_kl_reference *ref, double *kl,
                  fp_estimator_report *rep, fp_error *err);
  /* Release e->work (may be NULL). */
  void (*free_work)(void *work);
} fp_estimator_type;

#define FP_EST_SPEC_SIZE 256

struct fp_estimator {
  const fp_estimator_type *type;
  fp_est_value value[FP_EST_MAX_PARAMS]; /* in the order of type->params */
  char spec[FP_EST_SPEC_SIZE];           /* canonical spec */
  fp_estimator_report report;            /* of the last successful call */
  void *work;                            /* owned by the type's functions */
};

/* The descriptors (one per est_*.c). */
extern const fp_estimator_type fp_est_hist_type;
extern const fp_estimator_type fp_est_kde_type;
extern const fp_estimator_type fp_est_knn_type;
extern const fp_estimator_type fp_est_wkv_type;
extern const fp_estimator_type fp_est_gauss_type;

/* ---- shared helpers (estimator.c) ------------------------------------- */

/* Grow the array `buf` (capacity *cap elements of `size` bytes, may be
 * NULL) to at least `need` elements, keeping its contents; growth is
 * geometric.  Returns the (possibly moved) array and updates *cap, or NULL
 * when out of memory, in which case `buf` is unchanged and still owned by the
 * caller.  Usage: q = fp_est_grow(w->a, &w->a_cap, n, sizeof *w->a);
 * if (!q) fail; w->a = q; */
void *fp_est_grow(void *buf, size_t *cap, size_t need, size_t size);

/* log q at point x[0..dim-1] (copied into a zero-padded 3-vector). */
double fp_est_log_q(const fp_kl_reference *ref, int dim, const double *x);

/* Mean of log q over the sample; FP_ERR_NUMERIC (naming the point) if log q
 * is not finite at a sample point, i.e. D(p||q) is infinite or q is broken. */
int fp_est_mean_log_q(const fp_kl_reference *ref, const fp_samples *p, double *mean,
                      fp_error *err);

/* Mean and unbiased (n-1) standard deviation of coordinate `axis`. */
void fp_est_mean_sd(const fp_samples *s, int axis, double *mean, double *sd);

/* log of the volume of the unit Euclidean ball in dim dimensions. */
double fp_est_log_unit_ball(int dim);

/* digamma at a positive integer (GSL's psi_int; -inf at 0). */
double fp_est_digamma_int(size_t n);

#endif /* FPENTROPY_ESTIMATOR_IMPL_H */
