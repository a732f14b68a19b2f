/* fpentropy benchmark: memory bandwidth (STREAM-like triad) and the cost of
 * one operator application L p against the bandwidth bound.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   build/tools/bench_kernels [CASE_FILE] [--sizes 64,128,256,512]
 *
 * Bandwidth: best of 20 runs of a[i] = b[i] + s c[i] over 3 arrays of 2^23
 * doubles (64 MiB each, far beyond the caches), counting 24 bytes per index
 * as STREAM does.  Operator: ou2d_rotating (or CASE_FILE) at each size, the
 * structured-grid stencil (fp_operator_apply) and the general path with index
 * arrays (fp_operator_apply_general), best of repeated timings.  The stencil
 * reads p and 2 dim coefficient arrays and writes dp: (2 + 2 dim) 8 bytes a
 * cell; the bound is that traffic at the triad bandwidth.  Prints a table
 * and writes tools/results/bench_kernels.csv (relative to the working
 * directory).  Timings on a shared machine are noisy: minima are kept. */
#define _POSIX_C_SOURCE 200809L
#include <fpentropy/fpentropy.h>

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

static double triad_bandwidth(void)
{
  const size_t n = (size_t)1 << 23;
  double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
  if (!a || !b || !c) return 0.0;
  for (size_t i = 0; i < n; i++) a[i] = 0.0, b[i] = 1.0, c[i] = 2.0;
  double best = 1e30;
  for (int r = 0; r < 20; r++) {
    double t0 = now();
    const double s = 0.5 + 1e-3 * r;
    for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
    double t = now() - t0;
    if (t < best) best = t;
  }
  volatile double sink = a[n / 2];
  (void)sink;
  free(a);
  free(b);
  free(c);
  return 24.0 * (double)n / best;
}

typedef void (*apply_fn)(fp_operator *, const double *, double *);

static double time_apply(fp_operator *op, apply_fn f, const double *p, double *out, size_t n)
{
  /* enough repeats for ~0.2 s per measurement */
  int reps = (int)(2e7 / (double)n) + 3;
  double best = 1e30;
  for (int block = 0; block < 5; block++) {
    double t0 = now();
    for (int r = 0; r < reps; r++) f(op, p, out);
    double t = (now() - t0) / reps;
    if (t < best) best = t;
  }
  return best;
}

int main(int argc, char **argv)
{
  const char *path = "cases/ou2d_rotating.ini";
  char sizes_text[256] = "64,128,256,512";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
      snprintf(sizes_text, sizeof sizes_text, "%s", argv[++i]);
    } else if (strcmp(argv[i], "--help") == 0) {
      printf("usage: bench_kernels [CASE_FILE] [--sizes 64,128,...]\n");
      return 0;
    } else {
      path = argv[i];
    }
  }
  double bw = triad_bandwidth();
  printf("triad bandwidth: %.2f GB/s (best of 20, 3 x 64 MiB arrays)\n", bw / 1e9);
  FILE *csv = fopen("tools/results/bench_kernels.csv", "w");
  if (csv)
    fprintf(csv, "case,cells,triad_GBps,stencil_s,general_s,stencil_bytes,bound_s,stencil_over_bound,"
                 "general_over_stencil\n");
  printf("%-8s %10s %12s %12s %12s %10s %10s\n", "n", "cells", "stencil_s", "general_s", "bound_s",
         "st/bound", "gen/st");
  char *save = NULL;
  for (char *tok = strtok_r(sizes_text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char set[64];
    snprintf(set, sizeof set, "domain.cells=%s", tok);
    const char *ov[] = {set};
    fp_case *c = NULL;
    fp_operator *op = NULL;
    fp_error err;
    fp_error_clear(&err);
    if (fp_case_load(path, ov, 1, &c, &err) != FP_OK || fp_operator_create(c, &op, &err) != FP_OK) {
      fprintf(stderr, "bench_kernels: %s\n", err.message);
      fp_case_destroy(&c);
      return 1;
    }
    size_t n = c->grid.ncells;
    double *p = malloc(n * sizeof *p), *out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++) p[i] = 1.0 + 1e-3 * (double)(i % 97);
    double ts = time_apply(op, fp_operator_apply, p, out, n);
    double tg = time_apply(op, fp_operator_apply_general, p, out, n);
    double bytes = (2.0 + 2.0 * c->grid.dim) * 8.0 * (double)n;
    double bound = bytes / bw;
    printf("%-8s %10zu %12.3e %12.3e %12.3e %10.2f %10.2f\n", tok, n, ts, tg, bound, ts / bound,
           tg / ts);
    if (csv)
      fprintf(csv, "%s,%zu,%.3f,%.4e,%.4e,%.0f,%.4e,%.3f,%.3f\n", c->name, n, bw / 1e9, ts, tg,
              bytes, bound, ts / bound, tg / ts);
    free(p);
    free(out);
    fp_operator_destroy(&op);
    fp_case_destroy(&c);
  }
  if (csv) fclose(csv);
  return 0;
}
