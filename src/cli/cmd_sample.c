/* fpentropy CLI: sample (particle streams written to a file).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The file formats and their writer are the library's (io/samples.h). */
#include "cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sample_progress {
  fp_samples_writer *writer;
  fp_error *err;
  bool progress;
  size_t replicas, outputs;
  volatile sig_atomic_t *interrupted;
} sample_progress;

static int write_snapshot(const fp_particle_snapshot *s, void *ctx)
{
  sample_progress *w = ctx;
  if (fp_samples_writer_append(w->writer, s, w->err) != FP_OK) return 1;
  if (w->progress) {
    fprintf(stderr, "\rsample: replica %zu/%zu, output %zu/%zu (t = %g)   ", s->replica + 1, w->replicas,
            s->output + 1, w->outputs, s->t);
    fflush(stderr);
  }
  return *w->interrupted ? 1 : 0;
}

/* Particle options: the case's [sample] section, then the command line;
 * false after printing an error. */
static bool particle_options(const cli_args *a, const fp_case *c, fp_particle_options *opt)
{
  memset(opt, 0, sizeof *opt);
  opt->particles = c->sample_particles;
  opt->replicas = c->sample_replicas;
  opt->seed = c->sample_seed;
  opt->dt = c->sample_dt;
  size_t value;
  if (a->particles && !cli_parse_size("particles", a->particles, &opt->particles)) return false;
  if (a->replicas && !cli_parse_size("replicas", a->replicas, &opt->replicas)) return false;
  if (a->seed) {
    if (!cli_parse_size("seed", a->seed, &value)) return false;
    opt->seed = (uint64_t)value;
  }
  if (a->dt && !cli_parse_double("dt", a->dt, &opt->dt)) return false;
  if (a->threads) {
    if (!cli_parse_size("threads", a->threads, &value)) return false;
    opt->threads = (int)value;
  }
  return true;
}

int cli_sample(const cli_args *a)
{
  bool csv = false;
  if (a->format) {
    if (strcmp(a->format, "csv") == 0)
      csv = true;
    else if (strcmp(a->format, "bin") != 0) {
      fprintf(stderr, "fpentropy: --format: expected bin or csv, got '%s'\n", a->format);
      return EXIT_USAGE;
    }
  }
  fp_case *c = NULL;
  int rc = cli_load_case(a, &c);
  if (rc != FP_OK) return cli_exit_code(rc);
  fp_particle_options opt;
  if (!particle_options(a, c, &opt)) {
    fp_case_destroy(&c);
    return EXIT_USAGE;
  }
  const char *dir = a->output_dir ? a->output_dir : c->output_dir;
  fp_error err;
  fp_error_clear(&err);
  fp_particles *p = NULL;
  fp_samples_writer *writer = NULL;
  fp_output_dir *od = NULL; /* locked for the whole command, with a manifest */
  char *path = NULL;
  rc = fp_particles_create(c, &opt, &p, &err);
  if (rc == FP_OK) rc = fp_output_dir_open(dir, &od, &err);
  if (rc == FP_OK) rc = fp_output_dir_path(od, csv ? "samples.csv" : "samples.bin", &path, &err);
  if (rc == FP_OK)
    rc = fp_samples_writer_open(path, csv ? FP_SAMPLES_CSV : FP_SAMPLES_BIN, c->grid.dim, opt.replicas,
                                c->n_output_times, opt.particles, &writer, &err);
  if (rc == FP_OK) {
    fp_error werr;
    fp_error_clear(&werr);
    sample_progress w = {writer, &werr, a->progress, opt.replicas, c->n_output_times, &cli_interrupted};
    rc = fp_particles_run(p, write_snapshot, &w, &err);
    if (werr.code != FP_OK) {
      err = werr;
      rc = werr.code;
    }
    if (a->progress) fputc('\n', stderr);
  }
  if (rc == FP_OK) {
    rc = fp_samples_writer_commit(&writer, &err);
  } else {
    fp_samples_writer_abort(&writer);
  }
  int drc = fp_output_dir_close(&od, rc == FP_OK ? &err : NULL);
  if (rc == FP_OK) rc = drc;
  if (rc != FP_OK) {
    fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, err.message);
  } else if (!a->quiet) {
    printf("%s: %zu replicas x %zu particles, dt = %.3g, %llu particle steps -> %s\n", c->name,
           opt.replicas, opt.particles, fp_particles_dt(p),
           (unsigned long long)fp_particles_steps(p), path);
  }
  free(path);
  fp_particles_destroy(&p);
  fp_case_destroy(&c);
  return cli_exit_code(rc);
}

#define MAX_LIST 64

/* Split whitespace-separated specs in place. */
static size_t split_specs(char *text, const char **out, size_t max)
{
  size_t n = 0;
  for (char *save = NULL, *tok = strtok_r(text, " \t", &save); tok && n < max;
       tok = strtok_r(NULL, " \t", &save))
    out[n++] = tok;
  return n;
}

int cli_compare(const cli_args *a)
{
  fp_case *c = NULL;
  int rc = cli_load_case(a, &c);
  if (rc != FP_OK) return cli_exit_code(rc);
  size_t sizes[MAX_LIST], nsizes = c->n_sample_sizes < MAX_LIST ? c->n_sample_sizes : MAX_LIST;
  memcpy(sizes, c->sample_sizes, nsizes * sizeof *sizes);
  fp_compare_options opt = {.replicas = c->sample_replicas, .seed = c->sample_seed, .dt = c->sample_dt};
  size_t value;
  bool ok = true;
  if (a->particles) ok = cli_parse_size_list("particles", a->particles, sizes, MAX_LIST, &nsizes);
  if (ok && a->replicas) ok = cli_parse_size("replicas", a->replicas, &opt.replicas);
  if (ok && a->seed) ok = cli_parse_size("seed", a->seed, &value), opt.seed = value;
  if (ok && a->dt) ok = cli_parse_double("dt", a->dt, &opt.dt);
  if (ok && a->threads) ok = cli_parse_size("threads", a->threads, &value), opt.threads = (int)value;
  char *spec_text = malloc(strlen(a->estimators ? a->estimators : c->estimators) + 1);
  const char *specs[MAX_LIST];
  if (ok && spec_text) {
    strcpy(spec_text, a->estimators ? a->estimators : c->estimators);
    opt.nestimators = split_specs(spec_text, specs, MAX_LIST);
  }
  opt.sizes = sizes;
  opt.nsizes = nsizes;
  opt.estimators = specs;
  if (!ok || !spec_text) {
    if (ok) fprintf(stderr, "fpentropy: %s: out of memory for the estimator list\n", a->case_path);
    free(spec_text);
    fp_case_destroy(&c);
    return ok ? EXIT_FAILED : EXIT_USAGE;
  }
  const char *dir = a->output_dir ? a->output_dir : c->output_dir;
  fp_error err;
  fp_error_clear(&err);
  fp_run_options ro = {.output_dir = dir, .progress = a->progress ? stderr : NULL,
                       .interrupted = &cli_interrupted, .write_files = true};
  /* The library takes the directory once every estimator has been tried
   * (a usage error removes nothing) and holds it until the last table: the
   * PDE run writes into it, the tables are listed in its manifest, and a
   * failure after the run is written into summary.txt before it is released. */
  rc = fp_compare_case(c, &opt, &ro, dir, a->quiet ? NULL : stdout, &err);
  if (rc != FP_OK)
    fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, err.message);
  else if (!a->quiet)
    printf("compare.csv, compare_rate.csv, compare_summary.csv in %s/\n", dir);
  free(spec_text);
  fp_case_destroy(&c);
  return cli_exit_code(rc);
}
