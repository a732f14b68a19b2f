/* fpentropy: particle streams (see particles.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _POSIX_C_SOURCE 200809L
#include <fpentropy/problem/density.h>
#include <fpentropy/problem/fields.h>
#include <fpentropy/streams/particles.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error_impl.h"
#include "core/spd_impl.h"
#include "core/gsl_guard_impl.h"
#include "streams/sampling_impl.h"

/* Per cell of the table: the drift a (dim values), then the lower triangle
 * of chol(D) row by row (dim (dim + 1) / 2 values). */
#define TABLE_STRIDE (FP_MAX_DIM + FP_MAX_DIM * (FP_MAX_DIM + 1) / 2)

struct fp_particles {
  double t_end;
  size_t ntimes;
  double *times;     /* owned copy of the output times */
  fp_grid grid;
  fp_fields *fields;
  bool time_dependent;
  fp_particle_options opt;
  int threads;
  double dt;
  double *table;      /* ncells * TABLE_STRIDE */
  double *cdf;        /* cumulative initial cell masses, ncells */
  size_t nblocks;
  gsl_rng **rng;      /* one per block */
  double *x;          /* particles * dim */
  unsigned char *alive;
  double *packed;     /* living particles, for the callback */
  uint64_t steps;
  fp_error table_error;
};

static uint64_t splitmix64(uint64_t z)
{
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void fp_particles_destroy(fp_particles **pp)
{
  if (!pp || !*pp) return;
  fp_particles *p = *pp;
  fp_fields_destroy(&p->fields);
  free(p->times);
  if (p->rng)
    for (size_t b = 0; b < p->nblocks; b++)
      if (p->rng[b]) gsl_rng_free(p->rng[b]);
  free(p->rng);
  free(p->table);
  free(p->cdf);
  free(p->x);
  free(p->alive);
  free(p->packed);
  free(p);
  *pp = NULL;
}

/* a and chol(D) at every cell centre at time t. */
static int tabulate(fp_particles *p, double t, fp_error *err)
{
  const fp_grid *g = &p->grid;
  const int dim = g->dim;
  for (size_t i = 0; i < g->ncells; i++) {
    double x[FP_MAX_DIM];
    fp_grid_cell_center(g, i, x);
    fp_field_values fv;
    fp_fields_eval(p->fields, x, t, &fv);
    double *row = p->table + i * TABLE_STRIDE;
    for (int k = 0; k < dim; k++) {
      if (!isfinite(fv.a[k])) {
        char where[128];
        fp_format_point(where, sizeof where, dim, x);
        return fp_fail(err, FP_ERR_NUMERIC, "the drift is not finite at %s, t = %g", where, t);
      }
      row[k] = fv.a[k];
    }
    /* Packed lower triangle of the Cholesky factor of D (noise sqrt(2 dt) L xi). */
    double *L = row + dim;
    fp_spd f;
    if (!fp_spd_factor(dim, (const double(*)[FP_SPD_MAX])fv.D, &f)) {
      char where[128];
      fp_format_point(where, sizeof where, dim, x);
      return fp_fail(err, FP_ERR_NUMERIC, "D is not positive definite at %s, t = %g", where, t);
    }
    size_t q = 0;
    for (int a = 0; a < dim; a++)
      for (int b = 0; b <= a; b++) L[q++] = f.L[a][b];
  }
  return FP_OK;
}

/* Apply the boundary of each axis; returns false if the particle is killed. */
static bool apply_boundaries(const fp_grid *g, double *x)
{
  for (int k = 0; k < g->dim; k++) {
    double lo = g->lower[k], hi = g->upper[k], len = hi - lo;
    switch (g->bc[k]) {
    case FP_BC_PERIODIC:
      if (x[k] < lo || x[k] >= hi) {
        x[k] = lo + fmod(x[k] - lo, len);
        if (x[k] < lo) x[k] += len;
        if (x[k] >= hi) x[k] = lo; /* fmod round-off at the seam */
      }
      break;
    case FP_BC_ABSORBING:
      if (x[k] <= lo || x[k] >= hi) return false;
      break;
    default:
      /* Reflection; a step longer than the box (never with sane dt) folds
       * repeatedly. */
      while (x[k] < lo || x[k] > hi) x[k] = x[k] < lo ? 2.0 * lo - x[k] : 2.0 * hi - x[k];
      break;
    }
  }
  return true;
}

static double default_dt(const fp_particles *p, const double *p0)
{
  /* Row sums of |da_i/dx_j| by differences between neighbouring table
   * entries: their mean under the initial density sets the accuracy
   * (dt = 0.01 / mean), their maximum where the initial density exceeds
   * 1e-6 of its peak bounds the step for stability (dt <= 0.5 / max).  A
   * steep drift in tails no particle visits (a double well's outer walls)
   * thus no longer forces a tiny step on every particle. */
  const fp_grid *g = &p->grid;
  const int dim = g->dim;
  double pmax = 0.0, lambda_max = 0.0, weighted = 0.0, mass = 0.0;
  for (size_t i = 0; i < g->ncells; i++) pmax = fmax(pmax, p0[i]);
  for (size_t i = 0; i < g->ncells; i++) {
    size_t idx[FP_MAX_DIM];
    fp_grid_unindex(g, i, idx);
    double rows[FP_MAX_DIM] = {0, 0, 0};
    for (int j = 0; j < dim; j++) {
      if (idx[j] + 1 >= g->n[j]) continue;
      const double *a0 = p->table + i * TABLE_STRIDE, *a1 = p->table + (i + g->stride[j]) * TABLE_STRIDE;
      for (int k = 0; k < dim; k++) rows[k] += fabs(a1[k] - a0[k]) / g->h[j];
    }
    double lambda = 0.0;
    for (int k = 0; k < dim; k++) lambda = fmax(lambda, rows[k]);
    weighted += p0[i] * lambda;
    mass += p0[i];
    if (p0[i] >= 1e-6 * pmax) lambda_max = fmax(lambda_max, lambda);
  }
  double dt = p->t_end / 1000.0;
  if (mass > 0.0 && weighted > 0.0) dt = fmin(dt, 0.01 * mass / weighted);
  if (lambda_max > 0.0) dt = fmin(dt, 0.5 / lambda_max);
  return dt;
}

static int particles_create_unguarded(const fp_particle_problem *pb, const fp_particle_options *opt,
                                      fp_particles **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_particles_create: out is NULL");
  *out = NULL;
  if (!pb || !opt || !pb->initial || !pb->times || pb->ntimes == 0)
    return fp_fail(err, FP_ERR_ARG, "fp_particles_create: NULL argument or no output times");
  for (size_t k = 0; k < pb->ntimes; k++)
    if (!(isfinite(pb->times[k]) && pb->times[k] >= 0.0 && (k == 0 || pb->times[k] > pb->times[k - 1])))
      return fp_fail(err, FP_ERR_ARG, "fp_particles_create: output times must be finite, >= 0 and "
                     "increasing (time %zu is %g)", k, pb->times[k]);
  const double t_end = pb->times[pb->ntimes - 1];
  if (opt->particles == 0 || opt->replicas == 0)
    return fp_fail(err, FP_ERR_ARG, "need at least one particle and one replica");
  if (!(opt->dt >= 0.0) || !isfinite(opt->dt))
    return fp_fail(err, FP_ERR_ARG, "dt must be finite and >= 0 (0: automatic), got %g", opt->dt);
  /* A step count that does not fit (dt = 1e-300) was undefined behaviour in
   * the float -> size_t conversion; one longer than the run (dt = 1e300)
   * silently became one step per output interval. */
  if (opt->dt > 0.0 && opt->dt > t_end)
    return fp_fail(err, FP_ERR_ARG, "dt = %g is longer than the whole run (end = %g)", opt->dt,
                   t_end);
  if (opt->dt > 0.0 && t_end / opt->dt > FP_PARTICLES_MAX_STEPS)
    return fp_fail(err, FP_ERR_ARG, "dt = %g needs %.3g steps to reach t = %g; the limit is %.0e",
                   opt->dt, t_end / opt->dt, t_end, (double)FP_PARTICLES_MAX_STEPS);
  if (opt->particles > FP_PARTICLES_MAX || opt->replicas > FP_PARTICLES_MAX_REPLICAS)
    return fp_fail(err, FP_ERR_ARG, "at most %.0e particles and %.0e replicas (got %zu and %zu)",
                   (double)FP_PARTICLES_MAX, (double)FP_PARTICLES_MAX_REPLICAS, opt->particles,
                   opt->replicas);
  fp_particles *p = calloc(1, sizeof *p);
  if (!p) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the particles");
  p->grid = pb->grid;
  p->t_end = t_end;
  p->ntimes = pb->ntimes;
  p->times = malloc(pb->ntimes * sizeof *p->times);
  if (!p->times) {
    free(p);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for the particles");
  }
  memcpy(p->times, pb->times, pb->ntimes * sizeof *p->times);
  p->opt = *opt;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  p->threads = opt->threads > 0 ? opt->threads : (cores > 0 ? (int)cores : 1);
  const fp_grid *g = &p->grid;
  size_t n = opt->particles;
  int rc = fp_grid_init(&p->grid, err);
  if (rc == FP_OK) rc = fp_fields_create_spec(&pb->fields, &p->fields, err);
  if (rc != FP_OK) goto fail;
  p->time_dependent = fp_fields_time_dependent(p->fields);
  p->nblocks = (n + FP_PARTICLE_BLOCK - 1) / FP_PARTICLE_BLOCK;
  p->table = malloc(g->ncells * TABLE_STRIDE * sizeof *p->table);
  p->cdf = malloc(g->ncells * sizeof *p->cdf);
  p->rng = calloc(p->nblocks, sizeof *p->rng);
  p->x = malloc(n * (size_t)g->dim * sizeof *p->x);
  p->alive = malloc(n);
  p->packed = malloc(n * (size_t)g->dim * sizeof *p->packed);
  if (!p->table || !p->cdf || !p->rng || !p->x || !p->alive || !p->packed) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu particles", n);
    goto fail;
  }
  for (size_t b = 0; b < p->nblocks; b++) {
    p->rng[b] = gsl_rng_alloc(gsl_rng_mt19937);
    if (!p->rng[b]) {
      rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for random number generators");
      goto fail;
    }
  }
  rc = fp_density_sample(g, pb->initial, 0.0, "the initial density", false, p->cdf, NULL, err);
  if (rc != FP_OK) goto fail;
  rc = tabulate(p, 0.0, err);
  if (rc != FP_OK) goto fail;
  p->dt = opt->dt > 0.0 ? opt->dt : default_dt(p, p->cdf);
  fp_grid_cumulative_mass(g, p->cdf, p->cdf);
  *out = p;
  return FP_OK;
fail:
  fp_particles_destroy(&p);
  return rc;
}

double fp_particles_dt(const fp_particles *p) { return p->dt; }
uint64_t fp_particles_steps(const fp_particles *p) { return p->steps; }

/* Work shared by the threads of one output interval. */
typedef struct interval_work {
  fp_particles *p;
  double t0, t1;
  size_t nsteps;
  int nthreads;              /* threads that take part (known once all started) */
  pthread_mutex_t lock;
  pthread_cond_t go;
  bool started;              /* set when nthreads is final and the barrier is ready */
  pthread_barrier_t barrier;
  int status;
} interval_work;

typedef struct thread_arg {
  interval_work *w;
  int id;
} thread_arg;

static void step_block(fp_particles *p, size_t b, double t, double dt)
{
  const fp_grid *g = &p->grid;
  const int dim = g->dim;
  size_t first = b * FP_PARTICLE_BLOCK;
  size_t last = first + FP_PARTICLE_BLOCK < p->opt.particles ? first + FP_PARTICLE_BLOCK : p->opt.particles;
  gsl_rng *rng = p->rng[b];
  const double noise = sqrt(2.0 * dt);
  (void)t;
  for (size_t i = first; i < last; i++) {
    if (!p->alive[i]) continue;
    double *x = p->x + i * (size_t)dim;
    double f[TABLE_STRIDE];
    fp_grid_interpolate(g, p->table, TABLE_STRIDE, (size_t)(dim + dim * (dim + 1) / 2), x, f);
    const double *L = f + dim;
    double z[FP_MAX_DIM];
    for (int k = 0; k < dim; k++) z[k] = gsl_ran_gaussian_ziggurat(rng, 1.0);
    for (int k = 0; k < dim; k++) {
      double Lz = 0.0;
      for (int m = 0; m <= k; m++) Lz += L[k * (k + 1) / 2 + m] * z[m];
      x[k] += f[k] * dt + noise * Lz;
    }
    if (!apply_boundaries(g, x)) p->alive[i] = 0;
  }
}

static void *interval_thread(void *arg)
{
  thread_arg *ta = arg;
  interval_work *w = ta->w;
  fp_particles *p = w->p;
  /* Wait until every thread has been created: only then is the number of
   * participants (the block stride and the barrier count) known. */
  pthread_mutex_lock(&w->lock);
  while (!w->started) pthread_cond_wait(&w->go, &w->lock);
  pthread_mutex_unlock(&w->lock);
  if (ta->id >= w->nthreads) return NULL;
  double h = (w->t1 - w->t0) / (double)w->nsteps;
  for (size_t s = 0; s < w->nsteps; s++) {
    double t = w->t0 + (double)s * h;
    if (p->time_dependent) {
      /* The fields are evaluated by one thread (expressions are not
       * thread-safe); the others wait for the new table. */
      if (ta->id == 0 && tabulate(p, t, &p->table_error) != FP_OK) w->status = FP_ERR_NUMERIC;
      pthread_barrier_wait(&w->barrier);
      if (w->status != FP_OK) return NULL;
    }
    for (size_t b = (size_t)ta->id; b < p->nblocks; b += (size_t)w->nthreads) step_block(p, b, t, h);
    if (p->time_dependent) pthread_barrier_wait(&w->barrier);
  }
  return NULL;
}

#define MAX_THREADS 64

static int advance(fp_particles *p, double t0, double t1, fp_error *err)
{
  if (t1 <= t0) return FP_OK;
  interval_work w = {.p = p, .t0 = t0, .t1 = t1, .status = FP_OK};
  double steps = ceil((t1 - t0) / p->dt * (1.0 - 1e-12));
  if (!(steps <= FP_PARTICLES_MAX_STEPS))
    return fp_fail(err, FP_ERR_ARG, "dt = %g needs %.3g steps from t = %g to %g; the limit is %.0e",
                   p->dt, steps, t0, t1, (double)FP_PARTICLES_MAX_STEPS);
  w.nsteps = (size_t)steps;
  if (w.nsteps == 0) w.nsteps = 1;
  int wanted = p->threads < MAX_THREADS ? p->threads : MAX_THREADS;
  if ((size_t)wanted > p->nblocks) wanted = (int)p->nblocks;
  pthread_mutex_init(&w.lock, NULL);
  pthread_cond_init(&w.go, NULL);
  pthread_t tid[MAX_THREADS];
  thread_arg args[MAX_THREADS];
  int created = 1; /* the calling thread is participant 0 */
  for (int k = 1; k < wanted; k++) {
    args[k] = (thread_arg){&w, k};
    if (pthread_create(&tid[k], NULL, interval_thread, &args[k]) != 0) break;
    created++;
  }
  /* Fewer threads than wanted is not an error: the blocks are shared by
   * those that exist. */
  w.nthreads = created;
  pthread_barrier_init(&w.barrier, NULL, (unsigned)created);
  pthread_mutex_lock(&w.lock);
  w.started = true;
  pthread_cond_broadcast(&w.go);
  pthread_mutex_unlock(&w.lock);
  args[0] = (thread_arg){&w, 0};
  interval_thread(&args[0]);
  for (int k = 1; k < created; k++) pthread_join(tid[k], NULL);
  pthread_barrier_destroy(&w.barrier);
  pthread_cond_destroy(&w.go);
  pthread_mutex_destroy(&w.lock);
  if (w.status != FP_OK) return fp_fail(err, w.status, "%s", p->table_error.message);
  p->steps += (uint64_t)w.nsteps * p->opt.particles;
  return FP_OK;
}

static void initialise(fp_particles *p, size_t replica)
{
  const fp_grid *g = &p->grid;
  const int dim = g->dim;
  for (size_t b = 0; b < p->nblocks; b++)
    gsl_rng_set(p->rng[b], (unsigned long)splitmix64(p->opt.seed ^ splitmix64(replica * 0x100000001ULL + b)));
  for (size_t i = 0; i < p->opt.particles; i++) {
    fp_grid_draw_point(g, p->cdf, p->rng[i / FP_PARTICLE_BLOCK], p->x + i * (size_t)dim);
    p->alive[i] = 1;
  }
}

static int report(fp_particles *p, size_t replica, size_t k, fp_particle_output_fn on_output,
                  void *ctx, fp_error *err)
{
  const int dim = p->grid.dim;
  size_t alive = 0;
  for (size_t i = 0; i < p->opt.particles; i++)
    if (p->alive[i]) {
      memcpy(p->packed + alive * (size_t)dim, p->x + i * (size_t)dim, (size_t)dim * sizeof *p->x);
      alive++;
    }
  fp_particle_snapshot s = {replica, k, p->times[k], dim, alive, p->packed};
  if (on_output && on_output(&s, ctx) != 0)
    return fp_fail(err, FP_ERR_INTERRUPTED, "stopped by the output callback at t = %g", s.t);
  return FP_OK;
}

static int particles_run_unguarded(fp_particles *p, fp_particle_output_fn on_output, void *ctx, fp_error *err)
{
  for (size_t r = 0; r < p->opt.replicas; r++) {
    initialise(p, r);
    double t = 0.0;
    int rc = FP_OK;
    if (p->time_dependent) rc = tabulate(p, 0.0, err);
    for (size_t k = 0; rc == FP_OK && k < p->ntimes; k++) {
      rc = advance(p, t, p->times[k], err);
      t = p->times[k];
      if (rc == FP_OK) rc = report(p, r, k, on_output, ctx, err);
    }
    if (rc != FP_OK) return rc;
  }
  return FP_OK;
}

/* Public entry points: GSL's handler off for the call (core/gsl_guard_impl.h). */

int fp_particles_create_on(const fp_particle_problem *pb, const fp_particle_options *opt,
                           fp_particles **out, fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = particles_create_unguarded(pb, opt, out, err);
  fp_gsl_guard_end(guard);
  return rc;
}

int fp_particles_create(const fp_case *c, const fp_particle_options *opt, fp_particles **out,
                        fp_error *err)
{
  if (!c) {
    if (out) *out = NULL;
    return fp_fail(err, FP_ERR_ARG, "fp_particles_create: NULL argument");
  }
  fp_particle_problem pb = {.grid = c->grid, .initial = c->initial, .times = c->output_times,
                            .ntimes = c->n_output_times};
  fp_case_field_spec(c, &pb.fields);
  return fp_particles_create_on(&pb, opt, out, err);
}

int fp_particles_run(fp_particles *p, fp_particle_output_fn on_output, void *ctx, fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = particles_run_unguarded(p, on_output, ctx, err);
  fp_gsl_guard_end(guard);
  return rc;
}
