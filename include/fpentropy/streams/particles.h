/* fpentropy: particle streams, the SDE of a case simulated by Euler-Maruyama.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains fp_particles: R independent replicas of N particles
 * following dX = a(X,t) dt + B dW (B = sqrt(2) chol(D), so B B^T / 2 = D),
 * with the case's boundaries (reflection at reflecting walls, wrap-around on
 * periodic axes, killing at absorbing walls), reported at the case's output
 * times.
 *
 * Fields.  a and chol(D) are tabulated at the PDE's cell centres (re-tabulated
 * at every step when they depend on t) and interpolated multilinearly, so the
 * particles see the same fields the PDE discretises, with an O(h^2)
 * interpolation error (exact for the linear drifts of the OU cases inside the
 * outermost cell centres; constant extrapolation beyond them).
 *
 * Time step.  Euler-Maruyama has weak order 1: expectations carry an O(dt)
 * bias.  The default dt is min(t_end / 1000, 0.01 / lambda_mean,
 * 0.5 / lambda_max): lambda is the largest row sum of |da_i/dx_j| in a
 * cell, lambda_mean its mean under the initial density (accuracy),
 * lambda_max its maximum over the cells where the initial density exceeds
 * 1e-6 of its peak (stability); outputs are hit exactly.
 *
 * Initial positions: a cell drawn with probability p_i |V| from the PDE's
 * normalised initial grid density, then a uniform position in that cell
 * (the particles start from the same density as the PDE).
 *
 * Randomness: GSL's MT19937, one stream per (replica, block of
 * FP_PARTICLE_BLOCK particles) seeded from (seed, replica, block) by a
 * SplitMix64 hash, so results do not depend on the number of threads.
 */
#ifndef FPENTROPY_PARTICLES_H
#define FPENTROPY_PARTICLES_H

#include <fpentropy/export.h>

#include <stddef.h>
#include <stdint.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/problem/fields.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FP_PARTICLE_BLOCK 1024

/* Bounds checked by fp_particles_create (FP_ERR_ARG above them): Euler
 * steps to reach the end time, particles per replica, replicas. */
#define FP_PARTICLES_MAX_STEPS 1e9
#define FP_PARTICLES_MAX 1000000000u
#define FP_PARTICLES_MAX_REPLICAS 1000000u

typedef struct fp_particle_options {
  size_t particles;  /* N per replica */
  size_t replicas;   /* R */
  uint64_t seed;
  double dt;         /* 0: the default rule above */
  int threads;       /* 0: one per online core */
} fp_particle_options;

/* Positions of the living particles of one replica at one output time:
 * particle i at x[i * dim + k]; `alive` of the `particles` started. */
typedef struct fp_particle_snapshot {
  size_t replica;
  size_t output;     /* index into the case's output times */
  double t;
  int dim;
  size_t alive;
  const double *x;
} fp_particle_snapshot;

/* Called once per replica and output time, in replica order then time
 * order, from the calling thread.  A non-zero return stops the simulation
 * with FP_ERR_INTERRUPTED. */
typedef int (*fp_particle_output_fn)(const fp_particle_snapshot *s, void *ctx);

typedef struct fp_particles fp_particles; /* opaque */

/* What the particles need of a problem: the grid (box, boundaries; the
 * fields are tabulated at its cell centres), the fields, the initial density
 * and the output times (strictly increasing, >= 0; the last is the end). */
typedef struct fp_particle_problem {
  fp_grid grid;
  fp_field_spec fields; /* expressions borrowed for the object's lifetime */
  fp_expr *initial;     /* borrowed likewise */
  const double *times;  /* copied */
  size_t ntimes;
} fp_particle_problem;

/* Prepare the simulation of problem `pb`.
 * Errors: FP_ERR_ARG (NULL, no or unordered output times, zero particles or
 * replicas, a bad dt), FP_ERR_NUMERIC (a field is not finite or D not
 * positive definite somewhere on the grid), FP_ERR_NOMEM.
 * Ownership: fp_particles_destroy(). */
FP_API int fp_particles_create_on(const fp_particle_problem *pb, const fp_particle_options *opt,
                                  fp_particles **out, fp_error *err);

/* The same for case `c` (its grid, fields, initial density and output
 * times; c must outlive the object). */
FP_API int fp_particles_create(const fp_case *c, const fp_particle_options *opt, fp_particles **out,
                               fp_error *err);

/* Release the object; NULL and *p == NULL are no-ops; sets *p to NULL. */
FP_API void fp_particles_destroy(fp_particles **p);

/* Simulate every replica to every output time of the case. */
FP_API int fp_particles_run(fp_particles *p, fp_particle_output_fn on_output, void *ctx, fp_error *err);

/* The time step in use, and the number of particle steps taken so far. */
FP_API double fp_particles_dt(const fp_particles *p);
FP_API uint64_t fp_particles_steps(const fp_particles *p);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_PARTICLES_H */
