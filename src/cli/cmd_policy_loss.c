/* fpentropy CLI: policy --objective loss and --alpha-sweep (paper 001 on the exact performance
 * matrix of a labelled case; docs/streams.md).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SPECS 256

/* A policy of the loss study: an fp_policy, or UPF (not an fp_policy: it
 * reads the performance history, not one signal). */
typedef struct loss_policy {
  const char *spec;
  bool upf;
  bool oracle; /* the oracle of the sampled pe (objective sampled-loss) */
  fp_upf_options upf_opt;
  fp_policy *policy;
} loss_policy;

/* "upf" or "upf:offline=W,delta=D,horizon=H,ridge=R,scale=S". */
static int parse_upf(const char *spec, fp_upf_options *o, char *msg, size_t size)
{
  *o = (fp_upf_options){.offline = 7, .delta = 0.95, .horizon = 10, .ridge = 1e-3, .scale = 0.0,
                        .features = FP_UPF_AGE};
  const char *p = spec + 3;
  if (*p == '\0') return 0;
  if (*p != ':') return snprintf(msg, size, "policy '%s': expected upf or upf:key=value,...", spec), -1;
  char buf[512];
  snprintf(buf, sizeof buf, "%s", p + 1);
  for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '=');
    if (eq && strncmp(kv, "features=", 9) == 0 && (strcmp(eq + 1, "age") == 0 || strcmp(eq + 1, "full") == 0)) {
      o->features = strcmp(eq + 1, "full") == 0 ? FP_UPF_FULL : FP_UPF_AGE;
      continue;
    }
    char *end = NULL;
    double v = eq ? strtod(eq + 1, &end) : NAN;
    if (!eq || !end || *end || !isfinite(v))
      return snprintf(msg, size, "policy '%s': '%s' is not key=number", spec, kv), -1;
    *eq = '\0';
    if (strcmp(kv, "offline") == 0 && v >= 2 && v == floor(v)) o->offline = (size_t)v;
    else if (strcmp(kv, "delta") == 0 && v > 0 && v < 1) o->delta = v;
    else if (strcmp(kv, "horizon") == 0 && v >= 1 && v == floor(v)) o->horizon = (size_t)v;
    else if (strcmp(kv, "ridge") == 0 && v > 0) o->ridge = v;
    else if (strcmp(kv, "scale") == 0 && v >= 0) o->scale = v;
    else
      return snprintf(msg, size, "policy '%s': bad key or value '%s' (keys: offline >= 2, "
                      "0 < delta < 1, horizon >= 1, ridge > 0, scale >= 0, features = age|full)", spec, kv), -1;
  }
  return 0;
}

/* Policy q decides on the decision problem (pe_dec: the exact pe, or one
 * sampled stream's) and is scored with C_alpha on the exact pe_s of the online
 * horizon.  sched has T entries (UPF fills all; the others from `first` on). */
static int score(loss_policy *lp, const fp_loss_problem *prob_dec, const double *pe_dec, size_t T,
                 const double *pe_s, size_t first, const double *z, double alpha, bool *sched,
                 double *cost, size_t *n, fp_error *err)
{
  int rc;
  memset(sched, 0, T * sizeof *sched);
  if (lp->oracle)
    rc = fp_loss_oracle(prob_dec, alpha, sched + first, NULL, NULL, err);
  else if (!lp->upf)
    rc = fp_loss_policy_run(lp->policy, prob_dec, alpha, sched + first, NULL, NULL, err);
  else
    rc = fp_upf_run(pe_dec, T, z, alpha, &lp->upf_opt, sched, err);
  if (rc != FP_OK) return rc;
  *cost = fp_loss_objective(pe_s, T - first, alpha, sched + first, n);
  return FP_OK;
}

int cli_policy_loss(const cli_args *a)
{
  if (a->objective && strcmp(a->objective, "loss") != 0 && strcmp(a->objective, "sampled-loss") != 0) {
    fprintf(stderr, "fpentropy policy: --objective: expected kl, loss or sampled-loss, got '%s'\n", a->objective);
    return EXIT_USAGE;
  }
  const bool sampled = a->objective && strcmp(a->objective, "sampled-loss") == 0;
  if (!a->objective) {
    fprintf(stderr, "fpentropy policy: --alpha-sweep needs --objective loss\n");
    return EXIT_USAGE;
  }
  fp_case *c = NULL;
  int rc = cli_load_case(a, &c);
  if (rc != FP_OK) return cli_exit_code(rc);
  fp_error err;
  fp_error_clear(&err);
  fp_labels *l = NULL;
  if ((rc = fp_labels_load(c, &l, &err)) != FP_OK) {
    fprintf(stderr, "fpentropy: %s (--objective loss needs the case's [labels])\n", err.message);
    fp_case_destroy(&c);
    return cli_exit_code(rc);
  }
  double alpha = c->retrain_cost, amax = 0.0;
  size_t nalpha = 0;
  bool ok = !a->cost || (cli_parse_double("cost", a->cost, &alpha) && alpha >= 0);
  if (ok && a->alpha_sweep) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", a->alpha_sweep);
    char *colon = strchr(buf, ':');
    nalpha = 21;
    if (colon) *colon = '\0', ok = cli_parse_size("alpha-sweep", colon + 1, &nalpha) && nalpha >= 2;
    ok = ok && cli_parse_double("alpha-sweep", buf, &amax) && amax > 0;
    if (!ok) fprintf(stderr, "fpentropy policy: --alpha-sweep: expected AMAX > 0 or AMAX:N (N >= 2)\n");
  }

  /* the policies: --policy or [policy] policies */
  loss_policy pols[MAX_SPECS];
  memset(pols, 0, sizeof pols);
  size_t P = 0;
  char *storage = NULL;
  const char *texts[MAX_SPECS];
  if (a->n_policies) {
    for (size_t i = 0; i < a->n_policies && i < MAX_SPECS; i++) texts[P++] = a->policies[i];
  } else if ((storage = strdup(c->policies))) {
    for (char *save = NULL, *tok = strtok_r(storage, " \t", &save); tok && P < MAX_SPECS;
         tok = strtok_r(NULL, " \t", &save))
      texts[P++] = tok;
  }
  size_t first = 0;
  for (size_t q = 0; q < P && ok; q++) {
    pols[q].spec = texts[q];
    if (strncmp(texts[q], "upf", 3) == 0 && (texts[q][3] == '\0' || texts[q][3] == ':')) {
      pols[q].upf = true;
      char msg[512];
      if (parse_upf(texts[q], &pols[q].upf_opt, msg, sizeof msg) != 0) {
        fprintf(stderr, "fpentropy: %s\n", msg);
        ok = false;
      } else if (pols[q].upf_opt.offline - 1 > first)
        first = pols[q].upf_opt.offline - 1;
    } else if (fp_policy_create(texts[q], &pols[q].policy, &err) != FP_OK) {
      fprintf(stderr, "fpentropy: %s: policy: %s\n", a->case_path, err.message);
      ok = false;
    }
  }
  if (ok && sampled && P < MAX_SPECS) pols[P].spec = "oracle@sampled", pols[P++].oracle = true;
  const char *dir = a->output_dir ? a->output_dir : c->output_dir;
  double *t = NULL, *p = NULL, *pe = NULL, *K = NULL, *pe_s = NULL, *K_s = NULL, *z = NULL;
  double *pe_dec = NULL, *pe_dec_s = NULL;
  double *alphas = NULL, *costs = NULL;
  size_t *counts = NULL;
  bool *sched = NULL;
  size_t T = 0;
  fp_loss_problem prob = {0};
  fp_output_dir *od = NULL; /* held from before the PDE run to the last table */
  if (!ok) {
    rc = FP_ERR_ARG;
    goto done;
  }
  fp_run_options ro = {.output_dir = dir, .progress = a->progress ? stderr : NULL,
                       .interrupted = &cli_interrupted, .write_files = false};
  rc = fp_output_dir_open(dir, &od, &err);
  if (rc == FP_OK) rc = fp_stream_densities(c, l, &ro, &t, &p, &T, &err);
  if (rc == FP_OK && T < first + 2) {
    rc = FP_ERR_ARG;
    snprintf(err.message, sizeof err.message, "%zu periods: fewer than UPF's offline + 1", T);
  }
  if (rc != FP_OK) goto done;
  size_t n = c->grid.ncells, Ts = T - first, NA = (a->alpha_sweep ? nalpha : 0) + 1;
  pe = malloc(T * T * sizeof *pe), K = malloc(T * T * sizeof *K), z = calloc(T, sizeof *z);
  pe_s = malloc(Ts * Ts * sizeof *pe_s), K_s = malloc(Ts * Ts * sizeof *K_s);
  alphas = malloc(NA * sizeof *alphas), costs = malloc(NA * (P + 1) * sizeof *costs);
  counts = malloc(NA * (P + 1) * sizeof *counts), sched = malloc(T * sizeof *sched);
  pe_dec = sampled ? malloc(T * T * sizeof *pe_dec) : pe;
  pe_dec_s = sampled ? malloc(Ts * Ts * sizeof *pe_dec_s) : pe_s;
  if (!pe || !K || !z || !pe_s || !K_s || !alphas || !costs || !counts || !sched || !pe_dec || !pe_dec_s) {
    rc = FP_ERR_NOMEM;
    snprintf(err.message, sizeof err.message, "out of memory");
    goto done;
  }
  fp_density_series view = {.T = T, .ncells = n, .t = t, .p = p};
  rc = fp_mismatch_matrix(&c->grid, &view, K, &err);
  if (rc == FP_OK) rc = fp_performance_matrix(l, &c->grid, p, t, T, pe, NULL, &err);
  if (rc == FP_OK) rc = fp_output_dir_table_path(od, "pe_matrix.csv", NULL, &err);
  if (rc == FP_OK)
    rc = fp_output_write_matrix(dir, "pe_matrix.csv", "pe[i][j] = expected log loss at t_j of the model trained on "
                      "the window ending at t_i (population fit on the grid); row i, column j", t, T, pe, &err);
  if (rc == FP_OK) rc = fp_output_dir_table_path(od, "kl_matrix.csv", NULL, &err);
  if (rc == FP_OK)
    rc = fp_output_write_matrix(dir, "kl_matrix.csv", "K[k][j] = KL(p(t_k) || p(t_j)) for j < k; row k, column j",
                      t, T, K, &err);
  if (rc != FP_OK) goto done;
  /* UPF's shift feature: the l1 distance of consecutive feature means */
  for (size_t j = 1; j < T; j++) {
    double d = 0.0;
    for (int ax = 0; ax < c->grid.dim; ax++) {
      double m0 = 0, m1 = 0;
      for (size_t q = 0; q < n; q++) {
        double x[FP_MAX_DIM];
        fp_grid_cell_center(&c->grid, q, x);
        m1 += p[j * n + q] * x[ax], m0 += p[(j - 1) * n + q] * x[ax];
      }
      d += fabs(m1 - m0) * c->grid.cell_volume;
    }
    z[j] = d;
  }
  if (sampled) {
    /* one stream of [labels] batch points per period, seed [sample] seed */
    fp_stream_data D = {.grid = &c->grid, .T = T, .t = t, .p = p};
    rc = fp_stream_sampled_pe(l, &D, c->sample_seed, 0, pe_dec, &err);
    if (rc == FP_OK) rc = fp_output_dir_table_path(od, "pe_sampled.csv", NULL, &err);
    if (rc == FP_OK)
      rc = fp_output_write_matrix(dir, "pe_sampled.csv", "pe_hat[i][j] = log loss on the batch of t_j of the model "
                        "fitted on the batches of the window ending at t_i (one stream); row i, column j",
                        t, T, pe_dec, &err);
    if (rc != FP_OK) goto done;
    fp_loss_submatrix(pe_dec, T, first, pe_dec_s);
  }
  fp_loss_submatrix(pe, T, first, pe_s);
  fp_loss_submatrix(K, T, first, K_s);
  rc = fp_loss_problem_init(pe_dec_s, K_s, t + first, Ts, &prob, &err);
  alphas[0] = alpha;
  for (size_t k = 1; k < NA; k++) alphas[k] = amax * (double)(k - 1) / (double)(nalpha - 1);
  for (size_t k = 0; k < NA && rc == FP_OK; k++) {
    for (size_t q = 0; q < P && rc == FP_OK; q++)
      rc = score(&pols[q], &prob, pe_dec, T, pe_s, first, z, alphas[k], sched, &costs[k * (P + 1) + q],
                 &counts[k * (P + 1) + q], &err);
    /* the exact oracle, on the exact pe */
    loss_policy exact_oracle = {.spec = "oracle", .oracle = true};
    fp_loss_problem exact = {0};
    if (rc == FP_OK) rc = fp_loss_problem_init(pe_s, K_s, t + first, Ts, &exact, &err);
    if (rc == FP_OK)
      rc = score(&exact_oracle, &exact, pe, T, pe_s, first, z, alphas[k], sched, &costs[k * (P + 1) + P],
                 &counts[k * (P + 1) + P], &err);
    fp_loss_problem_clear(&exact);
  }
  if (rc != FP_OK) goto done;

  /* loss_summary.csv at alpha = --cost, alpha_sweep.csv and auc.csv */
  char *path = NULL;
  fp_output_file *f = NULL;
  char comment[512];
  snprintf(comment, sizeof comment, "C_alpha = alpha #retrains + sum_{t=%zu}^{%zu} pe[r(t)][t] (exact pe), "
           "alpha = %.17g; first model f_%zu; decisions on the %s pe", first + 1, T - 1, alpha, first,
           sampled ? "sampled" : "exact");
  rc = fp_output_dir_table_path(od, "loss_summary.csv", &path, &err);
  if (rc == FP_OK) rc = fp_output_sidecar_write(path, comment, NULL, 0, &err); /* pandas-ready CSV */
  if (rc == FP_OK) rc = fp_output_file_open(path, &f, &err);
  free(path), path = NULL;
  if (rc != FP_OK) goto done;
  FILE *out = fp_output_file_stream(f);
  fprintf(out, "policy,retrains,cost,oracle_cost,regret\n");
  if (!a->quiet)
    printf("C_alpha on pe, alpha = %g, periods %zu..%zu (model f_%zu deployed first)\n%-40s %8s %12s %10s\n",
           alpha, first + 1, T - 1, first, "policy", "retrains", "cost", "regret");
  double oc = costs[P];
  for (size_t q = 0; q <= P; q++) {
    const char *name = q < P ? pols[q].spec : "oracle";
    fprintf(out, "%s,%zu,%.17g,%.17g,%.17g\n", name, counts[q], costs[q], oc, costs[q] - oc);
    if (!a->quiet) printf("%-40s %8zu %12.5f %10.5f\n", name, counts[q], costs[q], costs[q] - oc);
  }
  rc = fp_output_file_commit(&f, &err);
  if (rc == FP_OK && a->alpha_sweep) {
    rc = fp_output_dir_path(od, "alpha_sweep.csv", &path, &err);
    if (rc == FP_OK) rc = fp_output_file_open(path, &f, &err);
    free(path), path = NULL;
    if (rc != FP_OK) goto done;
    out = fp_output_file_stream(f);
    fprintf(out, "alpha,policy,retrains,cost\n");
    for (size_t k = 1; k < NA; k++)
      for (size_t q = 0; q <= P; q++)
        fprintf(out, "%.17g,%s,%zu,%.17g\n", alphas[k], q < P ? pols[q].spec : "oracle",
                counts[k * (P + 1) + q], costs[k * (P + 1) + q]);
    rc = fp_output_file_commit(&f, &err);
    if (rc == FP_OK) rc = fp_output_dir_table_path(od, "auc.csv", &path, &err);
    snprintf(comment, sizeof comment, "area under C_alpha over alpha = 0..%.17g (%zu points, trapezoid)",
             amax, nalpha);
    if (rc == FP_OK) rc = fp_output_sidecar_write(path, comment, NULL, 0, &err);
    if (rc == FP_OK) rc = fp_output_file_open(path, &f, &err);
    free(path), path = NULL;
    if (rc != FP_OK) goto done;
    out = fp_output_file_stream(f);
    fprintf(out, "policy,auc,auc_over_oracle\n");
    double *col = malloc(nalpha * sizeof *col);
    double oracle_auc = 0.0;
    if (!a->quiet) printf("AUC of C_alpha over alpha in [0, %g]:\n", amax);
    for (size_t qq = 0; qq <= P && col; qq++) {
      size_t q = qq == 0 ? P : qq - 1; /* the oracle first */
      for (size_t k = 1; k < NA; k++) col[k - 1] = costs[k * (P + 1) + q];
      double auc = fp_loss_auc(alphas + 1, col, nalpha);
      if (q == P) oracle_auc = auc;
      fprintf(out, "%s,%.17g,%.17g\n", q < P ? pols[q].spec : "oracle", auc, auc / oracle_auc);
      if (!a->quiet) printf("  %-38s %12.5f  (x%.4f of the oracle)\n", q < P ? pols[q].spec : "oracle", auc, auc / oracle_auc);
    }
    free(col);
    rc = fp_output_file_commit(&f, &err);
  }
done:
  rc = cli_close_output_dir(&od, rc, &err);
  if (rc != FP_OK && rc != FP_ERR_ARG)
    fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, err.message);
  else if (rc == FP_ERR_ARG && err.message[0])
    fprintf(stderr, "fpentropy: %s: %s\n", a->case_path, err.message);
  fp_loss_problem_clear(&prob);
  for (size_t q = 0; q < P; q++) fp_policy_destroy(&pols[q].policy);
  if (sampled) free(pe_dec), free(pe_dec_s);
  free(storage), free(t), free(p), free(pe), free(K), free(pe_s), free(K_s), free(z);
  free(alphas), free(costs), free(counts), free(sched);
  fp_labels_destroy(&l);
  fp_case_destroy(&c);
  return cli_exit_code(rc);
}
