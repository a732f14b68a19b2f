/* fpentropy: the command-line tool (argument parsing and dispatch).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The one global of the program: a signal handler can only talk through one. */
volatile sig_atomic_t cli_interrupted = 0;

/* The first signal asks the computation to stop cleanly (it keeps what it
 * has); a second one ends the program at once. */
static void on_signal(int sig)
{
  if (cli_interrupted) {
    signal(sig, SIG_DFL);
    raise(sig);
  }
  cli_interrupted = 1;
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
          "  sample CASE   simulate the case's SDE as particles (Euler-Maruyama) and\n"
          "                write the samples at the output times\n"
          "  compare CASE  sample KL estimators on particle streams against the PDE's\n"
          "                exact KL: bias, spread, RMSE against N\n"
          "  policy CASE   run retraining policies on the exact mismatch series of the\n"
          "                case, against the cost-minimising oracle\n"
          "  calibrate CASE  fit the debt filter's emissions on the case under a frozen\n"
          "                deployment (exact kl, or estimates with --particles);\n"
          "                writes debt_calibration.txt for debt:calibration=FILE\n"
          "  debt-study -o DIR  the learning-debt simulation study of Katz 2026\n"
          "                (own options: fpentropy debt-study --help)\n"
          "  sweep CASE --grid KEY=V1,V2,...  run a command at every point of a grid of\n"
          "                case-key values (resumable; --jobs N, or under mpirun);\n"
          "                see fpentropy sweep --help\n"
          "  stream CASE   a labelled stream (classifier, log loss) run by retraining\n"
          "                policies: table.csv, loss.csv, pe_matrix.csv (stream --help)\n"
          "  help COMMAND  the command's options (also: fpentropy COMMAND --help),\n"
          "                with the policies and estimators and their parameters\n"
          "\n");
  /* Two strings: C keeps one literal under 4095 characters. */
  fprintf(f,
          "Options:\n"
          "  -o, --output DIR       output directory (default: the case's\n"
          "                         [output] directory, else out/<case name>)\n"
          "  -s, --set SEC.KEY=VAL  override a case-file key (repeatable), e.g.\n"
          "                         --set domain.cells=400 --set constants.v=0.5\n"
          "  -q, --quiet            no progress or summary on the terminal\n"
          "      --progress         show progress even when stderr is not a terminal\n"
          "      --error-estimate[=on|verify]  (run, verify) also run on coarser grids:\n"
          "                         Q_err, Q_rich columns (docs/error-estimate.md)\n"
          "      --max-memory SIZE  refuse cases estimated to need more (e.g. 4G, 500M;\n"
          "                         default: the memory available on this machine)\n"
          "  -h, --help             this help\n"
          "  -V, --version          version and library versions\n"
          "\n"
          "Particle options (sample):\n"
          "      --particles N      particles per replica (default 10000)\n"
          "      --replicas R       independent replicas (default 1)\n"
          "      --seed S           random seed (default 1)\n"
          "      --dt DT            Euler-Maruyama step (default: from the fields)\n"
          "      --threads T        threads (default: all cores)\n"
          "      --format bin|csv   sample file format (default bin)\n"
          "      --particles N1,N2  (compare) sample sizes (default: [sample] sizes)\n"
          "      --estimators LIST  (compare) estimator specs separated by spaces, e.g.\n"
          "                         \"knn:k=3 kde:bw=isj hist gauss\"; docs/estimators.md\n"
          "\n"
          "Policy options (policy):\n"
          "      --policy SPEC      a policy, e.g. threshold:tau=0.1 (repeatable; default:\n"
          "                         the case's [policy] policies); docs/policies.md\n"
          "      --cost C           retrain cost c in C = c #retrains + sum D dt\n"
          "      --objective loss   score on the performance matrix pe of the case's\n"
          "                         [labels] (paper 001's C_alpha; --cost is alpha);\n"
          "                         sampled-loss: decide on one sampled stream's pe\n"
          "                         the policy upf:offline=W,... is then available\n"
          "      --alpha-sweep AMAX[:N]  C_alpha for alpha = 0..AMAX (N points), AUC\n"
          "      --particles N      also drive the policies by sample estimates from N\n"
          "                         particles (--replicas R, --estimators SPEC: one\n"
          "                         two-sample estimator, default wkv)\n"
          "\n"
          "Exit status: 0 success, 1 computation failed, 2 bad usage or case file,\n"
          "3 a verification check failed, 130 interrupted.\n"
          "Case files are documented in docs/case-files.md, commands in docs/cli.md.\n");
}

static void print_version(void)
{
  char versions[256];
  fp_library_versions(versions, sizeof versions);
  cli_print_version(stdout, versions);
}

/* Options that take a value: long name, short name, where the value goes. */
typedef struct value_option {
  const char *name;
  char short_name;
  size_t offset;       /* of a `const char *` field, or of a repeat array */
  size_t count_offset; /* of the repeat counter, 0 for single values */
} value_option;

#define SINGLE(name, short, field) {name, short, offsetof(cli_args, field), 0}
#define REPEAT(name, short, field, count) {name, short, offsetof(cli_args, field), offsetof(cli_args, count)}

static const value_option value_options[] = {
    SINGLE("output", 'o', output_dir),
    REPEAT("set", 's', overrides, n_overrides),
    REPEAT("policy", 0, policies, n_policies),
    SINGLE("particles", 0, particles),
    SINGLE("replicas", 0, replicas),
    SINGLE("seed", 0, seed),
    SINGLE("dt", 0, dt),
    SINGLE("threads", 0, threads),
    SINGLE("format", 0, format),
    SINGLE("estimators", 0, estimators),
    SINGLE("cost", 0, cost),
    SINGLE("objective", 0, objective),
    SINGLE("alpha-sweep", 0, alpha_sweep),
    SINGLE("max-memory", 0, max_memory),
};

static int store_value(cli_args *a, const value_option *o, const char *value)
{
  char *base = (char *)a;
  if (!o->count_offset) {
    *(const char **)(base + o->offset) = value;
    return EXIT_OK;
  }
  size_t *count = (size_t *)(base + o->count_offset);
  if (*count == CLI_MAX_REPEAT) {
    fprintf(stderr, "fpentropy: more than %d --%s options\n", CLI_MAX_REPEAT, o->name);
    return EXIT_USAGE;
  }
  ((const char **)(base + o->offset))[(*count)++] = value;
  return EXIT_OK;
}

enum {
  NVALUE = sizeof value_options / sizeof value_options[0],
  OPT_VALUE = 1000,          /* OPT_VALUE + k: value_options[k] */
  OPT_PROGRESS = 2000,
  OPT_ERROR_ESTIMATE
};

/* GNU getopt_long: options anywhere among the operands, `--` ends them,
 * long names may be abbreviated, short ones bundled (-qo DIR). */
static int parse_args(int argc, char **argv, cli_args *a)
{
  memset(a, 0, sizeof *a);
  a->progress = isatty(STDERR_FILENO);
  struct option longopts[NVALUE + 6];
  size_t n = 0;
  for (size_t k = 0; k < NVALUE; k++)
    longopts[n++] = (struct option){value_options[k].name, required_argument, NULL, OPT_VALUE + (int)k};
  longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
  longopts[n++] = (struct option){"version", no_argument, NULL, 'V'};
  longopts[n++] = (struct option){"quiet", no_argument, NULL, 'q'};
  longopts[n++] = (struct option){"progress", no_argument, NULL, OPT_PROGRESS};
  longopts[n++] = (struct option){"error-estimate", optional_argument, NULL, OPT_ERROR_ESTIMATE};
  longopts[n] = (struct option){NULL, 0, NULL, 0};
  bool want_help = false;
  opterr = 0; /* our own messages */
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, ":ho:s:qV", longopts, NULL)) != -1) {
    switch (ch) {
    case 'h': want_help = true; break;
    case 'V': print_version(); exit(EXIT_OK);
    case 'q': a->quiet = true; break;
    case 'o': store_value(a, &value_options[0], optarg); break;
    case 's': {
      int rc = store_value(a, &value_options[1], optarg);
      if (rc != EXIT_OK) return rc;
      break;
    }
    case OPT_PROGRESS: a->progress = true; break;
    case OPT_ERROR_ESTIMATE: {
      /* the same as --set output.error_estimate=MODE (docs/error-estimate.md) */
      static const char *const sets[] = {"output.error_estimate=on", "output.error_estimate=verify",
                                         "output.error_estimate=off"};
      const char *mode = optarg ? optarg : "on";
      size_t m = strcmp(mode, "on") == 0 ? 0 : strcmp(mode, "verify") == 0 ? 1 : strcmp(mode, "off") == 0 ? 2 : 3;
      if (m == 3) {
        fprintf(stderr, "fpentropy: --error-estimate: expected on, verify or off, got '%s'\n", mode);
        return EXIT_USAGE;
      }
      int rc = store_value(a, &value_options[1], sets[m]);
      if (rc != EXIT_OK) return rc;
      break;
    }
    case ':':
      fprintf(stderr, "fpentropy: option %s needs a value\n", argv[optind - 1]);
      return EXIT_USAGE;
    case '?':
      if (optopt)
        fprintf(stderr, "fpentropy: unknown option '-%c' (see fpentropy --help)\n", optopt);
      else
        fprintf(stderr, "fpentropy: unknown option '%s', or an ambiguous abbreviation (see "
                "fpentropy --help)\n", argv[optind - 1]);
      return EXIT_USAGE;
    default:
      if (ch >= OPT_VALUE && ch < OPT_VALUE + (int)NVALUE) {
        int rc = store_value(a, &value_options[ch - OPT_VALUE], optarg);
        if (rc != EXIT_OK) return rc;
      }
      break;
    }
  }
  /* operands: COMMAND [CASE] (getopt_long has moved them to the end) */
  if (optind < argc) a->command = argv[optind++];
  if (want_help) {
    if (a->command) exit(cli_help_command(a->command, stdout)); /* fpentropy COMMAND --help */
    print_usage(stdout);
    exit(EXIT_OK);
  }
  if (optind < argc) a->case_path = argv[optind++];
  if (optind < argc) {
    fprintf(stderr, "fpentropy: unexpected argument '%s' (see fpentropy --help)\n", argv[optind]);
    return EXIT_USAGE;
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

int cli_exit_code(int status)
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

int cli_load_case(const cli_args *a, fp_case **c)
{
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_case_load(a->case_path, a->overrides, a->n_overrides, c, &err);
  if (rc != FP_OK) {
    fprintf(stderr, "fpentropy: %s\n", err.message);
    /* A case file that cannot be read is bad usage (exit 2): nothing ran. */
    return rc == FP_ERR_IO ? FP_ERR_CASE : rc;
  }
  /* Refuse what cannot fit before anything is allocated. */
  double limit = 0.0;
  if (a->max_memory && !cli_parse_bytes("max-memory", a->max_memory, &limit)) rc = FP_ERR_ARG;
  if (rc == FP_OK) rc = fp_resources_check(*c, limit, &err);
  if (rc != FP_OK) {
    if (err.message[0]) fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, err.message);
    fp_case_destroy(c);
  }
  return rc;
}

bool cli_parse_bytes(const char *option, const char *text, double *out)
{
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  double unit = 1.0;
  if (end && *end && end[1] == '\0') {
    switch (*end) {
    case 'k': case 'K': unit = 1e3; end++; break;
    case 'm': case 'M': unit = 1e6; end++; break;
    case 'g': case 'G': unit = 1e9; end++; break;
    case 't': case 'T': unit = 1e12; end++; break;
    default: break;
    }
  }
  if (errno || end == text || *end != '\0' || !(v > 0.0) || !isfinite(v * unit)) {
    fprintf(stderr, "fpentropy: --%s: expected a positive size such as 4G or 500M, got '%s'\n",
            option, text);
    return false;
  }
  *out = v * unit;
  return true;
}

bool cli_parse_size(const char *option, const char *text, size_t *out)
{
  char *end = NULL;
  errno = 0;
  /* strtoull would skip blanks and wrap " -1" to 2^64-1: digits only. */
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text || *end != '\0' || !isdigit((unsigned char)text[0]) || v > SIZE_MAX) {
    fprintf(stderr, "fpentropy: --%s: expected a non-negative integer, got '%s'\n", option, text);
    return false;
  }
  *out = (size_t)v;
  return true;
}

bool cli_parse_double(const char *option, const char *text, double *out)
{
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || *end != '\0' || !isfinite(v)) {
    fprintf(stderr, "fpentropy: --%s: expected a finite number, got '%s'\n", option, text);
    return false;
  }
  *out = v;
  return true;
}

bool cli_parse_size_list(const char *option, const char *text, size_t *out, size_t max, size_t *n)
{
  *n = 0;
  char buf[512];
  if (strlen(text) >= sizeof buf) {
    fprintf(stderr, "fpentropy: --%s: list too long\n", option);
    return false;
  }
  strcpy(buf, text);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (*n == max) {
      fprintf(stderr, "fpentropy: --%s: at most %zu values\n", option, max);
      return false;
    }
    if (!cli_parse_size(option, tok, &out[*n]) || out[*n] == 0) {
      if (out[*n] == 0) fprintf(stderr, "fpentropy: --%s: values must be positive\n", option);
      return false;
    }
    (*n)++;
  }
  if (*n == 0) fprintf(stderr, "fpentropy: --%s: empty list\n", option);
  return *n > 0;
}

/* Commands that parse their own options (getopt_long on argv from the
 * command name on), one file each: int cmd(int argc, char **argv) with
 * argv[0] the command name.  The table ends with a NULL name. */
static const struct {
  const char *name;
  int (*main)(int argc, char **argv);
} own_option_commands[] = {
    {"debt-study", cli_debt_study_main},
    {"sweep", cli_sweep_main},
    {"stream", cli_stream_main},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
  /* GSL's default handler aborts; the library checks every return code. */
  gsl_set_error_handler_off();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  if (argc > 1 && strcmp(argv[1], "help") == 0) { /* fpentropy help [COMMAND] */
    if (argc == 2) return print_usage(stdout), EXIT_OK;
    for (size_t k = 0; own_option_commands[k].name; k++)
      if (strcmp(argv[2], own_option_commands[k].name) == 0)
        return own_option_commands[k].main(2, (char *[]){argv[2], "--help", NULL});
    return cli_help_command(argv[2], stdout);
  }
  if (argc > 1)
    for (size_t k = 0; own_option_commands[k].name; k++)
      if (strcmp(argv[1], own_option_commands[k].name) == 0)
        return own_option_commands[k].main(argc - 1, argv + 1);

  cli_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc != EXIT_OK) return rc;

  static const struct {
    const char *name;
    int (*run)(const cli_args *);
  } commands[] = {{"run", cli_run}, {"check", cli_check}, {"verify", cli_verify}, {"sample", cli_sample},
                  {"policy", cli_policy},
                  {"compare", cli_compare},
                  {"calibrate", cli_calibrate}};
  for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
    if (strcmp(a.command, commands[k].name) == 0) return commands[k].run(&a);
  fprintf(stderr, "fpentropy: unknown command '%s' (see fpentropy --help)\n", a.command);
  return EXIT_USAGE;
}
