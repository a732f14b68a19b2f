/* fpentropy benchmark: particle steps per second and estimator time against N.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   build/tools/bench_sampling [--quick] [CASE_DIR]
 *
 * Part 1: `fpentropy sample` throughput (particle steps per second) on
 * ou1d_moving_mean (time-dependent fields) and ou2d_rotating, with 1 and 2
 * threads.  Part 2: the time of one KL estimate for every estimator at
 * N = 1e3 .. 1e6 in 1, 2 and 3 dimensions (Gaussian samples), and the
 * fitted exponent of time against N (kNN should grow like N log N, an
 * exponent just above 1).  Prints a table and writes
 * tools/results/bench_sampling.csv (relative to the working directory). */
#define _POSIX_C_SOURCE 200809L
#include <fpentropy/fpentropy.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double log_q_std_normal(const double x[FP_MAX_DIM], void *ctx)
{
  int dim = *(const int *)ctx;
  double s = 0.0;
  for (int k = 0; k < dim; k++) s += x[k] * x[k];
  return -0.5 * s - 0.5 * dim * log(2.0 * M_PI);
}

static int bench_particles(const char *case_dir, FILE *csv, bool quick)
{
  const char *cases[] = {"ou1d_moving_mean", "ou2d_rotating"};
  printf("%-18s %8s %8s %12s %14s\n", "case", "threads", "N", "seconds", "steps/s");
  for (int ci = 0; ci < 2; ci++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.ini", case_dir, cases[ci]);
    const char *ov[] = {"time.outputs=5"};
    fp_case *c = NULL;
    fp_error err;
    if (fp_case_load(path, ov, 1, &c, &err) != FP_OK) {
      fprintf(stderr, "%s\n", err.message);
      return 1;
    }
    for (int threads = 1; threads <= 2; threads++) {
      fp_particle_options opt = {.particles = quick ? 20000 : 100000, .replicas = 1, .seed = 1, .threads = threads};
      fp_particles *p = NULL;
      double t0 = now();
      int rc = fp_particles_create(c, &opt, &p, &err);
      if (rc == FP_OK) rc = fp_particles_run(p, NULL, NULL, &err);
      double dt = now() - t0;
      if (rc != FP_OK) {
        fprintf(stderr, "%s\n", err.message);
        fp_particles_destroy(&p);
        fp_case_destroy(&c);
        return 1;
      }
      double rate = (double)fp_particles_steps(p) / dt;
      printf("%-18s %8d %8zu %12.3f %14.3e\n", cases[ci], threads, opt.particles, dt, rate);
      fprintf(csv, "particles,%s,%d,%zu,%.6f,%.6e\n", cases[ci], threads, opt.particles, dt, rate);
      fp_particles_destroy(&p);
    }
    fp_case_destroy(&c);
  }
  return 0;
}

static int bench_estimators(FILE *csv, bool quick)
{
  const char *specs[] = {"knn", "wkv", "hist", "kde", "gauss"};
  const size_t sizes[] = {1000, 10000, 100000, 1000000};
  const size_t nsizes = quick ? 3 : 4;
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  double *x = malloc(sizes[3] * 3 * sizeof *x), *y = malloc(sizes[3] * 3 * sizeof *y);
  if (!rng || !x || !y) return 1;
  printf("\n%-6s %4s %10s %12s   (seconds per estimate; exponent = d log t / d log N)\n", "est", "dim", "N", "seconds");
  for (size_t e = 0; e < sizeof specs / sizeof specs[0]; e++)
    for (int dim = 1; dim <= 3; dim++) {
      fp_estimator *est = NULL;
      fp_error err;
      if (fp_estimator_create(specs[e], &est, &err) != FP_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
      }
      double lx[4], ly[4];
      for (size_t s = 0; s < nsizes; s++) {
        size_t n = sizes[s];
        for (size_t i = 0; i < n * (size_t)dim; i++) {
          x[i] = 0.5 + 1.2 * gsl_ran_gaussian_ziggurat(rng, 1.0);
          y[i] = gsl_ran_gaussian_ziggurat(rng, 1.0);
        }
        fp_samples p = {dim, n, x};
        fp_kl_reference ref = {.log_q = log_q_std_normal, .ctx = &dim, .sample = {dim, n, y}, .has_moments = true};
        for (int k = 0; k < 3; k++) {
          ref.lower[k] = -12.0, ref.upper[k] = 12.0;
          ref.cov[k][k] = 1.0;
        }
        double kl, t0 = now();
        int reps = 0;
        do {
          if (fp_estimator_kl(est, &p, &ref, &kl, &err) != FP_OK) {
            fprintf(stderr, "%s %dD N=%zu: %s\n", specs[e], dim, n, err.message);
            return 1;
          }
          reps++;
        } while (now() - t0 < 0.2 && reps < 50);
        double t = (now() - t0) / reps;
        lx[s] = log((double)n), ly[s] = log(t);
        printf("%-6s %4d %10zu %12.4e\n", specs[e], dim, n, t);
        fprintf(csv, "estimator,%s,%d,%zu,%.6e,\n", specs[e], dim, n, t);
      }
      /* the exponent between the two largest sizes */
      double slope = (ly[nsizes - 1] - ly[nsizes - 2]) / (lx[nsizes - 1] - lx[nsizes - 2]);
      printf("%-6s %4d   exponent %.3f\n", specs[e], dim, slope);
      fprintf(csv, "exponent,%s,%d,,%.4f,\n", specs[e], dim, slope);
      fp_estimator_destroy(&est);
    }
  free(x);
  free(y);
  gsl_rng_free(rng);
  return 0;
}

int main(int argc, char **argv)
{
  bool quick = false;
  const char *case_dir = "cases";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      quick = true;
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: bench_sampling [--quick] [CASE_DIR (default: cases)]\n");
      return 0;
    } else
      case_dir = argv[i];
  }
  gsl_set_error_handler_off();
  FILE *csv = fopen("tools/results/bench_sampling.csv", "w");
  if (!csv) {
    perror("tools/results/bench_sampling.csv (run from the repository root)");
    return 1;
  }
  fprintf(csv, "kind,name,dim_or_threads,N,seconds_or_exponent,steps_per_second\n");
  int rc = bench_particles(case_dir, csv, quick);
  if (rc == 0) rc = bench_estimators(csv, quick);
  fclose(csv);
  return rc;
}
