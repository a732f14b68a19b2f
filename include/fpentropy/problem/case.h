/* fpentropy: case files (the description of one Fokker-Planck problem).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_case, a validated problem description: domain, dynamics (Ito
 *     convention), initial and reference densities, times, solver options and
 *     output settings;
 *   - fp_case_load(), which reads an INI file, applies command-line overrides
 *     ("section.key=value") and validates everything before any computation;
 *   - fp_case_destroy(), fp_case_print() (the resolved case with the source of
 *     each value).
 *
 * The file format is documented key by key in docs/case-files.md.
 */
#ifndef FPENTROPY_CASE_H
#define FPENTROPY_CASE_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <fpentropy/problem/expr.h>
#include <fpentropy/problem/grid.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fp_reference_kind {
  FP_REFERENCE_EXPRESSION = 0, /* [reference] density = <expression> */
  FP_REFERENCE_INITIAL,        /* [reference] density = initial */
  FP_REFERENCE_STATIONARY      /* [reference] density = stationary */
} fp_reference_kind;

/* When the Hatano-Sasa split (a stationary solve) is computed. */
typedef enum fp_split_mode {
  FP_SPLIT_AUTO = 0, /* when it exists (two-point fluxes, no absorbing wall) and is affordable */
  FP_SPLIT_ON,       /* whenever it exists, whatever the size */
  FP_SPLIT_OFF       /* never (saves one sparse LU, or one per output for t-dependent fields) */
} fp_split_mode;

/* [output] error_estimate: grid-refinement estimate of the discretisation
 * error of the balance columns (time/estimate.h, docs/error-estimate.md). */
typedef enum fp_error_estimate_mode {
  FP_ERROR_ESTIMATE_OFF = 0, /* one run on the case's grid */
  FP_ERROR_ESTIMATE_ON,      /* plus one on half the cells per axis: Q_err, Q_rich */
  FP_ERROR_ESTIMATE_VERIFY   /* plus N/2 and N/4: observed order per column and time */
} fp_error_estimate_mode;

/* [time] integrator: CVODE's BDF, or the Krylov exponential integrator for
 * time-independent fields (time/expo.c); auto picks (solver.h). */
typedef enum fp_integrator_kind {
  FP_INTEGRATOR_AUTO = 0,
  FP_INTEGRATOR_CVODE,
  FP_INTEGRATOR_EXPONENTIAL
} fp_integrator_kind;

/* [time] rtol = auto: the solver picks rtol from the grid's spatial error
 * level (fp_solver_auto_rtol). */
#define FP_RTOL_AUTO 0.0

typedef enum fp_linear_solver_kind {
  FP_LINSOL_AUTO = 0, /* chosen from dimension, boundaries and size */
  FP_LINSOL_BAND,     /* SUNDIALS band LU (1D, non-periodic) */
  FP_LINSOL_DENSE,    /* SUNDIALS dense LU (small problems, tests) */
  FP_LINSOL_KLU,      /* sparse direct LU (KLU) with the exact Jacobian */
  FP_LINSOL_GMRES     /* matrix-free GMRES with an optional preconditioner */
} fp_linear_solver_kind;

typedef enum fp_preconditioner_kind {
  FP_PREC_AUTO = 0, /* fft for gmres */
  FP_PREC_NONE,
  FP_PREC_FFT       /* constant-coefficient diffusion solved by fast transforms */
} fp_preconditioner_kind;

/* Snapshot file formats (bit flags). */
#define FP_SNAPSHOT_VTK 1u /* legacy VTK STRUCTURED_POINTS, ASCII (ParaView) */
#define FP_SNAPSHOT_DAT 2u /* whitespace columns with '#' header (numpy, gnuplot) */
#define FP_SNAPSHOT_VTI 4u /* VTK XML image data, binary, zlib (ParaView; + snapshots.pvd) */

/* Where one resolved key came from (for the run summary). */
typedef struct fp_case_entry {
  char *section; /* owned */
  char *key;     /* owned */
  char *value;   /* owned, as written (after continuation lines are joined) */
  char *source;  /* owned: "path:line" or "--set" */
} fp_case_entry;

typedef struct fp_case {
  char *path;       /* the case file as given (owned) */
  char *name;       /* basename without ".ini" (owned) */

  fp_grid grid;     /* [domain]: dimension, lower, upper, cells, boundary */

  fp_constants constants; /* [constants]: name = expression of earlier ones */

  /* [dynamics], Ito convention.  Entries are never NULL after loading:
   * missing drift components and off-diagonal diffusion entries are the
   * expression "0".  diffusion[i][j] and diffusion[j][i] point to separate
   * objects with the same text. */
  fp_expr *drift[FP_MAX_DIM];
  fp_expr *diffusion[FP_MAX_DIM][FP_MAX_DIM];
  fp_expr *potential;      /* NULL unless `potential` is given */
  bool diagonal_diffusion; /* true when every off-diagonal entry is 0 */

  fp_expr *initial;        /* [initial] density (unnormalised, >= 0) */
  fp_reference_kind reference_kind;
  fp_expr *reference;      /* [reference] density; NULL unless EXPRESSION */
  bool reference_normalise;/* [reference] normalise: false keeps q_ref as written (no
                              normalisation on the box; expressions only) */

  /* [time] */
  double t_end;
  size_t n_output_times;
  double *output_times;    /* owned, strictly increasing, first >= 0, last == t_end */
  double rtol, atol;        /* rtol FP_RTOL_AUTO: from the spatial error level (solver.h) */
  long max_steps;          /* CVODE mxstep between two output times */
  double max_step;         /* 0: no limit */
  double initial_step;     /* 0: CVODE's estimate */
  fp_integrator_kind integrator;

  /* [solver] */
  fp_linear_solver_kind linear_solver;
  fp_preconditioner_kind preconditioner;
  int krylov_dim;          /* GMRES restart length */
  bool fft_measure;        /* FFTW_MEASURE plans: faster transforms, slower setup,
                              not bitwise reproducible (default: FFTW_ESTIMATE) */

  /* [output] */
  char *output_dir;        /* owned */
  size_t n_snapshot_times;
  double *snapshot_times;  /* owned, strictly increasing, within [0, t_end] */
  unsigned snapshot_format; /* FP_SNAPSHOT_* bits */
  fp_split_mode split;     /* [output] split */
  fp_error_estimate_mode error_estimate; /* [output] error_estimate */

  /* [sample]: particle streams and sample estimators (fpentropy sample, compare) */
  size_t sample_particles;
  size_t sample_replicas;
  unsigned long sample_seed;
  double sample_dt;        /* 0: automatic */
  size_t n_sample_sizes;
  size_t *sample_sizes;    /* owned: the N of `compare` */
  char *estimators;        /* owned: whitespace-separated estimator specs */

  /* [policy]: retraining policies (fpentropy policy) */
  char *policies;          /* owned: whitespace-separated policy specs */
  double retrain_cost;     /* c of C = c #retrains + sum D dt */
  double kappa;            /* 002's c_churn / c_wait */
  double stale_threshold;  /* Z_k = [true mismatch > stale_threshold] */

  /* Every key that was set, in file order then override order. */
  size_t n_entries;
  fp_case_entry *entries;  /* owned */
} fp_case;

/* Read and validate a case file.
 *   path        the INI file;
 *   overrides   n_overrides strings "section.key=value" applied after the
 *               file (they replace the file's value, or add a missing key);
 *   out         receives a new case on success, NULL on failure.
 * Errors (FP_ERR_CASE, FP_ERR_EXPR, FP_ERR_IO, FP_ERR_NOMEM) come with a
 * message "path:line: [section] key: what was expected, what was found"
 * (or "--set section.key=...: ..." for overrides).  Nothing is computed
 * before validation is complete.  Ownership: fp_case_destroy(). */
FP_API int fp_case_load(const char *path, const char *const *overrides, size_t n_overrides,
                 fp_case **out, fp_error *err);

/* The same from the text of a case file held in memory.  `name` stands for
 * the file in messages ("name:line: ...") and gives the case its name (the
 * part before ".ini"; NULL: "<string>").  Errors as fp_case_load().
 * Ownership: fp_case_destroy(). */
FP_API int fp_case_load_string(const char *text, const char *name, const char *const *overrides,
                        size_t n_overrides, fp_case **out, fp_error *err);

/* Destroy a case and set *c to NULL.  Accepts NULL and half-built cases. */
FP_API void fp_case_destroy(fp_case **c);

/* Print the resolved case (one "section.key = value    # source" line per
 * entry, plus the defaults that were applied) to `f`. */
FP_API void fp_case_print(const fp_case *c, FILE *f);

/* Parsing helpers shared with the CLI (also used for --set values). */
FP_API const char *fp_linear_solver_name(fp_linear_solver_kind k);
FP_API const char *fp_preconditioner_name(fp_preconditioner_kind k);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_CASE_H */
