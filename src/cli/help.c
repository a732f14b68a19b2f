/* fpentropy: per-command help (`fpentropy COMMAND --help`, `fpentropy help COMMAND`).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "cli.h"

#include <stdio.h>
#include <string.h>

/* Option groups a command accepts (the shared parser's options). */
enum {
  OPT_COMMON = 1u,   /* -o, --set, -q, --progress */
  OPT_ERREST = 2u,   /* --error-estimate */
  OPT_PARTICLE = 4u, /* --particles, --replicas, --seed, --dt, --threads */
  OPT_FORMAT = 8u,   /* --format (sample) */
  OPT_ESTIM = 16u,   /* --estimators */
  OPT_POLICY = 32u,  /* --policy, --cost */
  LIST_POLICIES = 64u,
  LIST_ESTIMATORS = 128u,
};

/* One row per command of the shared parser: the table the dispatcher consults for --help
 * (commands with their own parser print their own --help). */
static const struct cli_help_entry {
  const char *name;
  const char *synopsis;
  const char *text;
  unsigned groups;
} entries[] = {
    {"run", "fpentropy run CASE.ini [-o DIR] [--set SEC.KEY=VAL]... [--error-estimate[=MODE]] [-q]",
     "Integrate the case with CVODE and write, into the output directory, balance.csv (one row\n"
     "per output time: KL, its rate, the entropy productions and the residual of the balance;\n"
     "docs/balance.md) with its sidecar balance.json, the snapshots (snapshot_NNNN.vti and\n"
     ".dat, snapshots.pvd, snapshots.csv) and summary.txt.",
     OPT_COMMON | OPT_ERREST},
    {"check", "fpentropy check CASE.ini [--set SEC.KEY=VAL]...",
     "Validate the case file and print the resolved settings, each key with the line it comes\n"
     "from or its default.  Nothing is computed.",
     OPT_COMMON},
    {"verify", "fpentropy verify CASE.ini [-o DIR] [--set SEC.KEY=VAL]... [--error-estimate[=MODE]]",
     "Run the case and check the identities of the paper's Appendix A in discrete form: one\n"
     "PASS, FAIL or INFO line per identity; exit status 3 when any check fails.",
     OPT_COMMON | OPT_ERREST},
    {"sample", "fpentropy sample CASE.ini --particles N [--replicas R] [--seed S] [--format bin|csv]",
     "Simulate the case's SDE as particles (Euler-Maruyama) and write their positions at the\n"
     "output times: samples.bin (a text header line, then binary records; read it with\n"
     "fpentropy.read_samples) or samples.csv.",
     OPT_COMMON | OPT_PARTICLE | OPT_FORMAT},
    {"compare", "fpentropy compare CASE.ini [--particles N1,N2,...] [--replicas R] [--estimators LIST]",
     "Run sample KL estimators on particle streams against the PDE's exact KL and its rate:\n"
     "bias, spread and RMSE against N (compare.csv, compare_rate.csv, compare_summary.csv and\n"
     "the run's files).  docs/estimators.md.",
     OPT_COMMON | OPT_PARTICLE | OPT_ESTIM | LIST_ESTIMATORS},
    {"policy", "fpentropy policy CASE.ini [--policy SPEC]... [--cost C] [--particles N [--replicas R]]",
     "Run retraining policies on the exact mismatch series of the case against the\n"
     "cost-minimising oracle (policy_NN.csv, oracle.csv, policy_summary.csv, pareto.csv,\n"
     "kl_matrix.csv); with --particles also driven by sample estimates (policy_sampled.csv).\n"
     "docs/policies.md.",
     OPT_COMMON | OPT_PARTICLE | OPT_ESTIM | OPT_POLICY | LIST_POLICIES | LIST_ESTIMATORS},
    {"calibrate", "fpentropy calibrate CASE.ini [--particles N] [-o DIR]",
     "Fit the debt filter's emissions on the case under a frozen deployment (the exact kl, or\n"
     "estimates with --particles); writes debt_calibration.txt for debt:calibration=FILE.",
     OPT_COMMON | OPT_PARTICLE | OPT_ESTIM},
};

static const struct cli_help_entry *find_entry(const char *name)
{
  for (size_t k = 0; k < sizeof entries / sizeof entries[0]; k++)
    if (strcmp(entries[k].name, name) == 0) return &entries[k];
  return NULL;
}

bool cli_help_known(const char *command) { return command && find_entry(command) != NULL; }

static void list_estimators(FILE *out)
{
  const char *const *names = NULL;
  size_t n = fp_estimator_names(&names);
  fputs("\nEstimators (--estimators \"NAME[:KEY=VALUE,...] ...\"):\n", out);
  for (size_t i = 0; i < n; i++) {
    char buf[2048];
    fp_error err;
    if (fp_estimator_help(names[i], buf, sizeof buf, &err) != FP_OK) continue;
    fputc('\n', out); /* the text starts with "NAME: summary" */
    for (const char *line = buf; *line;) {
      const char *end = strchr(line, '\n');
      int len = end ? (int)(end - line) : (int)strlen(line);
      fprintf(out, "    %.*s\n", len, line);
      line = end ? end + 1 : line + len;
    }
  }
}

int cli_help_command(const char *command, FILE *out)
{
  const struct cli_help_entry *e = command ? find_entry(command) : NULL;
  if (!e) {
    fprintf(stderr, "fpentropy: no help for '%s': unknown command (see fpentropy --help)\n",
            command ? command : "");
    return EXIT_USAGE;
  }
  fprintf(out, "Usage: %s\n\n%s\n\nOptions:\n", e->synopsis, e->text);
  if (e->groups & OPT_COMMON)
    fputs("  -o, --output DIR       output directory (default: the case's [output]\n"
          "                         directory, else out/<case name>)\n"
          "  -s, --set SEC.KEY=VAL  override a case-file key (repeatable)\n"
          "  -q, --quiet            no progress or summary on the terminal\n"
          "      --progress         progress on stderr even when it is not a terminal\n", out);
  if (e->groups & OPT_ERREST)
    fputs("      --error-estimate[=on|verify|off]  also run on coarser grids: Q_err and\n"
          "                         Q_rich columns (docs/error-estimate.md)\n", out);
  if (e->groups & OPT_PARTICLE)
    fputs("      --particles N      particles per replica (compare: N1,N2,...)\n"
          "      --replicas R       independent replicas\n"
          "      --seed S           random seed\n"
          "      --dt DT            Euler-Maruyama step (default: from the fields)\n"
          "      --threads T        threads (the numbers do not depend on it)\n", out);
  if (e->groups & OPT_FORMAT) fputs("      --format bin|csv   sample file format (default bin)\n", out);
  if (e->groups & OPT_ESTIM)
    fputs("      --estimators LIST  estimator specs separated by spaces (listed below)\n", out);
  if (e->groups & OPT_POLICY)
    fputs("      --policy SPEC      a policy NAME[:KEY=VALUE,...] (repeatable; listed below)\n"
          "      --cost C           retrain cost c in C = c #retrains + sum D dt\n", out);
  fputs("  -h, --help             this help\n"
        "Defaults come from the case file (docs/case-files.md, fpentropy-case(5)).\n"
        "Exit status: 0 success, 1 computation failed, 2 bad usage or case file,\n"
        "3 a verification check failed, 130 interrupted.\n", out);
  if (e->groups & LIST_POLICIES) {
    fputs("\nPolicies (--policy):\n", out);
    fp_error err;
    if (fp_policy_help(out, NULL, &err) != FP_OK) fprintf(stderr, "fpentropy: %s\n", err.message);
  }
  if (e->groups & LIST_ESTIMATORS) list_estimators(out);
  return ferror(out) ? EXIT_FAILED : EXIT_OK;
}

void cli_print_version(FILE *out, const char *versions)
{
  fprintf(out, "fpentropy %s\n%s\n"
               "Copyright (C) 2026 the fpentropy authors.\n"
               "License GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.\n"
               "This is free software: you are free to change and redistribute it.\n"
               "There is NO WARRANTY, to the extent permitted by law.\n",
          FP_VERSION, versions);
}
