/* fpentropy: the command-line tool.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Exit status (documented in --help and docs/cli.md):
 *   0 success; 1 the computation failed (solver, numerics, files);
 *   2 bad usage or an invalid case file (nothing was computed);
 *   3 a verification check failed; 130 interrupted (SIGINT/SIGTERM). */
#define _POSIX_C_SOURCE 200809L
#include <fpentropy/fpentropy.h>

#include <gsl/gsl_errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_CHECK = 3, EXIT_INTERRUPTED = 130 };

#define MAX_OVERRIDES 256

typedef struct cli_args {
  const char *command;
  const char *case_path;
  const char *output_dir;
  const char *overrides[MAX_OVERRIDES];
  size_t n_overrides;
  bool quiet;
  bool progress;
} cli_args;

static volatile sig_atomic_t interrupted = 0;

static void on_signal(int sig)
{
  (void)sig;
  interrupted = 1;
}

static void print_usage(FILE *f)
{
  fprintf(f,
          "Usage: fpentropy COMMAND CASE.ini [options]\n"
          "\n"
          "Solve a Fokker-Planck equation by finite volumes with CVODE and measure its\n"
          "entropy balance.\n"
          "\n"
          "Commands:\n"
          "  run CASE      integrate the case; write balance.csv, snapshots and\n"
          "                summary.txt into the output directory\n"
          "  check CASE    validate the case file and print the resolved settings;\n"
          "                nothing is computed\n"
          "  verify CASE   run the case and check Appendix A of the paper in discrete\n"
          "                form: one PASS/FAIL line per identity (exit 3 on any FAIL)\n"
          "\n"
          "Options:\n"
          "  -o, --output DIR       output directory (default: the case's\n"
          "                         [output] directory, else out/<case name>)\n"
          "  -s, --set SEC.KEY=VAL  override a case-file key (repeatable), e.g.\n"
          "                         --set domain.cells=400 --set constants.v=0.5\n"
          "  -q, --quiet            no progress or summary on the terminal\n"
          "      --progress         show progress even when stderr is not a terminal\n"
          "  -h, --help             this help\n"
          "  -V, --version          version and library versions\n"
          "\n"
          "Exit status: 0 success, 1 computation failed, 2 bad usage or case file,\n"
          "3 a verification check failed, 130 interrupted.\n"
          "Case files are documented in docs/case-files.md.\n");
}

static void print_version(void)
{
  printf("fpentropy %s\n", FP_VERSION);
  char versions[256];
  fp_library_versions(versions, sizeof versions);
  printf("%s\n", versions);
}

static int parse_args(int argc, char **argv, cli_args *a)
{
  memset(a, 0, sizeof *a);
  a->progress = isatty(STDERR_FILENO);
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    const char *value = NULL;
    if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
      print_usage(stdout);
      exit(EXIT_OK);
    } else if (strcmp(s, "-V") == 0 || strcmp(s, "--version") == 0) {
      print_version();
      exit(EXIT_OK);
    } else if (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0) {
      a->quiet = true;
    } else if (strcmp(s, "--progress") == 0) {
      a->progress = true;
    } else if (strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0 || strcmp(s, "-s") == 0 ||
               strcmp(s, "--set") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "fpentropy: option %s needs a value\n", s);
        return EXIT_USAGE;
      }
      value = argv[++i];
      if (s[1] == 'o' || s[2] == 'o') {
        a->output_dir = value;
      } else {
        if (a->n_overrides == MAX_OVERRIDES) {
          fprintf(stderr, "fpentropy: more than %d --set options\n", MAX_OVERRIDES);
          return EXIT_USAGE;
        }
        a->overrides[a->n_overrides++] = value;
      }
    } else if (strncmp(s, "--output=", 9) == 0) {
      a->output_dir = s + 9;
    } else if (strncmp(s, "--set=", 6) == 0) {
      if (a->n_overrides == MAX_OVERRIDES) return EXIT_USAGE;
      a->overrides[a->n_overrides++] = s + 6;
    } else if (s[0] == '-' && s[1] != '\0') {
      fprintf(stderr, "fpentropy: unknown option '%s' (see fpentropy --help)\n", s);
      return EXIT_USAGE;
    } else if (!a->command) {
      a->command = s;
    } else if (!a->case_path) {
      a->case_path = s;
    } else {
      fprintf(stderr, "fpentropy: unexpected argument '%s' (see fpentropy --help)\n", s);
      return EXIT_USAGE;
    }
  }
  if (a->quiet) a->progress = false;
  if (!a->command) {
    print_usage(stderr);
    return EXIT_USAGE;
  }
  if (!a->case_path) {
    fprintf(stderr, "fpentropy %s: missing CASE file (see fpentropy --help)\n", a->command);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

static int exit_code_for(int status)
{
  switch (status) {
  case FP_OK: return EXIT_OK;
  case FP_ERR_CASE:
  case FP_ERR_EXPR:
  case FP_ERR_ARG: return EXIT_USAGE;
  case FP_ERR_INTERRUPTED: return EXIT_INTERRUPTED;
  default: return EXIT_FAILED;
  }
}

static int load_case(const cli_args *a, fp_case **c)
{
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_case_load(a->case_path, a->overrides, a->n_overrides, c, &err);
  if (rc != FP_OK) fprintf(stderr, "fpentropy: %s\n", err.message);
  return rc;
}

static int command_check(const cli_args *a)
{
  fp_case *c = NULL;
  int rc = load_case(a, &c);
  if (rc != FP_OK) return exit_code_for(rc);
  fp_error err;
  fp_error_clear(&err);
  /* Building the operator checks the coefficients on the grid (D > 0,
   * finite drift) and sampling checks the densities, still without time
   * stepping. */
  fp_operator *op = NULL;
  rc = fp_operator_create(c, &op, &err);
  if (rc == FP_OK) rc = fp_run_check_densities(c, &err);
  if (rc != FP_OK) {
    fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, err.message);
  } else if (!a->quiet) {
    fp_case_print(c, stdout);
    printf("# check: OK (%zu cells, %s fluxes%s)\n", c->grid.ncells,
           fp_operator_two_point(op) ? "two-point" : "full-tensor",
           fp_operator_time_dependent(op) ? ", time-dependent fields" : "");
  }
  fp_operator_destroy(&op);
  fp_case_destroy(&c);
  return rc == FP_OK ? EXIT_OK : EXIT_USAGE;
}

static int command_verify(const cli_args *a)
{
  fp_case *c = NULL;
  int rc = load_case(a, &c);
  if (rc != FP_OK) return exit_code_for(rc);
  fp_run_options opt = {.output_dir = a->output_dir,
                        .progress = a->progress ? stderr : NULL,
                        .interrupted = &interrupted,
                        .write_files = true};
  fp_verify_summary summary;
  fp_error err;
  fp_error_clear(&err);
  rc = fp_verify_case(c, &opt, stdout, &summary, &err);
  if (rc != FP_OK) fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, err.message);
  fp_case_destroy(&c);
  if (rc != FP_OK) return exit_code_for(rc);
  return summary.failed ? EXIT_CHECK : EXIT_OK;
}

static int command_run(const cli_args *a)
{
  fp_case *c = NULL;
  int rc = load_case(a, &c);
  if (rc != FP_OK) return exit_code_for(rc);
  fp_run_options opt = {.output_dir = a->output_dir,
                        .progress = a->progress ? stderr : NULL,
                        .interrupted = &interrupted,
                        .write_files = true};
  fp_run_result res;
  fp_error err;
  fp_error_clear(&err);
  rc = fp_run_case(c, &opt, &res, &err);
  const char *dir = a->output_dir ? a->output_dir : c->output_dir;
  if (rc != FP_OK) {
    fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, err.message);
    if (res.rows > 0)
      fprintf(stderr, "fpentropy: %zu output rows were written to %s before the failure\n",
              res.rows, dir);
  } else if (!a->quiet) {
    printf("%s: %zu outputs in %.3f s (%s, %ld steps); mass drift %.2e, min p %.3e\n",
           c->name, res.rows, res.wall_seconds, res.linear_solver, res.stats.steps,
           res.max_mass_drift, res.min_density);
    printf("results in %s/ (balance.csv, summary.txt, snapshots)\n", dir);
  }
  fp_case_destroy(&c);
  return exit_code_for(rc);
}

int main(int argc, char **argv)
{
  cli_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc != EXIT_OK) return rc;
  /* GSL's default handler aborts; the library checks every return code. */
  gsl_set_error_handler_off();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  if (strcmp(a.command, "run") == 0) return command_run(&a);
  if (strcmp(a.command, "check") == 0) return command_check(&a);
  if (strcmp(a.command, "verify") == 0) return command_verify(&a);
  fprintf(stderr, "fpentropy: unknown command '%s' (see fpentropy --help)\n", a.command);
  return EXIT_USAGE;
}
