/* fpentropy: one complete run of a case (what `fpentropy run` does).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_run_options: output directory override (or a directory the caller
 *     already holds), progress, interruption flag;
 *   - fp_run_result: what the run measured (for the CLI and for tests);
 *   - fp_run_case(): build the operator, sample the densities, integrate with
 *     CVODE, and write balance.csv, snapshots and summary.txt;
 *   - fp_run_mark_failed(): summary.txt of a command that failed after its run.
 *
 * Files are written atomically (to "<name>.partial", then renamed), so a run
 * that fails or is interrupted never leaves a truncated file that looks
 * complete: balance.csv always holds every row computed so far, and
 * summary.txt says how the run ended.
 */
#ifndef FPENTROPY_RUN_H
#define FPENTROPY_RUN_H

#include <fpentropy/export.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include <fpentropy/balance/balance.h>
#include <fpentropy/io/output.h>
#include <fpentropy/problem/case.h>
#include <fpentropy/time/solver.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most columns the extra_columns hook may add to balance.csv. */
#define FP_RUN_MAX_EXTRA_COLUMNS 64

typedef struct fp_run_options {
  const char *output_dir;               /* NULL: the case's [output] directory */
  FILE *progress;                       /* NULL: no progress lines */
  volatile sig_atomic_t *interrupted;   /* NULL, or a flag set by a signal handler */
  bool write_files;                     /* false: compute only (tests, benchmarks) */
  /* Called with every balance row at the case's output times (may be NULL);
   * a non-zero return stops the run with FP_ERR_INTERRUPTED. */
  int (*on_row)(const fp_balance_row *row, void *ctx);
  void *row_ctx;
  /* Called with the density (ncells values, valid during the call) at every
   * output time (may be NULL); non-zero stops the run like on_row. */
  int (*on_density)(double t, const double *p, size_t ncells, void *ctx);
  void *density_ctx;
  /* Hooks for columns computed outside the run (time/estimate.c; all may be
   * NULL).  extra_columns is called once during setup with the names of the
   * built-in columns and sets *n_extra (<= FP_RUN_MAX_EXTRA_COLUMNS) names
   * to append (they must stay valid until the run returns); extra_values is
   * called at every output time with the built-in values and fills the
   * n_extra appended ones; extra_summary adds lines to summary.txt.  The
   * first two return an fp_status (anything else stops the run). */
  int (*extra_columns)(const char *const *names, size_t n, const char **extra_names,
                       size_t *n_extra, void *ctx, fp_error *err);
  int (*extra_values)(const double *values, size_t n, double *extra, void *ctx, fp_error *err);
  void (*extra_summary)(FILE *summary, void *ctx);
  void *extra_ctx;
  /* NULL: the run opens (locks and cleans) the output directory itself
   * (fp_output_dir_open()) and closes it when it returns.  Else a directory
   * the caller already holds: the run writes into it (output_dir is then not
   * used), records its files in its manifest, and leaves it open, so that a
   * command writing files of its own after the run (compare, policy) keeps
   * the lock for its whole lifetime.  Not used when write_files is false. */
  fp_output_dir *held_dir;
} fp_run_options;

typedef struct fp_run_result {
  size_t rows;             /* output times completed */
  double wall_seconds;
  double setup_seconds;    /* operator, densities, closed form, solver setup */
  double step_seconds;     /* CVODE time stepping */
  double output_seconds;   /* balance diagnostics, stationary solves, files */
  double stationary_seconds; /* of output_seconds: stationary densities for the split */
  double balance_seconds;  /* of output_seconds: balance rows (with the dense derivative) */
  double snapshot_seconds; /* of output_seconds: snapshot files */
  double mass_initial, mass_final;
  double max_mass_drift;   /* max over outputs of |mass - mass(0)| / mass(0) */
  double min_density;      /* smallest cell value over all outputs */
  double Z_initial;        /* normalising constant of the initial density */
  double Z_reference;      /* normalising constant of q_ref (0 if not an expression) */
  fp_solver_stats stats;
  char linear_solver[32];
  /* what the verification needs to know about the run */
  bool two_point;               /* every flux is two-point (diagonal D, and the full-tensor edges) */
  bool full_tensor;             /* off-diagonal D: Selling edges (docs/scheme.md) */
  size_t nonpositive_cells;     /* most cells with p <= 0 at one output (no log p there) */
  double nonpositive_mass;      /* most negative mass of such cells at one output */
  bool time_dependent;          /* fields depend on t */
  bool absorbing;               /* some wall is absorbing */
  bool split;                   /* the Hatano-Sasa split was computed */
  bool reference_stationary;    /* q_ref is the discrete stationary density */
  double reference_to_stationary; /* L1 distance of q_ref to p_ss at t = 0 (NAN if unknown) */
  double stationary_residual;   /* of the last stationary solve (NAN if none) */
  double rtol;
} fp_run_result;

/* Run case `c`.  On success and on failure `result` (may be NULL) holds what
 * was measured up to the end.  Errors: anything the modules report, and
 * FP_ERR_INTERRUPTED when *options->interrupted became non-zero. */
FP_API int fp_run_case(const fp_case *c, const fp_run_options *options, fp_run_result *result,
                fp_error *err);

/* For a command that goes on after its run (compare, policy): when it fails
 * after fp_run_case() completed, rewrite summary.txt in the directory it holds
 * (d, given to the run as held_dir) so that it does not say "completed": the
 * status line becomes "status: <fp_strerror(status)> (the command failed after
 * the run)", followed by "error: <message>".  Call it before closing d (a
 * directory no longer held may already belong to another run).  No
 * summary.txt, or one that does not say "completed": left as it is.
 * Returns FP_OK, FP_ERR_ARG (NULL d), FP_ERR_IO, FP_ERR_NOMEM. */
FP_API int fp_run_mark_failed(fp_output_dir *d, int status, const char *message, fp_error *err);

/* Sample the initial and reference densities of `c` on its grid and check
 * them (what `fpentropy check` does beyond parsing), without time stepping. */
FP_API int fp_run_check_densities(const fp_case *c, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_RUN_H */
