/* fpentropy: one complete run of a case (see run.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _POSIX_C_SOURCE 200809L
#include <fpentropy/balance/balance.h>
#include <fpentropy/problem/density.h>
#include <fpentropy/fv/operator.h>
#include <fpentropy/io/output.h>
#include <fpentropy/time/resources.h>
#include <fpentropy/io/vti.h>
#include <fpentropy/time/run.h>
#include <fpentropy/fv/stationary.h>
#include <fpentropy/core/version.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc_impl.h"
#include "core/error_impl.h"
#include "core/gsl_guard_impl.h"
#include <fpentropy/problem/reference.h>

/* Largest problem for which the Hatano-Sasa split is computed at every
 * output time of a time-dependent case (one sparse LU per output). */
#define FP_SPLIT_MAX_CELLS 300000

/* Everything one run owns; released by run_context_free() on every path. */
typedef struct run_context {
  const fp_case *c;
  const fp_run_options *opt;
  const char *dir;
  fp_output_dir *out;      /* locked, cleaned, with a manifest (write_files) */
  bool owns_out;           /* out was opened here (else it is the caller's held_dir) */
  fp_operator *op;
  fp_solver *solver;
  fp_balance *balance;
  fp_reference ref;
  double *dpdt_dense;
  double *p_ss;            /* stationary density for the split, NULL if none */
  bool split;
  char split_unavailable[FP_ERROR_MESSAGE_SIZE]; /* why the optional split is off, or "" */
  double stationary_residual;
  fp_stationary_method stationary_method;
  fp_output_table *table;
  fp_output_table *snap_index;
  const char **names;      /* of balance.csv's columns (owned array) */
  size_t n_builtin, n_names;  /* built-in columns, all columns */
  size_t n_times;
  double *times;           /* union of output and snapshot times */
  size_t snapshots_written;
  double *vti_times;       /* times of the .vti snapshots so far (snapshots.pvd) */
  size_t negative_rows;    /* outputs with min p < 0 */
  double worst_residual, worst_residual_a7, worst_split; /* relative to scale */
  double min_face_sigma;
} run_context;

static void run_context_free(run_context *r)
{
  fp_output_table_abort(&r->table, true);
  fp_output_table_abort(&r->snap_index, true);
  if (r->owns_out) fp_output_dir_close(&r->out, NULL);
  r->out = NULL; /* a held directory stays open: it is the caller's */
  fp_balance_destroy(&r->balance);
  fp_solver_destroy(&r->solver);
  fp_reference_clear(&r->ref);
  fp_operator_destroy(&r->op);
  free(r->dpdt_dense);
  free(r->p_ss);
  free(r->times);
  free(r->vti_times);
  free(r->names);
}

static double seconds_since(const struct timespec *start)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

/* Sorted union of two increasing lists (exact duplicates merged). */
static int merge_times(run_context *r, fp_error *err)
{
  const fp_case *c = r->c;
  size_t na = c->n_output_times, nb = c->n_snapshot_times, i = 0, j = 0, n = 0;
  r->times = malloc((na + nb) * sizeof *r->times);
  if (!r->times) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the output times");
  while (i < na || j < nb) {
    double a = i < na ? c->output_times[i] : INFINITY, b = j < nb ? c->snapshot_times[j] : INFINITY;
    double t = a < b ? a : b;
    if (a == t) i++;
    if (b == t) j++;
    r->times[n++] = t;
  }
  r->n_times = n;
  return FP_OK;
}

static bool in_list(double t, const double *list, size_t n)
{
  for (size_t k = 0; k < n; k++)
    if (list[k] == t) return true;
  return false;
}

static const char *const base_columns[] = {"t", "mass", "min_p", "kl", "dkl_dt", "flux_form",
                                           "sigma_tot", "q_hk", "boundary", "residual",
                                           "residual_a7", "dkl_dt_fd"};
static const char *const split_columns[] = {"sigma_hk_hs", "sigma_na", "split_residual"};
#define N_BASE (sizeof base_columns / sizeof base_columns[0])
#define N_SPLIT (sizeof split_columns / sizeof split_columns[0])
#define MAX_COLUMNS (N_BASE + N_SPLIT + FP_REFERENCE_EXACT_COLUMNS)

/* The names of balance.csv's columns: built-in ones, then the hook's. */
static int column_names(run_context *r, fp_error *err)
{
  r->names = malloc((MAX_COLUMNS + FP_RUN_MAX_EXTRA_COLUMNS) * sizeof *r->names);
  if (!r->names) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the column names");
  size_t n = 0;
  for (size_t k = 0; k < N_BASE; k++) r->names[n++] = base_columns[k];
  if (r->split)
    for (size_t k = 0; k < N_SPLIT; k++) r->names[n++] = split_columns[k];
  n += fp_reference_exact_column_names(&r->ref, r->names + n);
  r->n_builtin = r->n_names = n;
  if (!r->opt->extra_columns) return FP_OK;
  size_t extra = 0;
  int rc = r->opt->extra_columns(r->names, n, r->names + n, &extra, r->opt->extra_ctx, err);
  if (rc == FP_OK && extra > FP_RUN_MAX_EXTRA_COLUMNS)
    rc = fp_fail(err, FP_ERR_ARG, "%zu extra columns (at most %d)", extra, FP_RUN_MAX_EXTRA_COLUMNS);
  if (rc == FP_OK) r->n_names += extra;
  return rc;
}

static int open_tables(run_context *r, fp_error *err)
{
  const char *const *names = r->names;
  size_t n = r->n_names;
  char preamble[512];
  char versions[256];
  fp_library_versions(versions, sizeof versions);
  snprintf(preamble, sizeof preamble, "case %s; %s; columns documented in docs/balance.md",
           r->c->path, versions);
  char *path = NULL;
  int rc = fp_output_dir_path(r->out, "balance.json", &path, err); /* the table's sidecar */
  free(path);
  path = NULL;
  if (rc == FP_OK) rc = fp_output_dir_path(r->out, "balance.csv", &path, err);
  if (rc == FP_OK) rc = fp_output_table_create(path, names, n, preamble, &r->table, err);
  free(path);
  if (rc != FP_OK || r->c->n_snapshot_times == 0) return rc;
  static const char *const snap_names[] = {"index", "t"};
  rc = fp_output_dir_path(r->out, "snapshots.json", &path, err);
  free(path);
  path = NULL;
  if (rc == FP_OK) rc = fp_output_dir_path(r->out, "snapshots.csv", &path, err);
  if (rc == FP_OK)
    rc = fp_output_table_create(path, snap_names, 2, "snapshot_<index>.vtk / .vti / .dat hold the fields at t",
                                &r->snap_index, err);
  free(path);
  return rc;
}

/* snapshot_NNNN.vti, then snapshots.pvd rewritten with every .vti so far (ParaView opens
 * the run as one animation, an unfinished one too). */
static int write_vti(run_context *r, double t, const fp_grid *g, const fp_output_field *fields,
                     size_t nfields, const fp_output_vector *current, fp_error *err)
{
  size_t n = r->snapshots_written + 1;
  double *times = realloc(r->vti_times, n * sizeof *times);
  char **names = calloc(n, sizeof *names);
  char *path = NULL;
  if (times) r->vti_times = times;
  int rc = times && names ? FP_OK : fp_fail(err, FP_ERR_NOMEM, "out of memory for a snapshot");
  for (size_t i = 0; i < n && rc == FP_OK; i++) {
    names[i] = malloc(48);
    if (!names[i]) rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for a snapshot");
    else snprintf(names[i], 48, "snapshot_%04zu.vti", i);
  }
  if (rc == FP_OK) {
    r->vti_times[n - 1] = t;
    rc = fp_output_dir_path(r->out, names[n - 1], &path, err);
  }
  if (rc == FP_OK) rc = fp_output_write_vti(path, g, t, fields, nfields, current, err);
  free(path);
  path = NULL;
  /* The manifest lists the time series once; later snapshots rewrite it. */
  if (rc == FP_OK)
    rc = n == 1 ? fp_output_dir_path(r->out, "snapshots.pvd", &path, err)
                : fp_output_join(r->dir, "snapshots.pvd", &path, err);
  if (rc == FP_OK) rc = fp_output_write_pvd(path, r->vti_times, (const char *const *)names, n, err);
  free(path);
  for (size_t i = 0; names && i < n; i++) free(names[i]);
  free(names);
  return rc;
}

static int write_snapshot(run_context *r, double t, const double *p, fp_error *err)
{
  const fp_grid *g = fp_operator_grid(r->op);
  const size_t n = g->ncells;
  const int dim = g->dim;
  const double *J = fp_balance_current(r->balance);
  double *components = malloc(n * (size_t)dim * sizeof *components);
  if (!components) return fp_fail(err, FP_ERR_NOMEM, "out of memory for a snapshot");
  /* De-interleave J into one array per axis for the writers. */
  for (int k = 0; k < dim; k++)
    for (size_t i = 0; i < n; i++) components[(size_t)k * n + i] = J[i * (size_t)dim + (size_t)k];
  static const char *const current_names[FP_MAX_DIM] = {"J_x", "J_y", "J_z"};
  fp_output_field fields[3 + FP_MAX_DIM] = {
      {"p", p},
      {"log_p_over_q", fp_balance_log_ratio(r->balance)},
      {"entropy_production", fp_balance_production(r->balance)},
  };
  size_t nfields = 3;
  fp_output_vector current = {"J", {NULL, NULL, NULL}};
  for (int k = 0; k < dim; k++) current.values[k] = components + (size_t)k * n;
  char name[64], title[128];
  char *path = NULL;
  int rc = FP_OK;
  snprintf(title, sizeof title, "fpentropy %s t=%.17g", r->c->name, t);
  if (r->c->snapshot_format & FP_SNAPSHOT_VTK) {
    snprintf(name, sizeof name, "snapshot_%04zu.vtk", r->snapshots_written);
    rc = fp_output_dir_path(r->out, name, &path, err);
    if (rc == FP_OK) rc = fp_output_write_vtk(path, g, title, fields, nfields, &current, err);
    free(path);
    path = NULL;
  }
  if (rc == FP_OK && (r->c->snapshot_format & FP_SNAPSHOT_VTI)) rc = write_vti(r, t, g, fields, 3, &current, err);
  if (rc == FP_OK && (r->c->snapshot_format & FP_SNAPSHOT_DAT)) {
    for (int k = 0; k < dim; k++) fields[nfields++] = (fp_output_field){current_names[k], current.values[k]};
    snprintf(name, sizeof name, "snapshot_%04zu.dat", r->snapshots_written);
    rc = fp_output_dir_path(r->out, name, &path, err);
    if (rc == FP_OK) rc = fp_output_write_dat(path, g, title, fields, nfields, err);
    free(path);
  }
  free(components);
  if (rc == FP_OK) {
    double row[2] = {(double)r->snapshots_written, t};
    rc = fp_output_table_append(r->snap_index, row, 2, err);
  }
  if (rc == FP_OK) r->snapshots_written++;
  return rc;
}

/* The stationary density for the Hatano-Sasa split at time t (recomputed
 * for time-dependent fields: the dynamics frozen at t). */
static int update_split(run_context *r, const double *p, fp_error *err)
{
  if (!r->split) return FP_OK;
  /* time-independent fields: solved once, at the first output.  The
   * reference density (often the stationary one in closed form) starts the
   * iterative solve closer than p does: fewer iterations, same result. */
  bool fixed = !fp_operator_time_dependent(r->op);
  if (fixed && r->stationary_residual >= 0.0) return FP_OK;
  const double *hint = fixed && r->ref.q ? r->ref.q : p;
  return fp_stationary_solve_auto(r->op, hint, r->p_ss, &r->stationary_residual,
                                  &r->stationary_method, err);
}

static void track_row(run_context *r, const fp_balance_row *row, fp_run_result *res)
{
  double scale = row->scale > 0.0 ? row->scale : 1.0;
  double rel = fabs(row->residual) / scale, rel7 = fabs(row->residual_a7) / scale;
  if (rel > r->worst_residual) r->worst_residual = rel;
  if (rel7 > r->worst_residual_a7) r->worst_residual_a7 = rel7;
  if (row->has_split) {
    /* relative to the magnitude of the face terms that cancel (scale), so
     * that it stays meaningful where the three sums are all ~0 */
    double denom = fmax(fabs(row->sigma_tot) + fabs(row->sigma_hk_hs) + fabs(row->sigma_na), row->scale);
    double s = fabs(row->split_residual) / fmax(denom, DBL_MIN);
    if (s > r->worst_split) r->worst_split = s;
  }
  if (row->min_face_sigma < r->min_face_sigma) r->min_face_sigma = row->min_face_sigma;
  if (row->min_p < res->min_density) res->min_density = row->min_p;
  if (row->min_p < 0.0) r->negative_rows++;
  if (row->nonpositive_cells > res->nonpositive_cells) res->nonpositive_cells = row->nonpositive_cells;
  if (row->nonpositive_mass < res->nonpositive_mass) res->nonpositive_mass = row->nonpositive_mass;
  double drift = fabs(row->mass - res->mass_initial) / res->mass_initial;
  if (drift > res->max_mass_drift) res->max_mass_drift = drift;
  res->mass_final = row->mass;
}

static int record_output(run_context *r, double t, const double *p, fp_run_result *res,
                         fp_error *err)
{
  fp_balance_row row;
  struct timespec phase;
  int rc = fp_operator_assemble(r->op, t, err);
  clock_gettime(CLOCK_MONOTONIC, &phase);
  if (rc == FP_OK) rc = update_split(r, p, err);
  res->stationary_seconds += seconds_since(&phase);
  clock_gettime(CLOCK_MONOTONIC, &phase);
  if (rc == FP_OK) rc = fp_solver_dense_derivative(r->solver, r->dpdt_dense, err);
  if (rc == FP_OK)
    rc = fp_balance_compute(r->balance, t, p, r->ref.q, r->dpdt_dense, r->split ? r->p_ss : NULL,
                            &row, err);
  res->balance_seconds += seconds_since(&phase);
  if (rc != FP_OK) return rc;
  if (res->rows == 0) res->mass_initial = row.mass;
  track_row(r, &row, res);
  bool is_output = in_list(t, r->c->output_times, r->c->n_output_times);
  if (is_output && r->split && isnan(res->reference_to_stationary))
    res->reference_to_stationary = fp_density_l1_distance(&r->c->grid, r->ref.q, r->p_ss);
  if (is_output && r->opt->on_row && r->opt->on_row(&row, r->opt->row_ctx) != 0)
    return fp_fail(err, FP_ERR_INTERRUPTED, "stopped by the row callback at t = %g", t);
  if (is_output && r->opt->on_density &&
      r->opt->on_density(t, p, r->c->grid.ncells, r->opt->density_ctx) != 0)
    return fp_fail(err, FP_ERR_INTERRUPTED, "stopped by the density callback at t = %g", t);
  bool is_snapshot = in_list(t, r->c->snapshot_times, r->c->n_snapshot_times);
  if (is_output) {
    double values[MAX_COLUMNS + FP_RUN_MAX_EXTRA_COLUMNS];
    const double base[N_BASE] = {row.t, row.mass, row.min_p, row.kl, row.dkl_dt, row.flux_form,
                                 row.sigma_tot, row.q_hk, row.boundary, row.residual,
                                 row.residual_a7, row.dkl_dt_fd};
    size_t n = 0;
    for (size_t k = 0; k < N_BASE; k++) values[n++] = base[k];
    if (r->split) values[n++] = row.sigma_hk_hs, values[n++] = row.sigma_na, values[n++] = row.split_residual;
    rc = fp_reference_exact_values(&r->ref, t, p, values, &n, err);
    if (rc == FP_OK && r->opt->extra_values) {
      rc = r->opt->extra_values(values, n, values + n, r->opt->extra_ctx, err);
      n += r->n_names - r->n_builtin;
    }
    if (rc == FP_OK && r->opt->write_files) rc = fp_output_table_append(r->table, values, n, err);
    if (rc != FP_OK) return rc;
    res->rows++;
  }
  clock_gettime(CLOCK_MONOTONIC, &phase);
  if (is_snapshot && r->opt->write_files) rc = write_snapshot(r, t, p, err);
  res->snapshot_seconds += seconds_since(&phase);
  return rc;
}

/* summary.txt: written first with "status: running" (so that a killed run
 * never leaves an earlier verdict behind), and last with the verdict.  Its
 * own failure is reported: a run whose summary is missing has not succeeded. */
static int write_summary(run_context *r, const fp_run_result *res, int status,
                         const fp_error *run_err, bool running, fp_error *err)
{
  if (!r->opt->write_files || !r->out) return FP_OK;
  char *path = NULL;
  fp_output_file *f = NULL;
  int rc = fp_output_dir_path(r->out, "summary.txt", &path, err);
  if (rc == FP_OK) rc = fp_output_file_open(path, &f, err);
  free(path);
  if (rc != FP_OK) return rc;
  FILE *s = fp_output_file_stream(f);
  char versions[256];
  fp_library_versions(versions, sizeof versions);
  const fp_grid *g = &r->c->grid;
  fprintf(s, "# fpentropy run summary\n");
  fprintf(s, "status: %s\n", running ? "running" : status == FP_OK ? "completed" : fp_strerror(status));
  if (running) {
    fprintf(s, "case: %s\n", r->c->path);
    return fp_output_file_commit(&f, err);
  }
  if (status != FP_OK) fprintf(s, "error: %s\n", run_err->message);
  fprintf(s, "versions: %s\ncase: %s\n", versions, r->c->path);
  fprintf(s, "cells: %zu (", g->ncells);
  for (int k = 0; k < g->dim; k++) fprintf(s, "%s%zu", k ? " x " : "", g->n[k]);
  fprintf(s, ")\noutputs_written: %zu of %zu\nsnapshots_written: %zu\n", res->rows,
          r->c->n_output_times, r->snapshots_written);
  fprintf(s, "wall_seconds: %.6f\nsetup_seconds: %.6f\nstep_seconds: %.6f\noutput_seconds: %.6f\n",
          res->wall_seconds, res->setup_seconds, res->step_seconds, res->output_seconds);
  fprintf(s, "output_stationary_seconds: %.6f\noutput_balance_seconds: %.6f\n"
             "output_snapshot_seconds: %.6f\n",
          res->stationary_seconds, res->balance_seconds, res->snapshot_seconds);
  fprintf(s, "initial_normalisation: %.17g\n", res->Z_initial);
  fprintf(s, "reference: %s", fp_reference_describe(&r->ref));
  if (res->Z_reference > 0) fprintf(s, " (normalisation %.17g)", res->Z_reference);
  fprintf(s, "\nmass_initial: %.17g\nmass_final: %.17g\nmax_relative_mass_drift: %.3e\n",
          res->mass_initial, res->mass_final, res->max_mass_drift);
  fprintf(s, "min_density: %.6e\n", res->min_density);
  fprintf(s, "scheme: %s\n", res->full_tensor ? "full tensor: two-point fluxes on the edges of "
                                                 "Selling's decomposition (monotone)"
                                               : "two-point fluxes on the cell faces (monotone)");
  fprintf(s, "nonpositive_cells: %zu\n", res->nonpositive_cells);
  if (r->negative_rows || res->nonpositive_cells)
    fprintf(s, "WARNING: p <= 0 in up to %zu cells (mass %.3e; negative at %zu output times, "
               "round-off of the time integrator): those cells have no log p; they add nothing "
               "to kl, and the rate columns take log p = log(4.9e-324) there\n",
            res->nonpositive_cells, res->nonpositive_mass, r->negative_rows);
  fprintf(s, "max_relative_residual_A13: %.3e\nmax_relative_residual_A7: %.3e\n",
          r->worst_residual, r->worst_residual_a7);
  if (r->split_unavailable[0])
    fprintf(s, "split: unavailable (%s)\n", r->split_unavailable);
  if (r->split)
    fprintf(s, "stationary_solver: %s\nstationary_residual: %.3e\nmax_relative_split_residual: %.3e\n",
            r->stationary_method == FP_STATIONARY_GMRES_FFT ? "gmres+fft" : "klu",
            r->stationary_residual, r->worst_split);
  if (isfinite(r->min_face_sigma)) fprintf(s, "min_face_sigma: %.3e\n", r->min_face_sigma);
  if (r->solver) fp_solver_print_stats(r->solver, s);
  if (r->opt->extra_summary) r->opt->extra_summary(s, r->opt->extra_ctx);
  fprintf(s, "\n# resolved case\n");
  fp_case_print(r->c, s);
  return fp_output_file_commit(&f, err);
}

int fp_run_mark_failed(fp_output_dir *d, int status, const char *message, fp_error *err)
{
  if (!d) return fp_fail(err, FP_ERR_ARG, "fp_run_mark_failed: NULL directory");
  char *path = NULL;
  int rc = fp_output_join(fp_output_dir_name(d), "summary.txt", &path, err);
  if (rc != FP_OK) return rc;
  FILE *in = fopen(path, "r");
  if (!in) { /* the run wrote no summary: nothing says "completed" */
    free(path);
    return FP_OK;
  }
  fp_output_file *out = NULL;
  rc = fp_output_file_open(path, &out, err);
  if (rc == FP_OK) {
    FILE *f = fp_output_file_stream(out);
    char line[4096];
    bool replaced = false, line_start = true;
    while (fgets(line, sizeof line, in)) {
      if (!replaced && line_start && strncmp(line, "status: completed", 17) == 0) {
        fprintf(f, "status: %s (the command failed after the run)\nerror: %s\n", fp_strerror(status),
                message && *message ? message : fp_strerror(status));
        replaced = true;
      } else {
        fputs(line, f);
      }
      line_start = strchr(line, '\n') != NULL;
    }
    if (ferror(in)) {
      fp_output_file_abort(&out);
      rc = fp_fail(err, FP_ERR_IO, "cannot read %s", path);
    } else {
      rc = fp_output_file_commit(&out, err);
    }
  }
  fclose(in);
  free(path);
  return rc;
}

/* The Hatano-Sasa split is an optional diagnostic: when its stationary
 * system cannot be solved (KLU cannot factor it, e.g. a repelling drift whose
 * stationary density underflows), the run goes on without it and the
 * summary says why.  Tried once here, before the table's columns are fixed. */
static int try_split(run_context *r, fp_run_result *res, fp_error *err)
{
  if (!r->split) return FP_OK;
  fp_error se;
  fp_error_clear(&se);
  int rc = fp_operator_assemble(r->op, 0.0, &se);
  /* the first output's solve, made here (for time-independent fields it
   * is the only one) */
  struct timespec phase;
  clock_gettime(CLOCK_MONOTONIC, &phase);
  if (rc == FP_OK) rc = update_split(r, r->ref.p0, &se);
  /* an output cost: reported with the output phase, not the setup */
  res->stationary_seconds += seconds_since(&phase);
  if (rc == FP_OK) return FP_OK;
  if (rc == FP_ERR_NOMEM || rc == FP_ERR_INTERRUPTED) {
    *err = se;
    return rc;
  }
  r->split = false;
  res->split = false;
  r->stationary_residual = -1.0;
  snprintf(r->split_unavailable, sizeof r->split_unavailable, "%s", se.message);
  return FP_OK;
}

static int setup(run_context *r, fp_run_result *res, fp_error *err)
{
  const fp_case *c = r->c;
  int rc = FP_OK;
  if (r->opt->write_files && r->opt->held_dir) {
    r->out = r->opt->held_dir; /* already locked and cleaned by the caller */
  } else if (r->opt->write_files) {
    rc = fp_output_dir_open(r->dir, &r->out, err);
    r->owns_out = rc == FP_OK;
  }
  if (rc == FP_OK) rc = write_summary(r, res, FP_OK, NULL, true, err);
  if (rc == FP_OK) rc = fp_case_check_diffusion(c, err); /* names D, not a later NaN */
  if (rc == FP_OK) rc = fp_case_check_fields(c, err);
  if (rc == FP_OK) rc = fp_operator_create(c, &r->op, err);
  if (rc == FP_OK) rc = fp_reference_init(&r->ref, c, r->op, err);
  if (rc != FP_OK) return rc;
  res->Z_initial = r->ref.Z_initial;
  res->two_point = fp_operator_two_point(r->op);
  res->full_tensor = fp_operator_full_tensor(r->op);
  res->time_dependent = fp_operator_time_dependent(r->op);
  res->reference_stationary = c->reference_kind == FP_REFERENCE_STATIONARY;
  res->Z_reference = r->ref.Z_reference;
  const fp_grid *g = &c->grid;
  bool conserving = true;
  for (int k = 0; k < g->dim; k++) conserving &= g->bc[k] != FP_BC_ABSORBING;
  if (c->split == FP_SPLIT_ON && !conserving)
    return fp_fail(err, FP_ERR_CASE,
                   "[output] split = on needs a stationary density, and there is none with an "
                   "absorbing wall (use split = auto or off)");
  r->split = conserving && fp_operator_two_point(r->op) && c->split != FP_SPLIT_OFF &&
             (c->split == FP_SPLIT_ON || !fp_operator_time_dependent(r->op) ||
              g->ncells <= FP_SPLIT_MAX_CELLS);
  res->absorbing = !conserving;
  res->split = r->split;
  r->stationary_residual = -1.0;
  r->dpdt_dense = fp_alloc_large(g->ncells * sizeof *r->dpdt_dense);
  if (r->split) r->p_ss = fp_alloc_large(g->ncells * sizeof *r->p_ss);
  if (!r->dpdt_dense || (r->split && !r->p_ss))
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu cells", g->ncells);
  rc = merge_times(r, err);
  if (rc != FP_OK) return rc;
  fp_solver_options so;
  fp_solver_options_from_case(c, r->op, &so);
  so.interrupted = r->opt->interrupted;
  so.output_times = r->times;
  so.n_output_times = r->n_times;
  rc = fp_solver_create(r->op, 0.0, r->ref.p0, &so, &r->solver, err);
  if (rc == FP_OK) {
    const char *name = fp_solver_linear_solver_name(r->solver);
    snprintf(res->linear_solver, sizeof res->linear_solver, "%s", name);
    res->rtol = fp_solver_rtol(r->solver);
    rc = fp_balance_create(r->op, &r->balance, err);
  }
  if (rc == FP_OK) rc = try_split(r, res, err);
  if (rc == FP_OK) rc = column_names(r, err);
  if (rc == FP_OK && r->opt->write_files) rc = open_tables(r, err);
  return rc;
}

static int run_case_unguarded(const fp_case *c, const fp_run_options *options, fp_run_result *result,
                fp_error *err)
{
  fp_run_result local;
  fp_run_result *res = result ? result : &local;
  memset(res, 0, sizeof *res);
  res->min_density = INFINITY;
  res->reference_to_stationary = NAN;
  res->stationary_residual = NAN;
  if (!c || !options) return fp_fail(err, FP_ERR_ARG, "fp_run_case: NULL argument");
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  run_context r = {.c = c, .opt = options, .min_face_sigma = INFINITY};
  r.dir = options->held_dir ? fp_output_dir_name(options->held_dir)
         : options->output_dir ? options->output_dir : c->output_dir;
  fp_error local_err;
  fp_error *e = err ? err : &local_err;
  fp_error_clear(e);

  int rc = setup(&r, res, e);
  res->setup_seconds = seconds_since(&start) - res->stationary_seconds;
  res->output_seconds = res->stationary_seconds;
  for (size_t k = 0; rc == FP_OK && k < r.n_times; k++) {
    double t = r.times[k];
    struct timespec phase;
    clock_gettime(CLOCK_MONOTONIC, &phase);
    rc = fp_solver_advance(r.solver, t, e);
    res->step_seconds += seconds_since(&phase);
    clock_gettime(CLOCK_MONOTONIC, &phase);
    if (rc == FP_OK) rc = record_output(&r, t, fp_solver_state(r.solver), res, e);
    res->output_seconds += seconds_since(&phase);
    if (rc == FP_OK && options->interrupted && *options->interrupted)
      rc = fp_fail(e, FP_ERR_INTERRUPTED, "interrupted at t = %g", t);
    if (options->progress && rc == FP_OK) {
      fp_solver_stats st;
      fp_solver_get_stats(r.solver, &st);
      fprintf(options->progress, "\r%s: t = %-10.4g (%3.0f%%)  steps %-7ld  %.1f s ", c->name, t,
              100.0 * t / c->t_end, st.steps, seconds_since(&start));
      if (k + 1 == r.n_times) fputc('\n', options->progress);
      fflush(options->progress);
    }
  }
  if (r.solver) fp_solver_get_stats(r.solver, &res->stats);
  if (r.split && r.stationary_residual >= 0.0) res->stationary_residual = r.stationary_residual;
  res->wall_seconds = seconds_since(&start);
  if (rc == FP_OK && options->write_files) {
    rc = fp_output_table_commit(&r.table, e);
    if (rc == FP_OK && r.snap_index) rc = fp_output_table_commit(&r.snap_index, e);
  }
  fp_error summary_err;
  fp_error_clear(&summary_err);
  int src = r.out ? write_summary(&r, res, rc, e, false, &summary_err) : FP_OK;
  if (src == FP_OK && r.out && r.owns_out) src = fp_output_dir_close(&r.out, &summary_err);
  if (src != FP_OK && rc == FP_OK) {
    *e = summary_err;
    rc = src;
  }
  run_context_free(&r);
  return rc;
}

static int run_check_densities_unguarded(const fp_case *c, fp_error *err)
{
  fp_operator *op = NULL;
  fp_reference ref = {0};
  int rc = fp_operator_create(c, &op, err);
  if (rc == FP_OK) rc = fp_reference_init(&ref, c, op, err);
  fp_reference_clear(&ref);
  fp_operator_destroy(&op);
  return rc;
}

/* Public entry points: GSL's handler off for the call (core/gsl_guard_impl.h). */

int fp_run_case(const fp_case *c, const fp_run_options *options, fp_run_result *result,
                fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = run_case_unguarded(c, options, result, err);
  fp_gsl_guard_end(guard);
  return rc;
}

int fp_run_check_densities(const fp_case *c, fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = run_check_densities_unguarded(c, err);
  fp_gsl_guard_end(guard);
  return rc;
}
