/* fpentropy CLI: stream (a labelled stream run by retraining policies; docs/streams.md).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POLICIES 256
#define NAME_SIZE 256

static void usage(FILE *f)
{
  fprintf(f,
          "Usage: fpentropy stream CASE.ini [--policy SPEC]... [--seeds R] [-o DIR]\n"
          "\n"
          "Run a labelled stream (the case's [labels] and [model] sections): batches drawn\n"
          "from the case's density at its output times (or its SDE particles: [labels]\n"
          "features), labelled by the logistic rule, a\n"
          "logistic-regression model deployed, scored (log loss) and retrained by each\n"
          "policy; every policy sees the period's loss and a label-free KL estimate.  The\n"
          "same policies run once more on the exact signals (pe and the grid KL).\n"
          "\n"
          "Writes into DIR: table.csv (policy,avg_log_loss,se_avg,worst_log_loss,\n"
          "final_log_loss,retrains,se_retrains; rows NAME@exact for the exact run),\n"
          "loss.csv (per period and policy), pe_matrix.csv, training_kl_matrix.csv.\n"
          "Figures: tools/stream_figures.py DIR.\n"
          "\n"
          "Options:\n"
          "      --policy SPEC   a policy (repeatable; default: [labels] policies):\n"
          "                      NAME=SPEC names the table row, e.g.\n"
          "                      entropy=threshold:tau=0.05; daily = calendar:k=1,\n"
          "                      weekly = calendar:k=7; other specs name their row\n"
          "      --seeds R       independent streams (default 10)\n"
          "      --seed S        base random seed (default: [sample] seed)\n"
          "  -o, --output DIR    output directory (default: the case's [output] directory)\n"
          "  -s, --set SEC.KEY=VAL  override a case-file key (repeatable)\n"
          "  -q, --quiet         no table on the terminal\n"
          "  -h, --help          this help and the policies below\n"
          "\n"
          "Timing: the policy decides at the end of period d, after the day's labels;\n"
          "a retrain then serves from period d + 1 (docs/streams.md).  The policy list\n"
          "below describes the same rules on the mismatch series of `fpentropy policy`.\n"
          "\n"
          "Exit status: 0 success, 1 computation failed, 2 bad usage or case, 130 interrupted.\n"
          "\n");
  fp_policy_help(f, NULL, NULL);
}

typedef struct stream_args {
  const char *case_path, *output_dir, *seeds, *seed;
  const char *overrides[CLI_MAX_REPEAT];
  size_t n_overrides;
  const char *policies[CLI_MAX_REPEAT];
  size_t n_policies;
  bool quiet;
} stream_args;

static int parse(int argc, char **argv, stream_args *a)
{
  static const struct option longopts[] = {
      {"policy", required_argument, NULL, 'P'}, {"seeds", required_argument, NULL, 'R'},
      {"seed", required_argument, NULL, 'S'},   {"output", required_argument, NULL, 'o'},
      {"set", required_argument, NULL, 's'},    {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  memset(a, 0, sizeof *a);
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, "o:s:qh", longopts, NULL)) != -1) {
    switch (ch) {
    case 'P':
      if (a->n_policies == CLI_MAX_REPEAT) return fprintf(stderr, "fpentropy stream: too many --policy\n"), EXIT_USAGE;
      a->policies[a->n_policies++] = optarg;
      break;
    case 's':
      if (a->n_overrides == CLI_MAX_REPEAT) return fprintf(stderr, "fpentropy stream: too many --set\n"), EXIT_USAGE;
      a->overrides[a->n_overrides++] = optarg;
      break;
    case 'R': a->seeds = optarg; break;
    case 'S': a->seed = optarg; break;
    case 'o': a->output_dir = optarg; break;
    case 'q': a->quiet = true; break;
    case 'h': usage(stdout); exit(EXIT_OK);
    default: fprintf(stderr, "fpentropy stream: see fpentropy stream --help\n"); return EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "fpentropy stream: missing CASE file (see fpentropy stream --help)\n");
    return EXIT_USAGE;
  }
  a->case_path = argv[optind++];
  if (optind < argc) {
    fprintf(stderr, "fpentropy stream: unexpected argument '%s'\n", argv[optind]);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

static int write_table(fp_output_dir *od, const fp_stream_result *r, char (*names)[NAME_SIZE],
                       FILE *report, fp_error *err)
{
  char *path = NULL;
  fp_output_file *f = NULL;
  int rc = fp_output_dir_path(od, "table.csv", &path, err);
  if (rc == FP_OK) rc = fp_output_file_open(path, &f, err);
  free(path);
  if (rc != FP_OK) return rc;
  FILE *out = fp_output_file_stream(f);
  fprintf(out, "policy,avg_log_loss,se_avg,worst_log_loss,final_log_loss,retrains,se_retrains\n");
  if (report)
    fprintf(report, "%-28s %10s %9s %10s %10s %9s %8s\n", "policy", "avg loss", "se", "worst",
            "final", "retrains", "se");
  for (int pass = 0; pass < (r->has_exact ? 2 : 1); pass++)
    for (size_t q = 0; q < r->npolicies; q++) {
      fp_stream_summary s;
      fp_stream_summarise(r, q, pass == 1, &s);
      char label[NAME_SIZE + 8];
      snprintf(label, sizeof label, "%s%s", names[q], pass ? "@exact" : "");
      fprintf(out, "%s,%.10g,%.4g,%.10g,%.10g,%.10g,%.4g\n", label, s.avg, s.se_avg, s.worst, s.final,
              s.retrains, s.se_retrains);
      if (report)
        fprintf(report, "%-28s %10.4f %9.2g %10.4f %10.4f %9.2f %8.2g\n", label, s.avg, s.se_avg,
                s.worst, s.final, s.retrains, s.se_retrains);
    }
  return fp_output_file_commit(&f, err);
}

/* loss.csv: one row per policy and period: seed means of the loss, signal
 * and cumulative retrains, and the loss's standard error. */
static int write_loss(fp_output_dir *od, const fp_stream_result *r, const double *t,
                      char (*names)[NAME_SIZE], fp_error *err)
{
  char *path = NULL;
  fp_output_file *f = NULL;
  int rc = fp_output_dir_path(od, "loss.csv", &path, err);
  if (rc == FP_OK) rc = fp_output_file_open(path, &f, err);
  free(path);
  if (rc != FP_OK) return rc;
  FILE *out = fp_output_file_stream(f);
  fprintf(out, "policy,period,t,loss,se_loss,signal,retrain_rate,cumulative_retrains\n");
  const size_t T = r->T, P = r->npolicies, R = r->seeds;
  for (int pass = 0; pass < (r->has_exact ? 2 : 1); pass++)
    for (size_t q = 0; q < P; q++) {
      double cum = 0.0;
      for (size_t d = 1; d < T; d++) {
        double s = 0, s2 = 0, sig = 0, rate = 0;
        size_t n = pass ? 1 : R;
        for (size_t k = 0; k < n; k++) {
          size_t at = pass ? q * T + d : (k * P + q) * T + d;
          double v = pass ? r->exact_loss[at] : r->loss[at];
          s += v, s2 += v * v;
          sig += pass ? r->exact_signal[at] : r->signal[at];
          rate += pass ? r->exact_retrain[at] : r->retrain[at];
        }
        double mean = s / (double)n, se = n > 1 ? sqrt(fmax(s2 / (double)n - mean * mean, 0.0) / (double)(n - 1)) : 0.0;
        cum += rate / (double)n;
        fprintf(out, "%s%s,%zu,%.10g,%.10g,%.4g,%.10g,%.6g,%.6g\n", names[q], pass ? "@exact" : "", d,
                t[d], mean, se, sig / (double)n, rate / (double)n, cum);
      }
    }
  return fp_output_file_commit(&f, err);
}

int cli_stream_main(int argc, char **argv)
{
  stream_args a;
  int rc = parse(argc, argv, &a);
  if (rc != EXIT_OK) return rc;
  fp_error err;
  fp_error_clear(&err);
  fp_case *c = NULL;
  fp_labels *l = NULL;
  rc = fp_case_load(a.case_path, a.overrides, a.n_overrides, &c, &err);
  if (rc == FP_OK) rc = fp_labels_load(c, &l, &err);
  if (rc != FP_OK) {
    fprintf(stderr, "fpentropy: %s\n", err.message);
    fp_case_destroy(&c);
    return cli_exit_code(rc);
  }
  fp_stream_options so = {.seeds = 10, .seed = c->sample_seed, .interrupted = &cli_interrupted};
  bool ok = !a.seeds || (cli_parse_size("seeds", a.seeds, &so.seeds) && so.seeds > 0);
  size_t seed = 0;
  if (ok && a.seed) ok = cli_parse_size("seed", a.seed, &seed), so.seed = seed;
  if (!ok) {
    if (a.seeds && so.seeds == 0) fprintf(stderr, "fpentropy stream: --seeds must be positive\n");
    fp_labels_destroy(&l);
    fp_case_destroy(&c);
    return EXIT_USAGE;
  }

  /* The policies: names and specs, each checked before anything runs. */
  static char names[MAX_POLICIES][NAME_SIZE], specs_buf[MAX_POLICIES][NAME_SIZE];
  const char *specs[MAX_POLICIES];
  size_t P = 0;
  char *storage = NULL;
  if (a.n_policies) {
    for (size_t i = 0; i < a.n_policies && rc == FP_OK && P < MAX_POLICIES; i++, P++)
      rc = fp_stream_policy_parse(a.policies[i], names[P], NAME_SIZE, specs_buf[P], NAME_SIZE, &err);
  } else {
    storage = malloc(strlen(l->policies) + 1);
    if (!storage) rc = FP_ERR_NOMEM;
    else strcpy(storage, l->policies);
    for (char *save = NULL, *tok = storage ? strtok_r(storage, " \t", &save) : NULL;
         tok && rc == FP_OK && P < MAX_POLICIES; tok = strtok_r(NULL, " \t", &save), P++)
      rc = fp_stream_policy_parse(tok, names[P], NAME_SIZE, specs_buf[P], NAME_SIZE, &err);
  }
  free(storage);
  /* the canonical specs: they hold what was read from files (a debt
   * calibration, perhaps in the output directory this run cleans) */
  static fp_policy *checked[MAX_POLICIES];
  for (size_t q = 0; q < P && rc == FP_OK; q++) {
    rc = fp_policy_create(specs_buf[q], &checked[q], &err);
    if (rc == FP_OK) specs[q] = fp_policy_spec(checked[q]);
  }
  if (rc == FP_OK) {
    fp_estimator *est = NULL;
    rc = fp_estimator_create(l->estimator, &est, &err);
    fp_estimator_destroy(&est);
  }
  if (rc != FP_OK) {
    fprintf(stderr, "fpentropy: %s: %s\n", a.case_path, err.message);
    for (size_t q = 0; q < P; q++) fp_policy_destroy(&checked[q]);
    fp_labels_destroy(&l);
    fp_case_destroy(&c);
    return EXIT_USAGE;
  }

  const char *dir = a.output_dir ? a.output_dir : c->output_dir;
  double *t = NULL, *p = NULL, *pe = NULL, *kl = NULL;
  size_t T = 0;
  fp_stream_result res = {0};
  fp_run_options ro = {.output_dir = dir, .progress = NULL, .interrupted = &cli_interrupted,
                       .write_files = false};
  /* held from before the PDE run to the last table; every file in its manifest */
  fp_output_dir *od = NULL;
  rc = fp_output_dir_open(dir, &od, &err);
  if (rc == FP_OK) rc = fp_stream_densities(c, l, &ro, &t, &p, &T, &err);
  if (rc == FP_OK && T < 2)
    rc = FP_ERR_CASE, snprintf(err.message, sizeof err.message, "a stream needs at least 2 output times");
  if (rc == FP_OK) {
    pe = malloc(T * T * sizeof *pe), kl = malloc(T * T * sizeof *kl);
    if (!pe || !kl) rc = FP_ERR_NOMEM, snprintf(err.message, sizeof err.message, "out of memory");
  }
  if (rc == FP_OK) rc = fp_performance_matrix(l, &c->grid, p, t, T, pe, NULL, &err);
  if (rc == FP_OK) rc = fp_stream_training_kl(&c->grid, p, T, l->window, kl, &err);
  if (rc == FP_OK) rc = fp_output_dir_table_path(od, "pe_matrix.csv", NULL, &err);
  if (rc == FP_OK)
    rc = fp_output_write_matrix(dir, "pe_matrix.csv",
                      "pe[i][j] = expected log loss at t_j of the model trained on the window ending at t_i "
                      "(population fit on the grid); row i, column j; first column t_i",
                      t, T, pe, &err);
  if (rc == FP_OK) rc = fp_output_dir_table_path(od, "training_kl_matrix.csv", NULL, &err);
  if (rc == FP_OK)
    rc = fp_output_write_matrix(dir, "training_kl_matrix.csv",
                      "KL(p(t_j) || training density of the window ending at t_i); row i, column j; "
                      "first column t_i", t, T, kl, &err);
  double *panel = NULL;
  if (rc == FP_OK && l->features == FP_FEATURES_PARTICLES)
    rc = fp_stream_particles(c, l, so.seeds, so.seed, &panel, &err);
  if (rc == FP_OK) {
    fp_stream_data D = {&c->grid, T, t, p, pe, kl, panel};
    rc = fp_stream_run(l, &D, specs, P, &so, &res, &err);
  }
  free(panel);
  if (rc == FP_OK) rc = write_table(od, &res, names, a.quiet ? NULL : stdout, &err);
  if (rc == FP_OK) rc = write_loss(od, &res, t, names, &err);
  rc = cli_close_output_dir(&od, rc, &err);
  if (rc != FP_OK)
    fprintf(stderr, "fpentropy: %s: %s\n", a.case_path, err.message[0] ? err.message : "out of memory");
  else if (!a.quiet)
    printf("%zu periods, %zu seeds, batch %zu; table.csv, loss.csv, pe_matrix.csv, "
           "training_kl_matrix.csv in %s/\n", T, so.seeds, l->batch, dir);
  fp_stream_result_clear(&res);
  free(t), free(p), free(pe), free(kl);
  for (size_t q = 0; q < P; q++) fp_policy_destroy(&checked[q]);
  fp_labels_destroy(&l);
  fp_case_destroy(&c);
  return cli_exit_code(rc);
}
