/* fpentropy: the learning-debt study's model pieces: the generator, data
 * paths, staleness, one row's policies on one path, pilot emissions
 * (debt_study.h; the design facts are in docs/learning-debt.md).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/policy/debt_study.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "core/error_impl.h"

/* ------------------------------------------------------------------------ */
/* Generator: xoshiro256** as a gsl_rng type                                */
/* ------------------------------------------------------------------------ */

typedef struct xoshiro_state {
  uint64_t s[4];
} xoshiro_state;

static uint64_t splitmix64(uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro_next(xoshiro_state *st)
{
  uint64_t *s = st->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

static void xoshiro_set(void *vstate, unsigned long seed)
{
  xoshiro_state *st = vstate;
  uint64_t x = (uint64_t)seed;
  for (int i = 0; i < 4; i++) st->s[i] = splitmix64(&x);
}

static unsigned long xoshiro_get(void *vstate)
{
  return (unsigned long)(xoshiro_next(vstate) >> 32);
}

static double xoshiro_get_double(void *vstate)
{
  /* 53 random bits in [0, 1) */
  return (double)(xoshiro_next(vstate) >> 11) * 0x1.0p-53;
}

static const gsl_rng_type xoshiro_type = {"fp_xoshiro256ss", 0xffffffffUL, 0,
                                          sizeof(xoshiro_state), xoshiro_set, xoshiro_get,
                                          xoshiro_get_double};
const gsl_rng_type *fp_debt_rng_type = &xoshiro_type;

uint64_t fp_debt_rng_seed(uint64_t seed, unsigned block, unsigned cell, unsigned rep)
{
  uint64_t x = seed;
  uint64_t h = splitmix64(&x);
  x = h ^ ((uint64_t)block << 40);
  h = splitmix64(&x);
  x = h ^ ((uint64_t)cell << 20);
  h = splitmix64(&x);
  x = h ^ (uint64_t)rep;
  return splitmix64(&x);
}

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

const char *fp_debt_family_name(fp_debt_family f)
{
  static const char *const names[] = {"none", "abrupt", "variance", "gradual"};
  return (unsigned)f < FP_DEBT_FAMILY_COUNT ? names[f] : "?";
}

const char *fp_debt_policy_name(fp_debt_policy_id id)
{
  static const char *const names[] = {"debt",   "proxy",     "calendar",   "cusum",
                                      "alarm",  "calendar5", "calendar20", "calendar40"};
  return (unsigned)id < FP_DEBT_POL_COUNT ? names[id] : "?";
}

/* ------------------------------------------------------------------------ */
/* Paths                                                                    */
/* ------------------------------------------------------------------------ */

void fp_debt_path_generate(fp_debt_family family, double p_shift, gsl_rng *r, fp_debt_path *out)
{
  out->family = family;
  out->p_shift = p_shift;
  out->onset = 0;
  /* Regime draws first: onset uniforms at t > burn-in while G = 0. */
  if (family != FP_DEBT_NONE) {
    for (size_t t = FP_DEBT_BURNIN + 1; t <= FP_DEBT_T; t++)
      if (gsl_rng_uniform(r) < p_shift) {
        out->onset = t;
        break;
      }
  }
  double beta = 0.0, sigma2 = 1.0;
  double jump = 0.0, factor = 1.0;
  if (out->onset && family == FP_DEBT_ABRUPT) jump = gsl_ran_gaussian_ziggurat(r, 2.0);
  if (out->onset && family == FP_DEBT_VARIANCE) factor = gsl_ran_flat(r, 3.0, 6.0);
  double steps[FP_DEBT_T + 1] = {0};
  if (out->onset && family == FP_DEBT_GRADUAL)
    for (size_t t = out->onset; t <= FP_DEBT_T; t++) steps[t] = gsl_ran_gaussian_ziggurat(r, 0.15);
  out->beta[0] = 0.0;
  out->sigma2[0] = 1.0;
  memset(out->x[0], 0, sizeof out->x[0]); /* row 0 is unused: keep it defined */
  memset(out->y[0], 0, sizeof out->y[0]);
  for (size_t t = 1; t <= FP_DEBT_T; t++) {
    if (out->onset && t == out->onset) {
      beta += jump;
      sigma2 *= factor;
    }
    beta += steps[t];
    out->beta[t] = beta;
    out->sigma2[t] = sigma2;
    double sd = sqrt(sigma2);
    for (int i = 0; i < FP_DEBT_NOBS; i++) out->x[t][i] = gsl_ran_gaussian_ziggurat(r, 1.0);
    for (int i = 0; i < FP_DEBT_NOBS; i++)
      out->y[t][i] = beta * out->x[t][i] + gsl_ran_gaussian_ziggurat(r, sd);
  }
}

/* ------------------------------------------------------------------------ */
/* Staleness and signals                                                    */
/* ------------------------------------------------------------------------ */

/* delta sigma_pr = 0.5 sqrt(b0/(a0 k0)) = 0.5 sqrt(1/2) */
#define GRADUAL_CUTOFF (0.5 * 0.70710678118654752440)

int fp_debt_stale(fp_debt_family f, size_t onset, size_t t, size_t r, const fp_nig *s,
                  const fp_nig *q)
{
  switch (f) {
  case FP_DEBT_ABRUPT:
  case FP_DEBT_VARIANCE:
    return onset != 0 && onset <= t && onset > r;
  case FP_DEBT_GRADUAL:
    return fabs(s->m - q->m) > GRADUAL_CUTOFF;
  default:
    return 0;
  }
}

static int prior_nig(fp_nig *out, fp_error *err) { return fp_nig_init(0.0, 1.0, 2.0, 1.0, out, err); }

/* The shadow after every period's update rows; S[0] is the prior. */
static int shadow_series(const fp_debt_path *path, fp_nig *S, fp_error *err)
{
  int rc = prior_nig(&S[0], err);
  if (rc != FP_OK) return rc;
  for (size_t t = 1; t <= FP_DEBT_T; t++) {
    S[t] = S[t - 1];
    rc = fp_nig_update(&S[t], path->x[t], path->y[t], FP_DEBT_NUPDATE, err);
    if (rc != FP_OK) return fp_fail_context(err, rc, "shadow update, period %zu", t);
  }
  return FP_OK;
}

/* Running mean and population variance (Welford): exact 0 for equal values. */
typedef struct welford {
  double n, mean, m2;
} welford;

static void welford_add(welford *w, double x)
{
  w->n += 1.0;
  double delta = x - w->mean;
  w->mean += delta / w->n;
  w->m2 += delta * (x - w->mean);
}

static double welford_z(const welford *w, double x)
{
  if (w->n < 2.0) return 0.0;
  double var = w->m2 / w->n;
  return (x - w->mean) / sqrt(var > 1e-8 ? var : 1e-8);
}

/* ------------------------------------------------------------------------ */
/* A row's policies                                                         */
/* ------------------------------------------------------------------------ */

struct fp_debt_row_policies {
  fp_policy *p[FP_DEBT_POL_COUNT];
};

int fp_debt_row_policies_create(const fp_debt_row_settings *s, fp_debt_row_policies **out,
                                fp_error *err)
{
  if (!s || !out) return fp_fail(err, FP_ERR_ARG, "fp_debt_row_policies_create: NULL argument");
  fp_debt_row_policies *rp = calloc(1, sizeof *rp);
  if (!rp) return fp_fail(err, FP_ERR_NOMEM, "debt study: out of memory");
  char spec[512];
  int rc = FP_OK;
  for (int id = 0; id < FP_DEBT_POL_COUNT && rc == FP_OK; id++) {
    if (!(s->policies & (1u << id))) continue;
    switch (id) {
    case FP_DEBT_POL_DEBT:
    case FP_DEBT_POL_PROXY:
      snprintf(spec, sizeof spec,
               "debt:kappa=%.17g,hazard=%.17g,p10=%.17g,mu0=%.17g,sigma0=%.17g,mu1=%.17g,"
               "sigma1=%.17g,input=%s",
               s->kappa, s->hazard, s->p10, s->em.mu0, s->em.sigma0, s->em.mu1, s->em.sigma1,
               id == FP_DEBT_POL_DEBT ? "sqrt" : "direct");
      break;
    case FP_DEBT_POL_CALENDAR: snprintf(spec, sizeof spec, "calendar:k=10"); break;
    case FP_DEBT_POL_CALENDAR5: snprintf(spec, sizeof spec, "calendar:k=5"); break;
    case FP_DEBT_POL_CALENDAR20: snprintf(spec, sizeof spec, "calendar:k=20"); break;
    case FP_DEBT_POL_CALENDAR40: snprintf(spec, sizeof spec, "calendar:k=40"); break;
    case FP_DEBT_POL_CUSUM:
      snprintf(spec, sizeof spec, "cusum:k_ref=0,h=4,signal=loss,increment=positive");
      break;
    case FP_DEBT_POL_ALARM: snprintf(spec, sizeof spec, "alarm:q=0.9,min_history=10"); break;
    }
    rc = fp_policy_create(spec, &rp->p[id], err);
  }
  if (rc != FP_OK) {
    fp_debt_row_policies_destroy(&rp);
    return rc;
  }
  *out = rp;
  return FP_OK;
}

void fp_debt_row_policies_destroy(fp_debt_row_policies **p)
{
  if (!p || !*p) return;
  for (int id = 0; id < FP_DEBT_POL_COUNT; id++) fp_policy_destroy(&(*p)->p[id]);
  free(*p);
  *p = NULL;
}

const char *fp_debt_row_policy_spec(const fp_debt_row_policies *p, fp_debt_policy_id id)
{
  if (!p || (unsigned)id >= FP_DEBT_POL_COUNT || !p->p[id]) return NULL;
  return fp_policy_spec(p->p[id]);
}

/* ------------------------------------------------------------------------ */
/* Spearman correlation with average ranks                                  */
/* ------------------------------------------------------------------------ */

typedef struct ranked {
  double v;
  int i;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
  double x = ((const ranked *)a)->v, y = ((const ranked *)b)->v;
  return (x > y) - (x < y);
}

static void average_ranks(const double *v, int n, double *rank)
{
  ranked tmp[FP_DEBT_T];
  for (int i = 0; i < n; i++) tmp[i] = (ranked){v[i], i};
  qsort(tmp, (size_t)n, sizeof tmp[0], cmp_ranked);
  for (int i = 0; i < n;) {
    int j = i;
    while (j + 1 < n && tmp[j + 1].v == tmp[i].v) j++;
    double r = 0.5 * (double)(i + j) + 1.0;
    for (int k = i; k <= j; k++) rank[tmp[k].i] = r;
    i = j + 1;
  }
}

static double spearman(const double *a, const double *b, int n)
{
  double ra[FP_DEBT_T], rb[FP_DEBT_T];
  average_ranks(a, n, ra);
  average_ranks(b, n, rb);
  double ma = 0, mb = 0;
  for (int i = 0; i < n; i++) ma += ra[i], mb += rb[i];
  ma /= n, mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (int i = 0; i < n; i++) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  if (saa == 0.0 || sbb == 0.0) return NAN; /* a constant series */
  return sab / sqrt(saa * sbb);
}

/* ------------------------------------------------------------------------ */
/* One policy on one path                                                   */
/* ------------------------------------------------------------------------ */

typedef struct path_ctx {
  const fp_debt_path *path;
  const fp_debt_row_settings *s;
  const fp_nig *S;      /* S[0..T] */
  const double *ls_S;   /* LS(S_t) on period t's holdout, t = 1..T */
  double c_churn, c_wait;
} path_ctx;

static int run_policy(const path_ctx *c, fp_debt_policy_id id, fp_policy *pol, fp_debt_rep *out,
                      fp_debt_trace *tr, double *Dser, double *gser, double *dser, fp_error *err)
{
  const fp_debt_path *path = c->path;
  const fp_debt_row_settings *s = c->s;
  const size_t T = FP_DEBT_T;
  fp_nig Q = c->S[0];
  size_t r = 0;
  bool pending = false;
  welford wg = {0}, wd = {0}, we = {0};
  size_t onset = path->family == FP_DEBT_GRADUAL ? 0 : path->onset; /* delay origin */
  size_t first_retrain_after = 0;
  double loss = 0.0, n_unnec = 0, n_stale = 0, n_retrains = 0;
  double bs = 0.0, bs0 = 0.0;
  bool is_filter = id == FP_DEBT_POL_DEBT || id == FP_DEBT_POL_PROXY;
  fp_policy_reset(pol);
  for (size_t t = 1; t <= T; t++) {
    const fp_nig *St = &c->S[t];
    bool executed = false;
    if (s->lag && pending) { /* install the decision of t - 1 before this period */
      Q = c->S[t - 1];
      r = t - 1;
      pending = false;
      executed = true;
    }
    int Z = fp_debt_stale(path->family, path->onset, t, r, St, &Q);
    if (path->family == FP_DEBT_GRADUAL && Z && onset == 0) onset = t;
    /* Holdout diagnostics against this policy's Q. */
    const double *hx = path->x[t] + FP_DEBT_NUPDATE, *hy = path->y[t] + FP_DEBT_NUPDATE;
    double g = c->ls_S[t] - fp_nig_log_score(&Q, hx, hy, FP_DEBT_NOBS - FP_DEBT_NUPDATE);
    double d = fabs(St->m - Q.m);
    double scale = 2.0 * sqrt(Q.b / Q.a);
    int exceed = 0;
    for (int i = 0; i < FP_DEBT_NOBS - FP_DEBT_NUPDATE; i++)
      exceed += fabs(hy[i] - Q.m * hx[i]) > scale;
    double e = (double)exceed / (double)(FP_DEBT_NOBS - FP_DEBT_NUPDATE);
    double D = fp_nig_kl(St, &Q);
    if (!(D > 0.0)) D = 0.0;
    if (!isfinite(D) || !isfinite(g))
      return fp_fail(err, FP_ERR_NUMERIC, "policy %s, period %zu: D = %g, g = %g",
                     fp_debt_policy_name(id), t, D, g);
    /* The observation this policy's rule reads. */
    fp_policy_obs obs = {.period = t, .t = (double)t, .divergence = D};
    if (id == FP_DEBT_POL_PROXY) {
      double raw = 0.5 * welford_z(&wg, g) + 0.4 * welford_z(&wd, d) + 0.2 * welford_z(&we, e);
      welford_add(&wg, g);
      welford_add(&wd, d);
      welford_add(&we, e);
      obs.divergence = s->em.mu0 + raw * s->em.sigma0;
    } else if (id == FP_DEBT_POL_CUSUM) {
      obs.has_loss = true;
      obs.loss = g;
    }
    bool decision = false;
    int rc = fp_policy_observe(pol, &obs, &decision, err);
    if (rc != FP_OK)
      return fp_fail_context(err, rc, "policy %s, period %zu", fp_debt_policy_name(id), t);
    double stat, thr;
    fp_policy_last(pol, &stat, &thr);
    if (decision) { /* the policy reset its own state; the signal sums go with it */
      wg = (welford){0};
      wd = (welford){0};
      we = (welford){0};
    }
    bool act;
    if (s->lag) {
      act = executed;
      if (decision && t < T) pending = true;
    } else {
      act = decision;
    }
    if (act && Z == 0) n_unnec++;
    else if (!act && Z == 1) n_stale++;
    /* eq. 14 from the counts, so that e.g. 20 churn events cost exactly
     * 20 c_churn (no rounding from repeated addition) */
    loss = c->c_churn * n_unnec + c->c_wait * n_stale;
    if (act) {
      n_retrains++;
      if (onset && t >= onset && !first_retrain_after) first_retrain_after = t;
    }
    if (!s->lag && decision) {
      Q = *St;
      r = t;
    }
    if (is_filter) {
      bs += (stat - Z) * (stat - Z);
      bs0 += (s->hazard - Z) * (s->hazard - Z);
    }
    if (Dser) Dser[t - 1] = D;
    if (gser) gser[t - 1] = g;
    if (dser) dser[t - 1] = d;
    if (tr) {
      tr->Z[t] = Z;
      tr->D[t] = D;
      tr->g[t] = g;
      tr->d[t] = d;
      tr->e[t] = e;
      tr->statistic[t] = stat;
      tr->threshold[t] = thr;
      tr->decision[t] = decision;
      tr->executed[t] = act;
      tr->cumulative_loss[t] = loss;
    }
  }
  out->loss[id] = loss;
  out->retrains[id] = n_retrains;
  out->unnecessary[id] = n_unnec;
  out->stale_waits[id] = n_stale;
  if (onset == 0) out->delay[id] = NAN;
  else out->delay[id] = first_retrain_after ? (double)(first_retrain_after - onset)
                                            : (double)(T - onset);
  if (is_filter) {
    bs /= (double)T;
    bs0 /= (double)T;
    out->bss[id] = bs0 > 1e-12 ? 1.0 - bs / bs0 : NAN;
  }
  return FP_OK;
}

int fp_debt_run_path(const fp_debt_path *path, const fp_debt_row_settings *s,
                     fp_debt_row_policies *pol, fp_debt_rep *out, fp_debt_trace *traces,
                     fp_error *err)
{
  if (!path || !s || !pol || !out) return fp_fail(err, FP_ERR_ARG, "fp_debt_run_path: NULL argument");
  if (!(s->kappa > 0.0)) return fp_fail(err, FP_ERR_ARG, "debt study: kappa = %g must be > 0", s->kappa);
  fp_nig S[FP_DEBT_T + 1];
  double ls_S[FP_DEBT_T + 1];
  int rc = shadow_series(path, S, err);
  if (rc != FP_OK) return rc;
  ls_S[0] = 0.0;
  for (size_t t = 1; t <= FP_DEBT_T; t++)
    ls_S[t] = fp_nig_log_score(&S[t], path->x[t] + FP_DEBT_NUPDATE, path->y[t] + FP_DEBT_NUPDATE,
                               FP_DEBT_NOBS - FP_DEBT_NUPDATE);
  path_ctx c = {.path = path, .s = s, .S = S, .ls_S = ls_S,
                .c_churn = s->kappa / (1.0 + s->kappa), .c_wait = 1.0 / (1.0 + s->kappa)};
  for (int id = 0; id < FP_DEBT_POL_COUNT; id++) {
    out->loss[id] = out->retrains[id] = out->unnecessary[id] = out->stale_waits[id] = NAN;
    out->delay[id] = out->bss[id] = NAN;
  }
  out->spearman_g = out->spearman_d = NAN;
  double Dser[FP_DEBT_T], gser[FP_DEBT_T], dser[FP_DEBT_T];
  for (int id = 0; id < FP_DEBT_POL_COUNT; id++) {
    if (!(s->policies & (1u << id))) continue;
    if (!pol->p[id])
      return fp_fail(err, FP_ERR_ARG, "debt study: policy %s was not created for this row",
                     fp_debt_policy_name(id));
    bool debt = id == FP_DEBT_POL_DEBT;
    rc = run_policy(&c, (fp_debt_policy_id)id, pol->p[id], out, traces ? &traces[id] : NULL,
                    debt ? Dser : NULL, debt ? gser : NULL, debt ? dser : NULL, err);
    if (rc != FP_OK) return rc;
    if (debt) {
      out->spearman_g = spearman(Dser, gser, FP_DEBT_T);
      out->spearman_d = spearman(Dser, dser, FP_DEBT_T);
    }
  }
  return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* Pilot emissions                                                          */
/* ------------------------------------------------------------------------ */

int fp_debt_pilot_emissions(uint64_t seed, unsigned block, const fp_debt_family *families,
                            size_t nfamilies, size_t npaths, fp_debt_emissions *out,
                            fp_error *err)
{
  if (!families || !out || nfamilies == 0 || npaths == 0)
    return fp_fail(err, FP_ERR_ARG, "fp_debt_pilot_emissions: empty pilot design");
  size_t n = nfamilies * npaths * FP_DEBT_T;
  double *D = malloc(n * sizeof *D);
  int *G = malloc(n * sizeof *G);
  fp_debt_path *path = malloc(sizeof *path);
  gsl_rng *r = gsl_rng_alloc(fp_debt_rng_type);
  int rc = FP_OK;
  if (!D || !G || !path || !r) {
    rc = fp_fail(err, FP_ERR_NOMEM, "pilot emissions: out of memory");
    goto done;
  }
  fp_nig prior, S;
  rc = prior_nig(&prior, err);
  size_t k = 0;
  for (size_t f = 0; f < nfamilies && rc == FP_OK; f++)
    for (size_t j = 0; j < npaths && rc == FP_OK; j++) {
      gsl_rng_set(r, (unsigned long)fp_debt_rng_seed(seed, block, (unsigned)families[f], (unsigned)j));
      fp_debt_path_generate(families[f], 0.05, r, path);
      S = prior;
      for (size_t t = 1; t <= FP_DEBT_T && rc == FP_OK; t++) {
        rc = fp_nig_update(&S, path->x[t], path->y[t], FP_DEBT_NUPDATE, err);
        D[k] = fp_nig_kl(&S, &prior);
        G[k] = path->onset != 0 && t >= path->onset;
        k++;
      }
    }
  if (rc == FP_OK) rc = fp_debt_calibrate(D, G, k, out, err);
done:
  gsl_rng_free(r);
  free(path);
  free(G);
  free(D);
  return rc;
}
