/* fpentropy CLI: policy (retraining policies on exact PDE divergences).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SPECS 256

/* Policy specs: the --policy options, else the case's [policy] policies
 * (whitespace-separated; `storage` receives a copy that the specs point into). */
static size_t collect_specs(const cli_args *a, const fp_case *c, const char **specs, char **storage)
{
  *storage = NULL;
  if (a->n_policies > 0) {
    for (size_t i = 0; i < a->n_policies; i++) specs[i] = a->policies[i];
    return a->n_policies;
  }
  *storage = malloc(strlen(c->policies) + 1);
  if (!*storage) return 0;
  strcpy(*storage, c->policies);
  size_t n = 0;
  for (char *save = NULL, *tok = strtok_r(*storage, " \t", &save); tok && n < MAX_SPECS;
       tok = strtok_r(NULL, " \t", &save))
    specs[n++] = tok;
  return n;
}

/* Run the PDE once, writing into the held directory `od`, and form the
 * mismatch matrix K. */
static int exact_series(const cli_args *a, fp_output_dir *od, const fp_case *c,
                        fp_density_series *series, double **K, fp_error *err)
{
  fp_run_options ro = {.output_dir = fp_output_dir_name(od), .progress = a->progress ? stderr : NULL,
                       .interrupted = &cli_interrupted, .write_files = true, .held_dir = od};
  *K = NULL;
  int rc = fp_density_series_collect(c, &ro, series, err);
  if (rc == FP_OK) {
    *K = malloc(series->T * series->T * sizeof **K);
    if (!*K) rc = FP_ERR_NOMEM, snprintf(err->message, sizeof err->message, "out of memory");
  }
  if (rc == FP_OK) rc = fp_mismatch_matrix(&c->grid, series, *K, err);
  return rc;
}

/* Sampled options from the case's [sample] section and the command line. */
static bool sampled_options(const cli_args *a, const fp_case *c, fp_policy_sampled_options *so)
{
  *so = (fp_policy_sampled_options){.particles = c->sample_particles, .replicas = c->sample_replicas,
                                    .seed = c->sample_seed, .dt = c->sample_dt, .estimator = "wkv",
                                    .interrupted = &cli_interrupted};
  size_t value;
  bool ok = !a->particles || cli_parse_size("particles", a->particles, &so->particles);
  if (ok && a->replicas) ok = cli_parse_size("replicas", a->replicas, &so->replicas);
  if (ok && a->seed) ok = cli_parse_size("seed", a->seed, &value), so->seed = value;
  if (ok && a->dt) ok = cli_parse_double("dt", a->dt, &so->dt);
  if (ok && a->estimators) so->estimator = a->estimators;
  return ok;
}

int cli_calibrate(const cli_args *a)
{
  fp_case *c = NULL;
  int rc = cli_load_case(a, &c);
  if (rc != FP_OK) return cli_exit_code(rc);
  fp_policy_sampled_options so;
  if (!sampled_options(a, c, &so)) {
    fp_case_destroy(&c);
    return EXIT_USAGE;
  }
  const char *dir = a->output_dir ? a->output_dir : c->output_dir;
  fp_error err;
  fp_error_clear(&err);
  fp_density_series series = {0};
  double *K = NULL;
  fp_debt_emissions em;
  char *path = NULL;
  /* Held from before the PDE run to after debt_calibration.txt. */
  fp_output_dir *od = NULL;
  rc = fp_output_dir_open(dir, &od, &err);
  if (rc == FP_OK) rc = exact_series(a, od, c, &series, &K, &err);
  if (rc == FP_OK)
    rc = fp_debt_calibrate_case(c, &series, K, a->particles ? &so : NULL, c->stale_threshold, &em, &err);
  if (rc == FP_OK) rc = fp_output_dir_path(od, "debt_calibration.txt", &path, &err);
  if (rc == FP_OK) {
    char comment[512];
    snprintf(comment, sizeof comment,
             "debt-filter emissions calibrated on %s under a frozen deployment; signal: %s; stale: exact kl > %g",
             c->path, a->particles ? "sample estimates" : "exact kl", c->stale_threshold);
    rc = fp_debt_emissions_write(path, &em, comment, &err);
  }
  rc = cli_close_output_dir(&od, rc, &err);
  if (rc != FP_OK)
    fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, err.message);
  else if (!a->quiet)
    printf("emissions: mu0 %.4g sigma0 %.4g (n %zu), mu1 %.4g sigma1 %.4g (n %zu)\n"
           "written to %s; use it as --policy debt:kappa=1,calibration=%s\n",
           em.mu0, em.sigma0, em.n0, em.mu1, em.sigma1, em.n1, path, path);
  free(path);
  free(K);
  fp_density_series_clear(&series);
  fp_case_destroy(&c);
  return cli_exit_code(rc);
}

int cli_policy(const cli_args *a)
{
  if ((a->objective && strcmp(a->objective, "kl") != 0) || a->alpha_sweep) return cli_policy_loss(a);
  fp_case *c = NULL;
  int rc = cli_load_case(a, &c);
  if (rc != FP_OK) return cli_exit_code(rc);
  fp_policy_study_options opt = {.cost = c->retrain_cost, .kappa = c->kappa,
                                 .stale_threshold = c->stale_threshold, .pareto_points = 25};
  if (a->cost && (!cli_parse_double("cost", a->cost, &opt.cost) || opt.cost < 0)) {
    if (opt.cost < 0) fprintf(stderr, "fpentropy: --cost: the retrain cost must be >= 0, got '%s'\n", a->cost);
    fp_case_destroy(&c);
    return EXIT_USAGE;
  }
  const char *specs[MAX_SPECS];
  char *storage = NULL;
  size_t nspecs = collect_specs(a, c, specs, &storage);
  fp_error err;
  fp_error_clear(&err);
  /* Check every spec before the PDE runs, and keep its canonical form: it
   * holds everything read from files (a debt calibration), so the study
   * needs none of them once the output directory - which may hold them,
   * from a calibrate run - is cleaned for this run. */
  fp_policy *checked[MAX_SPECS] = {NULL};
  for (size_t i = 0; i < nspecs && rc == FP_OK; i++) {
    rc = fp_policy_create(specs[i], &checked[i], &err);
    if (rc == FP_OK) specs[i] = fp_policy_spec(checked[i]);
  }
  if (rc != FP_OK) fprintf(stderr, "fpentropy: %s: policy: %s\n", a->case_path, err.message);
  fp_policy_sampled_options so_check;
  if (rc != FP_OK || (a->particles && !sampled_options(a, c, &so_check))) { /* before the PDE runs */
    for (size_t i = 0; i < nspecs; i++) fp_policy_destroy(&checked[i]);
    free(storage);
    fp_case_destroy(&c);
    return EXIT_USAGE;
  }
  const char *dir = a->output_dir ? a->output_dir : c->output_dir;
  fp_density_series series = {0};
  double *K = NULL;
  fp_policy_study *st = NULL;
  fp_policy_sampled_result *sr = NULL;
  FILE *report = a->quiet ? NULL : stdout;
  /* The directory is held from before the PDE run to the last table: no
   * other run writes into it meanwhile, and its manifest lists every table. */
  fp_output_dir *od = NULL;
  rc = fp_output_dir_open(dir, &od, &err);
  if (rc == FP_OK) rc = exact_series(a, od, c, &series, &K, &err);
  if (rc == FP_OK) rc = fp_policy_study_exact_run(&series, K, specs, nspecs, &opt, &st, &err);
  if (rc == FP_OK) rc = fp_policy_study_write_dir(st, &series, K, od, &err);
  if (rc == FP_OK && report) rc = fp_policy_study_print(st, report, &err);
  if (rc == FP_OK && a->particles) {
    /* the same policies driven by sample estimates */
    fp_policy_sampled_options so;
    if (!sampled_options(a, c, &so)) rc = FP_ERR_ARG, snprintf(err.message, sizeof err.message, "bad particle option");
    if (rc == FP_OK)
      rc = fp_policy_study_sampled_run(c, &series, K, specs, nspecs, &opt, &so, &sr, &err);
    if (rc == FP_OK) rc = fp_policy_sampled_write_dir(sr, od, &err);
    if (rc == FP_OK && report) rc = fp_policy_sampled_print(sr, report, &err);
  }
  rc = cli_close_output_dir(&od, rc, &err);
  if (rc != FP_OK)
    fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, rc == FP_ERR_NOMEM && !err.message[0] ? "out of memory" : err.message);
  else if (!a->quiet)
    printf("per-policy series, oracle.csv, policy_summary.csv, pareto.csv, kl_matrix.csv in %s/\n", dir);
  fp_policy_sampled_destroy(&sr);
  fp_policy_study_destroy(&st);
  free(K);
  fp_density_series_clear(&series);
  for (size_t i = 0; i < nspecs; i++) fp_policy_destroy(&checked[i]);
  free(storage);
  fp_case_destroy(&c);
  return cli_exit_code(rc);
}
