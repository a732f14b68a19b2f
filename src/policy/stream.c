/* fpentropy: a labelled stream run by retraining policies (see stream.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/policy/stream.h>

#include <fpentropy/balance/balance.h>
#include <fpentropy/policy/policy.h>
#include <fpentropy/policy/policy_study.h>
#include <fpentropy/streams/estimator.h>
#include <fpentropy/streams/logistic.h>
#include <fpentropy/streams/particles.h>

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"
#include "streams/sampling_impl.h"

static const struct {
  const char *alias, *spec;
} aliases[] = {{"daily", "calendar:k=1"}, {"weekly", "calendar:k=7"}};

static const char *resolve_alias(const char *text)
{
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp(text, aliases[i].alias) == 0) return aliases[i].spec;
  return text;
}

int fp_stream_policy_parse(const char *text, char *name, size_t name_size, char *spec,
                           size_t spec_size, fp_error *err)
{
  if (!text || !name || !spec || name_size == 0 || spec_size == 0)
    return fp_fail(err, FP_ERR_ARG, "fp_stream_policy_parse: bad argument");
  const char *eq = strchr(text, '='), *colon = strchr(text, ':');
  if (eq && (!colon || eq < colon)) {
    size_t n = (size_t)(eq - text);
    snprintf(name, name_size, "%.*s", (int)n, text);
    snprintf(spec, spec_size, "%s", resolve_alias(eq + 1));
  } else {
    snprintf(name, name_size, "%s", text);
    snprintf(spec, spec_size, "%s", resolve_alias(text));
  }
  if (!name[0] || !spec[0])
    return fp_fail(err, FP_ERR_ARG, "stream policy '%s': expected NAME=SPEC or SPEC", text);
  return FP_OK;
}

int fp_stream_training_kl(const fp_grid *g, const double *p, size_t T, size_t window, double *kl,
                          fp_error *err)
{
  if (!g || !p || !kl || T == 0 || window == 0)
    return fp_fail(err, FP_ERR_ARG, "fp_stream_training_kl: bad argument");
  size_t n = g->ncells;
  /* KL[i][j] = sum_c p_j log p_j - sum_c p_j log m_i: T*n logarithms and
   * dot products instead of T*T*n logarithms. */
  double *m = malloc(n * sizeof *m), *logm = malloc(T * n * sizeof *logm), *ent = malloc(T * sizeof *ent);
  int rc = FP_OK;
  if (!m || !logm || !ent) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
    goto done;
  }
  /* logarithms floored as in the balance columns and fp_mismatch_matrix() */
  for (size_t j = 0; j < T; j++) {
    double s = 0.0;
    for (size_t c = 0; c < n; c++) {
      double pj = p[j * n + c];
      s += pj * log(pj > FP_BALANCE_FLOOR ? pj : FP_BALANCE_FLOOR);
    }
    ent[j] = s;
  }
  for (size_t i = 0; i < T; i++) {
    size_t first = i + 1 >= window ? i + 1 - window : 0;
    for (size_t c = 0; c < n; c++) {
      double s = 0.0;
      for (size_t k = first; k <= i; k++) s += p[k * n + c];
      m[c] = s / (double)(i + 1 - first);
      logm[i * n + c] = log(m[c] > FP_BALANCE_FLOOR ? m[c] : FP_BALANCE_FLOOR);
    }
  }
  for (size_t i = 0; i < T && rc == FP_OK; i++)
    for (size_t j = 0; j < T; j++) {
      const double *pj = p + j * n, *lm = logm + i * n;
      double s = 0.0;
      for (size_t c = 0; c < n; c++) s += pj[c] * lm[c];
      if (!isfinite(s)) {
        rc = fp_fail(err, FP_ERR_NUMERIC, "KL(p(t_%zu) || training density of %zu) is not finite", j, i);
        break;
      }
      kl[i * T + j] = (ent[j] - s) * g->cell_volume;
    }
done:
  free(m), free(logm), free(ent);
  return rc;
}

void fp_stream_result_clear(fp_stream_result *r)
{
  if (!r) return;
  free(r->loss);
  free(r->signal);
  free(r->retrain);
  free(r->exact_loss);
  free(r->exact_signal);
  free(r->exact_retrain);
  memset(r, 0, sizeof *r);
}

static uint64_t splitmix64(uint64_t x)
{
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/* What one seed needs. */
typedef struct seed_work {
  double *X, *Y;         /* T batches: features (N*dim each), labels (N each) */
  fp_logistic *fit;      /* fit of the window ending at d (lazily) */
  unsigned char *fitted;
  double *cdf;           /* T * ncells cumulative masses (shared by seeds) */
} seed_work;

/* The T labelled batches of stream s (the same for every policy). */
static void draw_batches(const fp_labels *l, const fp_stream_data *D, const double *panel,
                         seed_work *w, gsl_rng *rng, uint64_t seed, size_t s)
{
  const size_t N = l->batch, n = D->grid->ncells;
  const int dim = D->grid->dim;
  gsl_rng_set(rng, (unsigned long)splitmix64(seed * 0x100000001ULL + s));
  for (size_t d = 0; d < D->T; d++) {
    fp_logistic rule;
    fp_labels_rule(l, D->t[d], &rule);
    for (size_t i = 0; i < N; i++) {
      double x[FP_MAX_DIM] = {0};
      if (panel)
        memcpy(x, panel + ((s * D->T + d) * N + i) * (size_t)dim, (size_t)dim * sizeof *x);
      else
        fp_grid_draw_point(D->grid, w->cdf + d * n, rng, x);
      memcpy(w->X + (d * N + i) * (size_t)dim, x, (size_t)dim * sizeof *x);
      w->Y[d * N + i] = gsl_rng_uniform(rng) < fp_logistic_prob(&rule, x) ? 1.0 : 0.0;
    }
  }
}

static int window_fit(const fp_labels *l, const fp_stream_data *D, seed_work *w, size_t d,
                      fp_error *err)
{
  if (w->fitted[d]) return FP_OK;
  const int dim = D->grid->dim;
  const size_t N = l->batch;
  size_t first = d + 1 >= l->window ? d + 1 - l->window : 0, n = (d + 1 - first) * N;
  const fp_logistic *start = d > 0 && w->fitted[d - 1] ? &w->fit[d - 1] : NULL;
  int rc = fp_logistic_fit(w->X + first * N * (size_t)dim, w->Y + first * N, NULL, n, dim, &l->fit,
                           start, &w->fit[d], NULL, err);
  if (rc != FP_OK) return fp_fail_context(err, rc, "fit on the window ending at period %zu: ", d);
  w->fitted[d] = 1;
  return FP_OK;
}

static int label_free_kl(const fp_labels *l, const fp_stream_data *D, const seed_work *w,
                         fp_estimator *est, size_t d, size_t r, double *kl, fp_error *err)
{
  const int dim = D->grid->dim;
  const size_t N = l->batch;
  size_t first = r + 1 >= l->window ? r + 1 - l->window : 0;
  fp_samples p = {dim, N, w->X + d * N * (size_t)dim};
  fp_kl_reference ref;
  memset(&ref, 0, sizeof ref);
  ref.sample = (fp_samples){dim, (r + 1 - first) * N, w->X + first * N * (size_t)dim};
  for (int a = 0; a < FP_MAX_DIM; a++) ref.lower[a] = D->grid->lower[a], ref.upper[a] = D->grid->upper[a];
  return fp_estimator_kl(est, &p, &ref, kl, err);
}

/* Feed one observation and report the decision. */
static int observe(fp_policy *pol, size_t d, double t, double divergence, double loss, bool *retrain,
                   const char *spec, fp_error *err)
{
  fp_policy_obs obs = {.period = d, .t = t, .divergence = divergence, .has_loss = true, .loss = loss};
  int rc = fp_policy_observe(pol, &obs, retrain, err);
  if (rc != FP_OK) return fp_fail_context(err, rc, "policy %s at period %zu: ", spec, d);
  return FP_OK;
}

int fp_stream_run(const fp_labels *l, const fp_stream_data *D, const char *const *specs,
                  size_t nspecs, const fp_stream_options *opt, fp_stream_result *res,
                  fp_error *err)
{
  if (!l || !D || !D->grid || !D->t || !D->p || !specs || !opt || !res || D->T < 2 || opt->seeds == 0 ||
      (!D->pe) != (!D->kl) || nspecs == 0)
    return fp_fail(err, FP_ERR_ARG, "fp_stream_run: bad argument (need T >= 2, seeds >= 1, "
                   "policies, and pe and kl both or neither)");
  memset(res, 0, sizeof *res);
  const size_t T = D->T, P = nspecs, R = opt->seeds, N = l->batch, n = D->grid->ncells;
  const int dim = D->grid->dim;
  int rc = FP_OK;
  fp_policy **pol = calloc(P, sizeof *pol);
  fp_estimator *est = NULL;
  seed_work w = {0};
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!pol || !rng) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (size_t q = 0; q < P && rc == FP_OK; q++) rc = fp_policy_create(specs[q], &pol[q], err);
  if (rc != FP_OK) goto done;
  if ((rc = fp_estimator_create(l->estimator, &est, err)) != FP_OK) goto done;

  res->T = T, res->npolicies = P, res->seeds = R;
  res->loss = malloc(R * P * T * sizeof *res->loss);
  res->signal = malloc(R * P * T * sizeof *res->signal);
  res->retrain = calloc(R * P * T, 1);
  w.X = malloc(T * N * (size_t)dim * sizeof *w.X);
  w.Y = malloc(T * N * sizeof *w.Y);
  w.fit = malloc(T * sizeof *w.fit);
  w.fitted = malloc(T);
  w.cdf = malloc(T * n * sizeof *w.cdf);
  if (!res->loss || !res->signal || !res->retrain || !w.X || !w.Y || !w.fit || !w.fitted || !w.cdf) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for a stream of %zu periods", T);
    goto done;
  }
  for (size_t d = 0; d < T; d++) fp_grid_cumulative_mass(D->grid, D->p + d * n, w.cdf + d * n);

  size_t *deployed = malloc(P * sizeof *deployed);
  if (!deployed) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (size_t s = 0; s < R && rc == FP_OK; s++) {
    draw_batches(l, D, D->panel, &w, rng, opt->seed, s);
    memset(w.fitted, 0, T);
    if ((rc = window_fit(l, D, &w, 0, err)) != FP_OK) break;
    for (size_t q = 0; q < P; q++) fp_policy_reset(pol[q]), deployed[q] = 0;
    for (size_t q = 0; q < P; q++) {
      size_t base = (s * P + q) * T;
      res->loss[base] = NAN, res->signal[base] = NAN;
    }
    for (size_t d = 1; d < T && rc == FP_OK; d++) {
      if (opt->interrupted && *opt->interrupted) {
        rc = fp_fail(err, FP_ERR_INTERRUPTED, "interrupted at seed %zu, period %zu", s, d);
        break;
      }
      for (size_t q = 0; q < P && rc == FP_OK; q++) {
        size_t r = deployed[q], at = (s * P + q) * T + d;
        double loss, kl;
        rc = fp_logistic_log_loss(&w.fit[r], w.X + d * N * (size_t)dim, w.Y + d * N, NULL, N, &loss, err);
        if (rc == FP_OK) rc = label_free_kl(l, D, &w, est, d, r, &kl, err);
        if (rc != FP_OK) {
          rc = fp_fail_context(err, rc, "seed %zu, period %zu: ", s, d);
          break;
        }
        bool retrain = false;
        rc = observe(pol[q], d, D->t[d], kl, loss, &retrain, specs[q], err);
        if (rc != FP_OK) break;
        res->loss[at] = loss, res->signal[at] = kl, res->retrain[at] = retrain;
        if (retrain) {
          if ((rc = window_fit(l, D, &w, d, err)) != FP_OK) break;
          deployed[q] = d;
        }
      }
    }
  }
  if (rc == FP_OK && D->pe) {
    res->has_exact = true;
    res->exact_loss = malloc(P * T * sizeof *res->exact_loss);
    res->exact_signal = malloc(P * T * sizeof *res->exact_signal);
    res->exact_retrain = calloc(P * T, 1);
    if (!res->exact_loss || !res->exact_signal || !res->exact_retrain)
      rc = fp_fail(err, FP_ERR_NOMEM, "out of memory");
    for (size_t q = 0; q < P && rc == FP_OK; q++) {
      fp_policy_reset(pol[q]);
      size_t r = 0;
      res->exact_loss[q * T] = NAN, res->exact_signal[q * T] = NAN;
      for (size_t d = 1; d < T && rc == FP_OK; d++) {
        double loss = D->pe[r * T + d], kl = D->kl[r * T + d];
        bool retrain = false;
        rc = observe(pol[q], d, D->t[d], kl, loss, &retrain, specs[q], err);
        res->exact_loss[q * T + d] = loss, res->exact_signal[q * T + d] = kl;
        res->exact_retrain[q * T + d] = retrain;
        if (retrain) r = d;
      }
    }
  }
  free(deployed);
done:
  if (pol)
    for (size_t q = 0; q < P; q++) fp_policy_destroy(&pol[q]);
  free(pol);
  fp_estimator_destroy(&est);
  gsl_rng_free(rng);
  free(w.X), free(w.Y), free(w.fit), free(w.fitted), free(w.cdf);
  if (rc != FP_OK) fp_stream_result_clear(res);
  return rc;
}

void fp_stream_summarise(const fp_stream_result *r, size_t q, bool exact, fp_stream_summary *out)
{
  memset(out, 0, sizeof *out);
  const size_t T = r->T, R = exact ? 1 : r->seeds;
  double sa = 0, sa2 = 0, sw = 0, sf = 0, sr = 0, sr2 = 0;
  for (size_t s = 0; s < R; s++) {
    const double *loss = exact ? r->exact_loss + q * T : r->loss + (s * r->npolicies + q) * T;
    const unsigned char *rt = exact ? r->exact_retrain + q * T : r->retrain + (s * r->npolicies + q) * T;
    double avg = 0, worst = -INFINITY, count = 0;
    for (size_t d = 1; d < T; d++) avg += loss[d], worst = fmax(worst, loss[d]), count += rt[d];
    avg /= (double)(T - 1);
    sa += avg, sa2 += avg * avg, sw += worst, sf += loss[T - 1], sr += count, sr2 += count * count;
  }
  double Rd = (double)R;
  out->avg = sa / Rd, out->worst = sw / Rd, out->final = sf / Rd, out->retrains = sr / Rd;
  if (R > 1) {
    out->se_avg = sqrt(fmax(sa2 / Rd - out->avg * out->avg, 0.0) * Rd / (Rd - 1.0) / Rd);
    out->se_retrains = sqrt(fmax(sr2 / Rd - out->retrains * out->retrains, 0.0) * Rd / (Rd - 1.0) / Rd);
  }
}

int fp_stream_densities(const fp_case *c, const fp_labels *l, const fp_run_options *run,
                        double **t, double **p, size_t *T, fp_error *err)
{
  if (!c || !l || !t || !p || !T) return fp_fail(err, FP_ERR_ARG, "fp_stream_densities: NULL argument");
  *t = NULL, *p = NULL, *T = 0;
  if (l->features != FP_FEATURES_DENSITY) { /* pde; particles: the PDE gives pe and KL */
    fp_density_series s = {0};
    fp_run_options ro = {0};
    if (run) ro = *run;
    int rc = fp_density_series_collect(c, &ro, &s, err);
    if (rc != FP_OK) return rc;
    /* hand the two arrays over and release the rest */
    *t = s.t, *p = s.p, *T = s.T;
    s.t = NULL, s.p = NULL;
    fp_density_series_clear(&s);
    return FP_OK;
  }
  size_t n = c->grid.ncells, m = c->n_output_times;
  *t = malloc(m * sizeof **t);
  *p = malloc(m * n * sizeof **p);
  if (!*t || !*p) {
    free(*t), free(*p), *t = NULL, *p = NULL;
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu densities", m);
  }
  memcpy(*t, c->output_times, m * sizeof **t);
  int rc = fp_labels_density_series(l, &c->grid, *t, m, *p, err);
  if (rc != FP_OK) {
    free(*t), free(*p), *t = NULL, *p = NULL;
    return rc;
  }
  *T = m;
  return FP_OK;
}

int fp_stream_sampled_pe(const fp_labels *l, const fp_stream_data *D, uint64_t seed, size_t stream,
                         double *pe, fp_error *err)
{
  if (!l || !D || !D->grid || !D->t || !D->p || !pe || D->T < 1)
    return fp_fail(err, FP_ERR_ARG, "fp_stream_sampled_pe: bad argument");
  const size_t T = D->T, N = l->batch, n = D->grid->ncells;
  const int dim = D->grid->dim;
  seed_work w = {0};
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  w.X = malloc(T * N * (size_t)dim * sizeof *w.X);
  w.Y = malloc(T * N * sizeof *w.Y);
  w.fit = malloc(T * sizeof *w.fit);
  w.fitted = calloc(T, 1);
  w.cdf = malloc(T * n * sizeof *w.cdf);
  int rc = FP_OK;
  if (!rng || !w.X || !w.Y || !w.fit || !w.fitted || !w.cdf) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for a sampled performance matrix");
    goto done;
  }
  for (size_t d = 0; d < T; d++) fp_grid_cumulative_mass(D->grid, D->p + d * n, w.cdf + d * n);
  /* held-out batches for j <= i, where the day's batch may be training data:
   * an independent stream (the test split of Regol et al.'s datasets) */
  seed_work test = {.cdf = w.cdf};
  test.X = malloc(T * N * (size_t)dim * sizeof *test.X);
  test.Y = malloc(T * N * sizeof *test.Y);
  if (!test.X || !test.Y) {
    free(test.X), free(test.Y);
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for a sampled performance matrix");
    goto done;
  }
  draw_batches(l, D, NULL, &test, rng, seed ^ 0x5DEECE66DULL, stream);
  draw_batches(l, D, NULL, &w, rng, seed, stream);
  for (size_t i = 0; i < T && rc == FP_OK; i++) rc = window_fit(l, D, &w, i, err);
  for (size_t i = 0; i < T && rc == FP_OK; i++)
    for (size_t j = 0; j < T && rc == FP_OK; j++) {
      const seed_work *b = j > i ? &w : &test;
      rc = fp_logistic_log_loss(&w.fit[i], b->X + j * N * (size_t)dim, b->Y + j * N, NULL, N,
                                &pe[i * T + j], err);
    }
  free(test.X), free(test.Y);
done:
  gsl_rng_free(rng);
  free(w.X), free(w.Y), free(w.fit), free(w.fitted), free(w.cdf);
  return rc;
}

typedef struct panel_ctx {
  double *panel;
  size_t T, N;
  int dim;
  bool killed;
} panel_ctx;

static int keep_panel(const fp_particle_snapshot *snap, void *ctx)
{
  panel_ctx *pc = ctx;
  if (snap->alive != pc->N) {
    pc->killed = true;
    return 1;
  }
  memcpy(pc->panel + (snap->replica * pc->T + snap->output) * pc->N * (size_t)pc->dim, snap->x,
         pc->N * (size_t)pc->dim * sizeof *snap->x);
  return 0;
}

int fp_stream_particles(const fp_case *c, const fp_labels *l, size_t seeds, uint64_t seed,
                        double **panel, fp_error *err)
{
  if (!c || !l || !panel || seeds == 0) return fp_fail(err, FP_ERR_ARG, "fp_stream_particles: bad argument");
  const size_t T = c->n_output_times, N = l->batch;
  const int dim = c->grid.dim;
  *panel = malloc(seeds * T * N * (size_t)dim * sizeof **panel);
  if (!*panel) return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu x %zu x %zu particles", seeds, T, N);
  fp_particle_options po = {.particles = N, .replicas = seeds, .seed = seed, .dt = c->sample_dt, .threads = 0};
  fp_particles *pp = NULL;
  panel_ctx pc = {*panel, T, N, dim, false};
  int rc = fp_particles_create(c, &po, &pp, err);
  if (rc == FP_OK) rc = fp_particles_run(pp, keep_panel, &pc, err);
  fp_particles_destroy(&pp);
  if (pc.killed)
    rc = fp_fail(err, FP_ERR_UNSUPPORTED, "features = particles: particles were killed at an "
                 "absorbing wall, so a batch would shrink; use features = pde");
  if (rc != FP_OK) free(*panel), *panel = NULL;
  return rc;
}
