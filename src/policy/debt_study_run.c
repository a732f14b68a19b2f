/* fpentropy: the learning-debt study driver: blocks and cells, threads,
 * per-cell checkpoints, cell summaries, cells.csv, wins.csv, summary.txt and
 * the single-path trace (debt_study.h, docs/cli.md "debt-study").
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/policy/debt_study.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_version.h>

#include <fpentropy/core/version.h>
#include <fpentropy/io/output.h>

#include "core/error_impl.h"

/* Generator block ids (part of every row's seed hash). */
enum { RB_MAIN, RB_CADENCE, RB_ROB_A, RB_ROB_B, RB_ROB_C, RB_LAG, RB_PILOT, RB_PILOT_POOLED,
       RB_COUNT };
static const char *const block_names[] = {"main", "cadence", "robustness_A", "robustness_B",
                                          "robustness_C", "lag"};

static const double P_MAIN[] = {0.02, 0.05, 0.10, 0.20};
static const double K_MAIN[] = {0.1, 0.25, 0.5, 1, 2, 4};
static const double P_ROB[] = {0.05, 0.10};
static const double K_ROB[] = {0.5, 1, 2};
static const fp_debt_family FAM_MAIN[] = {FP_DEBT_NONE, FP_DEBT_ABRUPT, FP_DEBT_VARIANCE,
                                          FP_DEBT_GRADUAL};
static const fp_debt_family FAM_ROB[] = {FP_DEBT_ABRUPT, FP_DEBT_GRADUAL, FP_DEBT_VARIANCE};

#define POL(id) (1u << (id))
#define MAIN_POLICIES                                                                     \
  (POL(FP_DEBT_POL_DEBT) | POL(FP_DEBT_POL_PROXY) | POL(FP_DEBT_POL_CALENDAR) |          \
   POL(FP_DEBT_POL_CUSUM) | POL(FP_DEBT_POL_ALARM))
#define CADENCE_POLICIES                                                                  \
  (POL(FP_DEBT_POL_DEBT) | POL(FP_DEBT_POL_CALENDAR5) | POL(FP_DEBT_POL_CALENDAR) |      \
   POL(FP_DEBT_POL_CALENDAR20) | POL(FP_DEBT_POL_CALENDAR40))

typedef struct cell {
  int block;              /* RB_MAIN .. RB_LAG */
  unsigned index;         /* cell number within the block (seed hash) */
  fp_debt_family family;
  double p, kappa;
  size_t reps;
  fp_debt_row_settings settings;
  fp_debt_rep *results;   /* reps */
  bool resumed;
} cell;

/* The emissions of a design: per family (pilots) and pooled. */
typedef struct emissions_set {
  fp_debt_emissions family[FP_DEBT_FAMILY_COUNT];
  fp_debt_emissions pooled;
} emissions_set;

static int calibrate_all(uint64_t seed, emissions_set *es, fp_error *err)
{
  es->family[FP_DEBT_NONE] = (fp_debt_emissions){.mu0 = 0.5, .sigma0 = 0.5, .mu1 = 0.5,
                                                 .sigma1 = 0.5};
  for (int f = FP_DEBT_ABRUPT; f < FP_DEBT_FAMILY_COUNT; f++) {
    fp_debt_family fam = (fp_debt_family)f;
    int rc = fp_debt_pilot_emissions(seed, RB_PILOT, &fam, 1, 100, &es->family[f], err);
    if (rc != FP_OK) return fp_fail_context(err, rc, "pilot emissions of %s", fp_debt_family_name(fam));
  }
  return fp_debt_pilot_emissions(seed, RB_PILOT_POOLED, FAM_ROB, 3, 50, &es->pooled, err);
}

static fp_debt_row_settings row_settings(int block, fp_debt_family f, double p, double kappa,
                                         const emissions_set *es)
{
  fp_debt_row_settings s = {.kappa = kappa};
  s.hazard = f == FP_DEBT_NONE ? 0.0 : p;
  if (block == RB_ROB_C) s.hazard = 0.05;
  s.p10 = f == FP_DEBT_GRADUAL ? 0.02 : 0.0;
  s.em = block == RB_ROB_B ? es->pooled : es->family[f];
  s.lag = block == RB_LAG;
  s.policies = block == RB_CADENCE ? CADENCE_POLICIES : MAIN_POLICIES;
  return s;
}

/* The cells of the chosen blocks, in output order. */
static int make_cells(const fp_debt_study_options *opt, const emissions_set *es, cell **out,
                      size_t *ncells, fp_error *err)
{
  size_t cap = 2 * 96 + 4 * 18, n = 0;
  cell *cells = calloc(cap, sizeof *cells);
  if (!cells) return fp_fail(err, FP_ERR_NOMEM, "debt study: out of memory");
  for (int b = RB_MAIN; b <= RB_LAG; b++) {
    bool wide = b == RB_MAIN || b == RB_CADENCE;
    unsigned mask = wide ? (b == RB_MAIN ? FP_DEBT_BLOCK_MAIN : FP_DEBT_BLOCK_CADENCE)
                         : (b == RB_LAG ? FP_DEBT_BLOCK_LAG : FP_DEBT_BLOCK_ROBUSTNESS);
    if (!(opt->blocks & mask)) continue;
    const fp_debt_family *fams = wide ? FAM_MAIN : FAM_ROB;
    size_t nf = wide ? 4 : 3, np = wide ? 4 : 2, nk = wide ? 6 : 3;
    unsigned index = 0;
    for (size_t fi = 0; fi < nf; fi++)
      for (size_t pi = 0; pi < np; pi++)
        for (size_t ki = 0; ki < nk; ki++) {
          cell *c = &cells[n++];
          c->block = b;
          c->index = index++;
          c->family = fams[fi];
          c->p = wide ? P_MAIN[pi] : P_ROB[pi];
          c->kappa = wide ? K_MAIN[ki] : K_ROB[ki];
          c->reps = (b >= RB_ROB_A && b <= RB_ROB_C) ? (opt->reps * 5 + 1) / 3 : opt->reps;
          c->settings = row_settings(b, c->family, c->p, c->kappa, es);
        }
  }
  *out = cells;
  *ncells = n;
  return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* Checkpoints                                                              */
/* ------------------------------------------------------------------------ */

#define REP_VALUES (6 * FP_DEBT_POL_COUNT + 2)

static void rep_pack(const fp_debt_rep *r, double *v)
{
  size_t k = 0;
  for (int id = 0; id < FP_DEBT_POL_COUNT; id++) {
    v[k++] = r->loss[id];
    v[k++] = r->retrains[id];
    v[k++] = r->unnecessary[id];
    v[k++] = r->stale_waits[id];
    v[k++] = r->delay[id];
    v[k++] = r->bss[id];
  }
  v[k++] = r->spearman_g;
  v[k++] = r->spearman_d;
}

static void rep_unpack(const double *v, fp_debt_rep *r)
{
  size_t k = 0;
  for (int id = 0; id < FP_DEBT_POL_COUNT; id++) {
    r->loss[id] = v[k++];
    r->retrains[id] = v[k++];
    r->unnecessary[id] = v[k++];
    r->stale_waits[id] = v[k++];
    r->delay[id] = v[k++];
    r->bss[id] = v[k++];
  }
  r->spearman_g = v[k++];
  r->spearman_d = v[k++];
}

static void checkpoint_name(const cell *c, char *buf, size_t size)
{
  snprintf(buf, size, "checkpoints/%s_%s_p%g_k%g.txt", block_names[c->block],
           fp_debt_family_name(c->family), c->p, c->kappa);
}

static void checkpoint_header(const cell *c, uint64_t seed, char *buf, size_t size)
{
  snprintf(buf, size, "# fpentropy debt-study cell seed=%llu reps=%zu block=%s family=%s p=%.17g "
           "kappa=%.17g\n", (unsigned long long)seed, c->reps, block_names[c->block],
           fp_debt_family_name(c->family), c->p, c->kappa);
}

/* Load a finished cell; false if absent or from other settings. */
static bool checkpoint_load(const char *dir, cell *c, uint64_t seed)
{
  char name[256], header[512], line[8192];
  checkpoint_name(c, name, sizeof name);
  char *path = NULL;
  if (fp_output_join(dir, name, &path, NULL) != FP_OK) return false;
  FILE *f = fopen(path, "r");
  free(path);
  if (!f) return false;
  checkpoint_header(c, seed, header, sizeof header);
  bool ok = fgets(line, sizeof line, f) && strcmp(line, header) == 0;
  for (size_t i = 0; ok && i < c->reps; i++) {
    if (!fgets(line, sizeof line, f)) {
      ok = false;
      break;
    }
    double v[REP_VALUES];
    char *p = line, *end;
    for (int k = 0; k < REP_VALUES && ok; k++) {
      v[k] = strtod(p, &end);
      if (end == p) ok = false;
      p = end;
    }
    if (ok) rep_unpack(v, &c->results[i]);
  }
  if (ok && fgets(line, sizeof line, f) && strcmp(line, "# end\n") != 0) ok = false;
  fclose(f);
  return ok;
}

static int checkpoint_save(const char *dir, const cell *c, uint64_t seed, fp_error *err)
{
  char name[256], header[512];
  checkpoint_name(c, name, sizeof name);
  checkpoint_header(c, seed, header, sizeof header);
  fp_output_file *f = NULL;
  int rc = fp_output_file_open_in(dir, name, NULL, NULL, 0, &f, err);
  if (rc != FP_OK) return rc;
  FILE *fp = fp_output_file_stream(f);
  fputs(header, fp);
  for (size_t i = 0; i < c->reps; i++) {
    double v[REP_VALUES];
    rep_pack(&c->results[i], v);
    for (int k = 0; k < REP_VALUES; k++) fprintf(fp, k ? " %.17g" : "%.17g", v[k]);
    fputc('\n', fp);
  }
  fputs("# end\n", fp);
  return fp_output_file_commit(&f, err);
}

/* ------------------------------------------------------------------------ */
/* Running cells                                                            */
/* ------------------------------------------------------------------------ */

static int run_cell(cell *c, uint64_t seed, fp_debt_path *path, gsl_rng *r, fp_error *err)
{
  fp_debt_row_policies *pol = NULL;
  int rc = fp_debt_row_policies_create(&c->settings, &pol, err);
  if (rc != FP_OK) return rc;
  for (size_t i = 0; i < c->reps && rc == FP_OK; i++) {
    gsl_rng_set(r, (unsigned long)fp_debt_rng_seed(seed, (unsigned)c->block, c->index, (unsigned)i));
    fp_debt_path_generate(c->family, c->p, r, path);
    rc = fp_debt_run_path(path, &c->settings, pol, &c->results[i], NULL, err);
  }
  fp_debt_row_policies_destroy(&pol);
  if (rc != FP_OK)
    return fp_fail_context(err, rc, "cell %s %s p=%g kappa=%g", block_names[c->block],
                           fp_debt_family_name(c->family), c->p, c->kappa);
  return FP_OK;
}

typedef struct shared {
  const fp_debt_study_options *opt;
  const char *dir;
  cell *cells;
  size_t ncells, next, done, resumed;
  int rc;
  fp_error err;
  pthread_mutex_t lock;
} shared;

static void *worker(void *arg)
{
  shared *sh = arg;
  fp_debt_path *path = malloc(sizeof *path);
  gsl_rng *r = gsl_rng_alloc(fp_debt_rng_type);
  fp_error err;
  fp_error_clear(&err);
  for (;;) {
    pthread_mutex_lock(&sh->lock);
    bool stop = sh->rc != FP_OK || sh->next >= sh->ncells;
    if (!stop && sh->opt->interrupted && *sh->opt->interrupted) {
      sh->rc = fp_fail(&sh->err, FP_ERR_INTERRUPTED, "debt study interrupted after %zu of %zu "
                       "cells (the finished cells are kept in checkpoints/)", sh->done, sh->ncells);
      stop = true;
    }
    if (!stop && (!path || !r)) {
      sh->rc = fp_fail(&sh->err, FP_ERR_NOMEM, "debt study: out of memory");
      stop = true;
    }
    size_t i = sh->next++;
    pthread_mutex_unlock(&sh->lock);
    if (stop) break;
    cell *c = &sh->cells[i];
    int rc = FP_OK;
    if (checkpoint_load(sh->dir, c, sh->opt->seed)) c->resumed = true;
    else {
      rc = run_cell(c, sh->opt->seed, path, r, &err);
      if (rc == FP_OK) rc = checkpoint_save(sh->dir, c, sh->opt->seed, &err);
    }
    pthread_mutex_lock(&sh->lock);
    if (rc != FP_OK && sh->rc == FP_OK) {
      sh->rc = rc;
      sh->err = err;
    }
    if (rc == FP_OK) {
      sh->done++;
      if (c->resumed) sh->resumed++;
      if (sh->opt->progress) sh->opt->progress(sh->opt->progress_ctx, sh->done, sh->ncells, sh->resumed);
    }
    pthread_mutex_unlock(&sh->lock);
  }
  gsl_rng_free(r);
  free(path);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Summaries                                                                */
/* ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Type-7 quantile of sorted v[0..n-1]. */
static double quantile7(const double *v, size_t n, double q)
{
  if (n == 0) return NAN;
  double h = (double)(n - 1) * q;
  size_t lo = (size_t)floor(h);
  if (lo >= n - 1) return v[n - 1];
  return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

typedef struct stats {
  double mean, se;
  size_t n;
} stats;

/* Mean and s.e. (sd with n - 1 over sqrt n) of the finite values. */
static stats finite_stats(const double *v, size_t n)
{
  stats s = {NAN, NAN, 0};
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i])) sum += v[i], s.n++;
  if (s.n == 0) return s;
  s.mean = sum / (double)s.n;
  /* equal values: their value and s.e. 0 exactly (the no-shift calendar
   * loss is 20 c_churn in every replication) */
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i])) lo = fmin(lo, v[i]), hi = fmax(hi, v[i]);
  if (lo == hi) {
    s.mean = lo;
    s.se = s.n >= 2 ? 0.0 : NAN;
    return s;
  }
  if (s.n < 2) return s;
  double ss = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i])) ss += (v[i] - s.mean) * (v[i] - s.mean);
  s.se = sqrt(ss / (double)(s.n - 1)) / sqrt((double)s.n);
  return s;
}

static void put(FILE *f, double x)
{
  if (isfinite(x)) fprintf(f, ",%.17g", x);
  else fputs(",NA", f);
}

/* Per-replication values of field `which` for policy id (or the best cadence
 * when id < 0, using `best`). */
enum { F_LOSS, F_RETRAINS, F_UNNEC, F_STALE, F_DELAY, F_BSS };

static double field(const fp_debt_rep *r, int id, int which)
{
  switch (which) {
  case F_LOSS: return r->loss[id];
  case F_RETRAINS: return r->retrains[id];
  case F_UNNEC: return r->unnecessary[id];
  case F_STALE: return r->stale_waits[id];
  case F_DELAY: return r->delay[id];
  default: return r->bss[id];
  }
}

static double mean_of(const cell *c, int id, int which, double *buf)
{
  for (size_t i = 0; i < c->reps; i++) buf[i] = field(&c->results[i], id, which);
  return finite_stats(buf, c->reps).mean;
}

/* The cadence with the least mean loss (ties: the shorter). */
static int best_cadence(const cell *c, double *buf, int *cadence)
{
  static const int ids[] = {FP_DEBT_POL_CALENDAR5, FP_DEBT_POL_CALENDAR, FP_DEBT_POL_CALENDAR20,
                            FP_DEBT_POL_CALENDAR40};
  static const int cad[] = {5, 10, 20, 40};
  int best = 0;
  double bl = INFINITY;
  for (int j = 0; j < 4; j++) {
    double m = mean_of(c, ids[j], F_LOSS, buf);
    if (m < bl) bl = m, best = j;
  }
  *cadence = cad[best];
  return ids[best];
}

static void write_cell_rows(FILE *f, const cell *c, double *buf, double *ratios)
{
  static const int order_main[] = {FP_DEBT_POL_DEBT, FP_DEBT_POL_PROXY, FP_DEBT_POL_CALENDAR,
                                   FP_DEBT_POL_CUSUM, FP_DEBT_POL_ALARM};
  static const int order_cad[] = {FP_DEBT_POL_DEBT, FP_DEBT_POL_CALENDAR5, FP_DEBT_POL_CALENDAR,
                                  FP_DEBT_POL_CALENDAR20, FP_DEBT_POL_CALENDAR40, -1};
  bool cad = c->block == RB_CADENCE;
  const int *order = cad ? order_cad : order_main;
  size_t norder = cad ? 6 : 5;
  int cadence = 0;
  int best = cad ? best_cadence(c, buf, &cadence) : -1;
  double cal_mean = mean_of(c, FP_DEBT_POL_CALENDAR, F_LOSS, buf);
  double debt_mean = mean_of(c, FP_DEBT_POL_DEBT, F_LOSS, buf);
  for (size_t o = 0; o < norder; o++) {
    int id = order[o] >= 0 ? order[o] : best;
    const char *name = order[o] >= 0 ? fp_debt_policy_name(id) : "best_cadence";
    for (size_t i = 0; i < c->reps; i++) buf[i] = c->results[i].loss[id];
    stats loss = finite_stats(buf, c->reps);
    size_t nr = 0;
    for (size_t i = 0; i < c->reps; i++) {
      double lc = c->results[i].loss[FP_DEBT_POL_CALENDAR];
      if (lc > 0.0) ratios[nr++] = c->results[i].loss[id] / lc;
    }
    stats rs = finite_stats(ratios, nr);
    qsort(ratios, nr, sizeof *ratios, cmp_double);
    fprintf(f, "%s,%s,%g,%g,%s", block_names[c->block], fp_debt_family_name(c->family), c->p,
            c->kappa, name);
    put(f, loss.mean);
    put(f, loss.se);
    put(f, cal_mean > 0.0 ? loss.mean / cal_mean : NAN);
    put(f, rs.se);
    put(f, quantile7(ratios, nr, 0.025));
    put(f, quantile7(ratios, nr, 0.975));
    put(f, mean_of(c, id, F_RETRAINS, buf));
    put(f, mean_of(c, id, F_DELAY, buf));
    fprintf(f, ",%zu", loss.n);
    put(f, loss.mean > 0.0 ? debt_mean / loss.mean : NAN);
    put(f, (id == FP_DEBT_POL_DEBT || id == FP_DEBT_POL_PROXY) ? mean_of(c, id, F_BSS, buf) : NAN);
    put(f, mean_of(c, id, F_UNNEC, buf));
    put(f, mean_of(c, id, F_STALE, buf));
    double sg = NAN, sd = NAN;
    if (id == FP_DEBT_POL_DEBT) {
      for (size_t i = 0; i < c->reps; i++) buf[i] = c->results[i].spearman_g;
      sg = finite_stats(buf, c->reps).mean;
      for (size_t i = 0; i < c->reps; i++) buf[i] = c->results[i].spearman_d;
      sd = finite_stats(buf, c->reps).mean;
    }
    put(f, sg);
    put(f, sd);
    put(f, rs.mean);
    /* s.e. of the ratio of means mean(L)/mean(L_cal) by the delta method on
     * the paired replications: var = (var L - 2 R cov + R^2 var L_cal)/(n m_cal^2) */
    double se_rm = NAN;
    if (cal_mean > 0.0 && loss.n >= 2) {
      double R = loss.mean / cal_mean, acc = 0.0;
      for (size_t i = 0; i < c->reps; i++) {
        double u = c->results[i].loss[id] - loss.mean;
        double w = c->results[i].loss[FP_DEBT_POL_CALENDAR] - cal_mean;
        acc += (u - R * w) * (u - R * w);
      }
      double n = (double)c->reps;
      se_rm = sqrt(acc / (n - 1.0) / n) / cal_mean;
    }
    put(f, se_rm);
    if (order[o] < 0) fprintf(f, ",%d\n", cadence);
    else fputs(",NA\n", f);
  }
}

static int write_cells(const char *dir, const cell *cells, size_t ncells, size_t maxreps,
                       fp_error *err)
{
  fp_output_file *f = NULL;
  int rc = fp_output_file_open_in(dir, "cells.csv", NULL, NULL, 0, &f, err);
  if (rc != FP_OK) return rc;
  double *buf = malloc(maxreps * sizeof *buf), *ratios = malloc(maxreps * sizeof *ratios);
  if (!buf || !ratios) {
    free(buf);
    free(ratios);
    fp_output_file_abort(&f);
    return fp_fail(err, FP_ERR_NOMEM, "debt study: out of memory");
  }
  FILE *fp = fp_output_file_stream(f);
  fputs("block,family,p_shift,kappa,policy,mean_loss,se_loss,ratio_to_calendar,se_ratio,"
        "ratio_q025,ratio_q975,mean_retrains,mean_delay,n,debt_ratio,mean_bss,mean_unnecessary,"
        "mean_stale_waits,spearman_g,spearman_d,mean_ratio,se_ratio_of_means,cadence\n", fp);
  for (size_t i = 0; i < ncells; i++) write_cell_rows(fp, &cells[i], buf, ratios);
  free(buf);
  free(ratios);
  return fp_output_file_commit(&f, err);
}

static int write_wins(const char *dir, const cell *cells, size_t ncells, size_t maxreps,
                      fp_error *err)
{
  fp_output_file *f = NULL;
  int rc = fp_output_file_open_in(dir, "wins.csv", NULL, NULL, 0, &f, err);
  if (rc != FP_OK) return rc;
  double *buf = malloc(maxreps * sizeof *buf);
  if (!buf) {
    fp_output_file_abort(&f);
    return fp_fail(err, FP_ERR_NOMEM, "debt study: out of memory");
  }
  FILE *fp = fp_output_file_stream(f);
  fputs("block,family,comparison,wins,cells\n", fp);
  static const char *const cmp_main[] = {"calendar", "cusum", "alarm", "proxy"};
  static const int id_main[] = {FP_DEBT_POL_CALENDAR, FP_DEBT_POL_CUSUM, FP_DEBT_POL_ALARM,
                                FP_DEBT_POL_PROXY};
  for (int b = RB_MAIN; b <= RB_LAG; b++)
    for (int fam = 0; fam < FP_DEBT_FAMILY_COUNT; fam++) {
      size_t ncmp = b == RB_CADENCE ? 2 : 4;
      for (size_t k = 0; k < ncmp; k++) {
        size_t wins = 0, n = 0;
        for (size_t i = 0; i < ncells; i++) {
          const cell *c = &cells[i];
          if (c->block != b || (int)c->family != fam) continue;
          int other;
          int cadence;
          if (b == RB_CADENCE) other = k == 0 ? FP_DEBT_POL_CALENDAR : best_cadence(c, buf, &cadence);
          else other = id_main[k];
          double md = mean_of(c, FP_DEBT_POL_DEBT, F_LOSS, buf);
          double mo = mean_of(c, other, F_LOSS, buf);
          n++;
          wins += md < mo;
        }
        if (n == 0) continue;
        const char *name = b == RB_CADENCE ? (k == 0 ? "calendar" : "best_cadence") : cmp_main[k];
        fprintf(fp, "%s,%s,%s,%zu,%zu\n", block_names[b], fp_debt_family_name((fp_debt_family)fam),
                name, wins, n);
      }
    }
  free(buf);
  return fp_output_file_commit(&f, err);
}

static void write_emissions(FILE *fp, const char *name, const fp_debt_emissions *e)
{
  fprintf(fp, "  %-9s mu0 = %.6f  sigma0 = %.6f  mu1 = %.6f  sigma1 = %.6f  (n0 = %zu, n1 = %zu)\n",
          name, e->mu0, e->sigma0, e->mu1, e->sigma1, e->n0, e->n1);
}

static int write_summary(const char *dir, const fp_debt_study_options *opt, const emissions_set *es,
                         size_t ncells, size_t resumed, double wall, fp_error *err)
{
  fp_output_file *f = NULL;
  int rc = fp_output_file_open_in(dir, "summary.txt", NULL, NULL, 0, &f, err);
  if (rc != FP_OK) return rc;
  FILE *fp = fp_output_file_stream(f);
  fprintf(fp, "fpentropy debt-study (Katz 2026 Section 6; docs/learning-debt.md)\n");
  fprintf(fp, "version: %s, GSL %s\n", fp_version(), gsl_version);
  fprintf(fp, "seed: %llu\n", (unsigned long long)opt->seed);
  fprintf(fp, "reps: %zu (main, cadence, lag), %zu (robustness)\n", opt->reps, (opt->reps * 5 + 1) / 3);
  fprintf(fp, "blocks:%s%s%s%s\n", opt->blocks & FP_DEBT_BLOCK_MAIN ? " main" : "",
          opt->blocks & FP_DEBT_BLOCK_CADENCE ? " cadence" : "",
          opt->blocks & FP_DEBT_BLOCK_ROBUSTNESS ? " robustness(A,B,C)" : "",
          opt->blocks & FP_DEBT_BLOCK_LAG ? " lag" : "");
  fprintf(fp, "threads: %zu\n", opt->threads);
  fprintf(fp, "cells: %zu (%zu resumed from checkpoints)\n", ncells, resumed);
  fprintf(fp, "wall time: %.2f s\n", wall);
  fprintf(fp, "T = %d, burn-in %d, %d observations a period (%d update, %d holdout); prior "
          "NIG(0, 1, 2, 1)\n", FP_DEBT_T, FP_DEBT_BURNIN, FP_DEBT_NOBS, FP_DEBT_NUPDATE,
          FP_DEBT_NOBS - FP_DEBT_NUPDATE);
  fprintf(fp, "emissions of sqrt(KL) (pilots: 100 paths per family, 50 each pooled, p = 0.05, "
          "frozen prior deployment):\n");
  for (int fam = 0; fam < FP_DEBT_FAMILY_COUNT; fam++)
    write_emissions(fp, fp_debt_family_name((fp_debt_family)fam), &es->family[fam]);
  write_emissions(fp, "pooled", &es->pooled);
  return fp_output_file_commit(&f, err);
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int fp_debt_study_run(const fp_debt_study_options *opt, const char *dir, double *wall_s,
                      fp_error *err)
{
  if (!opt || !dir || !*dir) return fp_fail(err, FP_ERR_ARG, "fp_debt_study_run: NULL argument");
  if (opt->reps < 2 || opt->threads < 1 || !(opt->blocks & FP_DEBT_BLOCK_ALL))
    return fp_fail(err, FP_ERR_ARG, "debt study: need reps >= 2, threads >= 1 and a block "
                   "(reps = %zu, threads = %zu)", opt->reps, opt->threads);
  double t0 = now_s();
  int rc = fp_output_mkdir(dir, err);
  if (rc != FP_OK) return rc;
  char *cdir = NULL;
  rc = fp_output_join(dir, "checkpoints", &cdir, err);
  if (rc != FP_OK) return rc;
  rc = fp_output_mkdir(cdir, err);
  free(cdir);
  if (rc != FP_OK) return rc;
  emissions_set es;
  rc = calibrate_all(opt->seed, &es, err);
  if (rc != FP_OK) return rc;
  cell *cells = NULL;
  size_t ncells = 0;
  rc = make_cells(opt, &es, &cells, &ncells, err);
  if (rc != FP_OK) return rc;
  size_t maxreps = 0;
  for (size_t i = 0; i < ncells && rc == FP_OK; i++) {
    cells[i].results = malloc(cells[i].reps * sizeof *cells[i].results);
    if (!cells[i].results) rc = fp_fail(err, FP_ERR_NOMEM, "debt study: out of memory");
    if (cells[i].reps > maxreps) maxreps = cells[i].reps;
  }
  shared sh = {.opt = opt, .dir = dir, .cells = cells, .ncells = ncells, .rc = FP_OK};
  fp_error_clear(&sh.err);
  if (rc == FP_OK) {
    pthread_mutex_init(&sh.lock, NULL);
    size_t nt = opt->threads;
    pthread_t *th = malloc(nt * sizeof *th);
    size_t started = 0;
    if (th)
      for (; started < nt; started++)
        if (pthread_create(&th[started], NULL, worker, &sh) != 0) break;
    if (started == 0) worker(&sh); /* no thread could start: run here */
    for (size_t i = 0; i < started; i++) pthread_join(th[i], NULL);
    free(th);
    pthread_mutex_destroy(&sh.lock);
    rc = sh.rc;
    if (rc != FP_OK && err) *err = sh.err;
  }
  double wall = now_s() - t0;
  if (rc == FP_OK) rc = write_cells(dir, cells, ncells, maxreps, err);
  if (rc == FP_OK) rc = write_wins(dir, cells, ncells, maxreps, err);
  if (rc == FP_OK) rc = write_summary(dir, opt, &es, ncells, sh.resumed, wall, err);
  for (size_t i = 0; i < ncells; i++) free(cells[i].results);
  free(cells);
  if (wall_s) *wall_s = wall;
  return rc;
}

/* ------------------------------------------------------------------------ */
/* One path's trace                                                         */
/* ------------------------------------------------------------------------ */

int fp_debt_trace_write(uint64_t seed, fp_debt_family family, double p_shift, double kappa,
                        unsigned rep, const char *path, fp_error *err)
{
  if (!path || (unsigned)family >= FP_DEBT_FAMILY_COUNT)
    return fp_fail(err, FP_ERR_ARG, "fp_debt_trace_write: bad argument");
  int pi = -1, ki = -1;
  for (int i = 0; i < 4; i++) if (P_MAIN[i] == p_shift) pi = i;
  for (int i = 0; i < 6; i++) if (K_MAIN[i] == kappa) ki = i;
  if (pi < 0 || ki < 0)
    return fp_fail(err, FP_ERR_ARG, "trace: p = %g and kappa = %g must be main-grid values "
                   "(p in 0.02, 0.05, 0.1, 0.2; kappa in 0.1, 0.25, 0.5, 1, 2, 4)", p_shift, kappa);
  emissions_set es;
  int rc = calibrate_all(seed, &es, err);
  if (rc != FP_OK) return rc;
  unsigned index = (unsigned)(((int)family * 4 + pi) * 6 + ki);
  fp_debt_row_settings s = row_settings(RB_MAIN, family, p_shift, kappa, &es);
  fp_debt_path *dp = malloc(sizeof *dp);
  fp_debt_trace *tr = calloc(FP_DEBT_POL_COUNT, sizeof *tr);
  gsl_rng *r = gsl_rng_alloc(fp_debt_rng_type);
  fp_debt_row_policies *pol = NULL;
  fp_output_file *f = NULL;
  if (!dp || !tr || !r) {
    rc = fp_fail(err, FP_ERR_NOMEM, "trace: out of memory");
    goto done;
  }
  gsl_rng_set(r, (unsigned long)fp_debt_rng_seed(seed, RB_MAIN, index, rep));
  fp_debt_path_generate(family, p_shift, r, dp);
  rc = fp_debt_row_policies_create(&s, &pol, err);
  fp_debt_rep res;
  if (rc == FP_OK) rc = fp_debt_run_path(dp, &s, pol, &res, tr, err);
  if (rc == FP_OK) rc = fp_output_file_open(path, &f, err);
  if (rc != FP_OK) goto done;
  FILE *fp = fp_output_file_stream(f);
  fprintf(fp, "policy,t,onset,beta,Z,D,g,d,e,statistic,threshold,decision,executed,cumulative_loss\n");
  for (int id = 0; id < FP_DEBT_POL_COUNT; id++) {
    if (!(s.policies & (1u << id))) continue;
    for (size_t t = 1; t <= FP_DEBT_T; t++) {
      const fp_debt_trace *x = &tr[id];
      fprintf(fp, "%s,%zu,%zu,%.10g,%d,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%d,%d,%.10g\n",
              fp_debt_policy_name(id), t, dp->onset, dp->beta[t], x->Z[t], x->D[t], x->g[t],
              x->d[t], x->e[t], x->statistic[t], x->threshold[t], x->decision[t], x->executed[t],
              x->cumulative_loss[t]);
    }
  }
  rc = fp_output_file_commit(&f, err);
done:
  fp_debt_row_policies_destroy(&pol);
  gsl_rng_free(r);
  free(tr);
  free(dp);
  return rc;
}
