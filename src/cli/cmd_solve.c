/* fpentropy CLI: run, check and verify (the PDE commands).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static fp_run_options run_options(const cli_args *a)
{
  fp_run_options opt = {.output_dir = a->output_dir,
                        .progress = a->progress ? stderr : NULL,
                        .interrupted = &cli_interrupted,
                        .write_files = true};
  return opt;
}

/* run, check and verify take only the common options: a particle or policy
 * option would be accepted by the parser and then silently do nothing, so
 * it is rejected here with a message. */
static bool only_common_options(const cli_args *a)
{
  const struct {
    const char *name;
    bool given;
  } unused[] = {{"particles", a->particles}, {"replicas", a->replicas}, {"seed", a->seed},
                {"dt", a->dt},               {"threads", a->threads},   {"format", a->format},
                {"estimators", a->estimators}, {"cost", a->cost},       {"policy", a->n_policies > 0}};
  for (size_t k = 0; k < sizeof unused / sizeof unused[0]; k++)
    if (unused[k].given) {
      fprintf(stderr, "fpentropy %s: option --%s is not used by this command (see fpentropy --help)\n",
              a->command, unused[k].name);
      return false;
    }
  return true;
}

int cli_check(const cli_args *a)
{
  if (!only_common_options(a)) return EXIT_USAGE;
  fp_case *c = NULL;
  int rc = cli_load_case(a, &c);
  if (rc != FP_OK) return cli_exit_code(rc);
  fp_error err;
  fp_error_clear(&err);
  /* Building the operator checks the coefficients on the grid (D > 0,
   * finite drift) and sampling checks the densities, still without time
   * stepping. */
  fp_operator *op = NULL;
  /* The coefficients first, so that a bad D or a NaN drift is named as such
   * rather than as the operator's symptom. */
  rc = fp_case_check_diffusion(c, &err);
  if (rc == FP_OK) rc = fp_case_check_fields(c, &err);
  if (rc == FP_OK) rc = fp_operator_create(c, &op, &err);
  if (rc == FP_OK) rc = fp_run_check_case(c, op, &err); /* the same operator: built once */
  /* A labelled case: its [labels] and [model] values as `stream` reads them. */
  for (size_t i = 0; rc == FP_OK && i < c->n_entries; i++)
    if (strcmp(c->entries[i].section, "labels") == 0 || strcmp(c->entries[i].section, "model") == 0) {
      fp_labels *l = NULL;
      rc = fp_labels_load(c, &l, &err);
      fp_labels_destroy(&l);
      break;
    }
  if (rc != FP_OK) {
    fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, err.message);
  } else if (!a->quiet) {
    fp_case_print(c, stdout);
    printf("# check: OK (%zu cells, %s fluxes%s)\n", c->grid.ncells,
           fp_operator_full_tensor(op) ? "full-tensor (Selling edges, two-point)" : "two-point",
           fp_operator_time_dependent(op) ? ", time-dependent fields" : "");
  }
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
  /* Out of memory or a failed write is not the case's fault. */
  if (rc == FP_ERR_NOMEM || rc == FP_ERR_IO || rc == FP_ERR_INTERRUPTED) return cli_exit_code(rc);
  return rc == FP_OK ? EXIT_OK : EXIT_USAGE;
}

int cli_verify(const cli_args *a)
{
  if (!only_common_options(a)) return EXIT_USAGE;
  fp_case *c = NULL;
  int rc = cli_load_case(a, &c);
  if (rc != FP_OK) return cli_exit_code(rc);
  fp_run_options opt = run_options(a);
  fp_verify_summary summary;
  fp_error err;
  fp_error_clear(&err);
  rc = fp_verify_case(c, &opt, stdout, &summary, &err);
  if (rc != FP_OK) fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, err.message);
  fp_case_destroy(&c);
  if (rc != FP_OK) return cli_exit_code(rc);
  return summary.failed ? EXIT_CHECK : EXIT_OK;
}

int cli_run(const cli_args *a)
{
  if (!only_common_options(a)) return EXIT_USAGE;
  fp_case *c = NULL;
  int rc = cli_load_case(a, &c);
  if (rc != FP_OK) return cli_exit_code(rc);
  fp_run_options opt = run_options(a);
  fp_run_result res;
  fp_error err;
  fp_error_clear(&err);
  rc = fp_run_case_estimated(c, &opt, &res, NULL, &err);
  const char *dir = a->output_dir ? a->output_dir : c->output_dir;
  if (rc != FP_OK) {
    fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, err.message);
    if (res.rows > 0)
      fprintf(stderr, "fpentropy: %zu output rows were kept in %s/balance.csv.partial\n", res.rows, dir);
  } else if (!a->quiet) {
    printf("%s: %zu outputs in %.3f s (%s, %ld steps); mass drift %.2e, min p %.3e\n", c->name,
           res.rows, res.wall_seconds, res.linear_solver, res.stats.steps, res.max_mass_drift,
           res.min_density);
    printf("results in %s/ (balance.csv, summary.txt, snapshots)\n", dir);
  }
  fp_case_destroy(&c);
  return cli_exit_code(rc);
}
