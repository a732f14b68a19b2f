/* fpentropy CLI: debt-study (the learning-debt simulation study of Katz
 * 2026, Section 6, on the project's policy objects).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
  fprintf(f,
          "Usage: fpentropy debt-study [options] -o DIR\n"
          "\n"
          "Run the learning-debt simulation study (Katz 2026, Section 6): four data\n"
          "families x shift probabilities x cost ratios, the debt filter on the exact\n"
          "NIG KL against the proxy filter, calendar, CUSUM and alarm-only policies.\n"
          "Writes DIR/cells.csv, DIR/wins.csv, DIR/summary.txt and per-cell\n"
          "checkpoints in DIR/checkpoints/ (an interrupted study resumes from them).\n"
          "\n"
          "Options:\n"
          "  -o, --output DIR     output directory (required)\n"
          "      --reps N         replications per cell (default 300; the robustness\n"
          "                       block uses 5N/3, i.e. 500)\n"
          "      --seed S         seed of every path (default 2026)\n"
          "      --threads T      worker threads (default 2); results do not depend on T\n"
          "      --block B        main|cadence|robustness|lag|all (default all)\n"
          "      --trace F,P,K,R  also write DIR/trace.csv: every main-block policy on\n"
          "                       replication R of the main cell (family F, p_shift P,\n"
          "                       kappa K), e.g. abrupt,0.05,1,0\n"
          "  -q, --quiet          no progress on the terminal\n"
          "  -h, --help           this help\n"
          "\n"
          "Exit status: 0 ok, 1 failed, 2 bad usage, 130 interrupted (rerun to resume).\n"
          "Formats: docs/cli.md (debt-study); the study: docs/learning-debt.md.\n");
}

static void progress(void *ctx, size_t done, size_t total, size_t resumed)
{
  (void)ctx;
  fprintf(stderr, "\rdebt-study: %zu/%zu cells (%zu resumed)", done, total, resumed);
  if (done == total) fputc('\n', stderr);
  fflush(stderr);
}

static bool parse_trace(const char *text, fp_debt_family *fam, double *p, double *k, unsigned *rep)
{
  char name[32];
  long r;
  if (sscanf(text, "%31[a-z],%lf,%lf,%ld", name, p, k, &r) != 4 || r < 0) return false;
  for (int f = 0; f < FP_DEBT_FAMILY_COUNT; f++)
    if (strcmp(name, fp_debt_family_name((fp_debt_family)f)) == 0) {
      *fam = (fp_debt_family)f;
      *rep = (unsigned)r;
      return true;
    }
  return false;
}

int cli_debt_study_main(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'}, {"reps", required_argument, NULL, 'r'},
      {"seed", required_argument, NULL, 's'},   {"threads", required_argument, NULL, 't'},
      {"block", required_argument, NULL, 'b'},  {"trace", required_argument, NULL, 'T'},
      {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *dir = NULL, *trace = NULL;
  size_t reps = 300, seed = 2026, threads = 2;
  unsigned blocks = FP_DEBT_BLOCK_ALL;
  bool quiet = false;
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
    switch (ch) {
    case 'o': dir = optarg; break;
    case 'r':
      if (!cli_parse_size("reps", optarg, &reps)) return EXIT_USAGE;
      break;
    case 's':
      if (!cli_parse_size("seed", optarg, &seed)) return EXIT_USAGE;
      break;
    case 't':
      if (!cli_parse_size("threads", optarg, &threads)) return EXIT_USAGE;
      break;
    case 'b':
      if (strcmp(optarg, "main") == 0) blocks = FP_DEBT_BLOCK_MAIN;
      else if (strcmp(optarg, "cadence") == 0) blocks = FP_DEBT_BLOCK_CADENCE;
      else if (strcmp(optarg, "robustness") == 0) blocks = FP_DEBT_BLOCK_ROBUSTNESS;
      else if (strcmp(optarg, "lag") == 0) blocks = FP_DEBT_BLOCK_LAG;
      else if (strcmp(optarg, "all") == 0) blocks = FP_DEBT_BLOCK_ALL;
      else {
        fprintf(stderr, "fpentropy debt-study: --block %s: expected main, cadence, robustness, "
                "lag or all\n", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'T': trace = optarg; break;
    case 'q': quiet = true; break;
    case 'h': usage(stdout); return EXIT_OK;
    default: usage(stderr); return EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "fpentropy debt-study: unexpected argument '%s'\n", argv[optind]);
    return EXIT_USAGE;
  }
  if (!dir) {
    fprintf(stderr, "fpentropy debt-study: -o DIR is required (--help)\n");
    return EXIT_USAGE;
  }
  if (reps < 2 || threads < 1 || threads > 256) {
    fprintf(stderr, "fpentropy debt-study: need --reps >= 2 and 1 <= --threads <= 256\n");
    return EXIT_USAGE;
  }
  fp_debt_family tf = FP_DEBT_NONE;
  double tp = 0, tk = 0;
  unsigned trep = 0;
  if (trace && !parse_trace(trace, &tf, &tp, &tk, &trep)) {
    fprintf(stderr, "fpentropy debt-study: --trace %s: expected FAMILY,P,KAPPA,REP, e.g. "
            "abrupt,0.05,1,0\n", trace);
    return EXIT_USAGE;
  }
  fp_debt_study_options opt = {.reps = reps, .seed = (uint64_t)seed, .threads = threads,
                               .blocks = blocks, .interrupted = &cli_interrupted};
  if (!quiet && isatty(STDERR_FILENO)) opt.progress = progress;
  fp_error err;
  fp_error_clear(&err);
  double wall = 0;
  int rc = fp_debt_study_run(&opt, dir, &wall, &err);
  if (rc == FP_OK && trace) {
    char *path = NULL;
    rc = fp_output_join(dir, "trace.csv", &path, &err);
    if (rc == FP_OK) rc = fp_debt_trace_write((uint64_t)seed, tf, tp, tk, trep, path, &err);
    free(path);
  }
  if (rc != FP_OK) {
    if (opt.progress) fputc('\n', stderr);
    fprintf(stderr, "fpentropy debt-study: %s\n", err.message);
    return rc == FP_ERR_INTERRUPTED ? EXIT_INTERRUPTED : (rc == FP_ERR_ARG ? EXIT_USAGE : EXIT_FAILED);
  }
  if (!quiet) fprintf(stderr, "debt-study: wrote %s/cells.csv, wins.csv, summary.txt (%.1f s)\n", dir, wall);
  return EXIT_OK;
}
