/* fpentropy command-line tool: shared declarations of the commands.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FPENTROPY_CLI_H
#define FPENTROPY_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <fpentropy/fpentropy.h>

/* Exit status, documented in --help and docs/cli.md. */
enum {
  EXIT_OK = 0,          /* success */
  EXIT_FAILED = 1,      /* the computation failed (solver, numerics, files) */
  EXIT_USAGE = 2,       /* bad usage or an invalid case file: nothing computed */
  EXIT_CHECK = 3,       /* a verification check failed */
  EXIT_INTERRUPTED = 130
};

#define CLI_MAX_REPEAT 256

typedef struct cli_args {
  const char *command;
  const char *case_path;
  const char *output_dir;
  const char *overrides[CLI_MAX_REPEAT];
  size_t n_overrides;
  const char *policies[CLI_MAX_REPEAT];
  size_t n_policies;
  const char *particles;   /* "N" or "N1,N2,..." */
  const char *replicas;
  const char *seed;
  const char *dt;
  const char *threads;
  const char *format;
  const char *estimators;  /* comma list of estimator specs separated by ';' or ' ' */
  const char *cost;        /* retrain cost c (policy) */
  const char *objective;   /* policy: "kl" (default) or "loss" (paper 001, needs [labels]) */
  const char *alpha_sweep; /* policy: "AMAX" or "AMAX:N", alpha = 0..AMAX */
  const char *max_memory;  /* --max-memory SIZE */
  bool quiet;
  bool progress;
} cli_args;

/* Set by SIGINT/SIGTERM; long loops poll it. */
extern volatile sig_atomic_t cli_interrupted;

int cli_exit_code(int status);
int cli_load_case(const cli_args *a, fp_case **c);

/* Parse an unsigned integer / a double option value; on error print a
 * message naming the option and return false. */
bool cli_parse_size(const char *option, const char *text, size_t *out);
bool cli_parse_double(const char *option, const char *text, double *out);
/* The end of a command that holds its output directory (policy, calibrate,
 * stream; cli_summary.c): when `status` is a failure, rewrite the
 * directory's summary.txt (if the PDE run wrote one) as failed, while the
 * lock is still held, so that a command failing after its PDE run completed
 * does not leave "status: completed"; then close *od (NULL: nothing).
 * Returns `status`, or the close's failure (in *err) when status is FP_OK. */
int cli_close_output_dir(fp_output_dir **od, int status, fp_error *err);

/* A positive size in bytes with an optional k/M/G/T suffix (powers of 10). */
bool cli_parse_bytes(const char *option, const char *text, double *out);

/* Split a comma list of positive integers (e.g. --particles 1000,10000). */
bool cli_parse_size_list(const char *option, const char *text, size_t *out, size_t max, size_t *n);

int cli_run(const cli_args *a);
int cli_check(const cli_args *a);
int cli_verify(const cli_args *a);
int cli_sample(const cli_args *a);
int cli_policy(const cli_args *a);
int cli_compare(const cli_args *a);
int cli_calibrate(const cli_args *a);
/* help.c: per-command help of the shared parser's commands (EXIT_OK, or EXIT_USAGE for an
 * unknown command), whether it has one, and --version's text (with copyright and licence). */
int cli_help_command(const char *command, FILE *out);
bool cli_help_known(const char *command);
void cli_print_version(FILE *out, const char *versions);
int cli_debt_study_main(int argc, char **argv);

/* Commands with their own options (argv[0] = the command's name). */
int cli_sweep_main(int argc, char **argv);

/* Commands with their own options (own_option_commands[] in main.c). */
int cli_stream_main(int argc, char **argv);
/* fpentropy policy --objective loss / --alpha-sweep (cmd_policy_loss.c). */
int cli_policy_loss(const cli_args *a);

#endif /* FPENTROPY_CLI_H */
