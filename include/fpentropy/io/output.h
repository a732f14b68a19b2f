/* fpentropy: the files a run writes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_output_file, an "atomic" output file: written as "<path>.partial",
 *     then flushed, fsync'ed, closed and renamed onto <path> by
 *     fp_output_file_commit(), or removed by fp_output_file_abort();
 *   - fp_output_mkdir() (mkdir -p) and fp_output_join() (dir + "/" + name);
 *   - fp_output_table, the CSV table of the entropy balance (balance.csv),
 *     appended row by row;
 *   - fp_output_write_vtk() and fp_output_write_dat(), snapshots of scalar
 *     fields (and optionally one vector field) on an fp_grid.
 *
 * The rule every writer here follows: a file that exists under its final
 * name is complete.  A run that fails, is interrupted or crashes leaves at
 * most a "<name>.partial" file (whose name says what it is) and never a
 * truncated file that looks finished; a complete file from an earlier run is
 * replaced only at the moment the new one is complete (rename(2) is atomic
 * within a file system).
 *
 * Numbers are written with "%.17g", which round-trips every double exactly.
 * Non-finite values (NaN, +-Inf) are never written: the writers fail with
 * FP_ERR_NUMERIC naming the column or field and the row or cell, and leave no
 * final file behind.
 *
 * Names (CSV columns, fields) must be non-empty and consist of printable ASCII
 * characters other than space, comma, quotes and '#', so that every format
 * (CSV header, VTK keyword lines, whitespace-separated .dat header) can carry
 * them unquoted; names in one file must be distinct.
 *
 * Thread safety: objects must not be shared between threads; distinct
 * objects are independent.  Nothing here prints or keeps global state.
 */
#ifndef FPENTROPY_OUTPUT_H
#define FPENTROPY_OUTPUT_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <fpentropy/problem/grid.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------------------- */
/* Atomic files                                                             */
/* ----------------------------------------------------------------------- */

typedef struct fp_output_file fp_output_file; /* opaque */

/* The suffix of the file being written. */
#define FP_OUTPUT_PARTIAL_SUFFIX ".partial"

/* Start writing `path`: creates (or truncates a stale) "<path>.partial".
 * An existing file at `path` is left untouched until the commit.
 * Returns FP_OK; FP_ERR_ARG (NULL or empty path); FP_ERR_IO (cannot create
 * the partial file; the message names it and gives the system's reason);
 * FP_ERR_NOMEM.  Ownership: *out must be ended by exactly one of
 * fp_output_file_commit() or fp_output_file_abort(). */
FP_API int fp_output_file_open(const char *path, fp_output_file **out, fp_error *err);

/* The stream to write to (owned by f; do not fclose it).  Write errors need
 * not be checked call by call: they are sticky and make the commit fail. */
FP_API FILE *fp_output_file_stream(fp_output_file *f);

/* The final path (owned by f). */
FP_API const char *fp_output_file_path(const fp_output_file *f);

/* Finish: check the stream for earlier write errors, fflush, fsync, fclose,
 * then rename "<path>.partial" onto <path> (and fsync the directory, best
 * effort, so that the rename itself survives a crash).
 * Always consumes *f and sets it to NULL.  On failure the partial file is
 * removed and any earlier file at <path> is left as it was.
 * Returns FP_OK or FP_ERR_IO (the message names the failing step). */
FP_API int fp_output_file_commit(fp_output_file **f, fp_error *err);

/* Give up: close and remove "<path>.partial", leaving <path> as it was.
 * Consumes *f and sets it to NULL; NULL or *f == NULL is a no-op. */
FP_API void fp_output_file_abort(fp_output_file **f);

/* ----------------------------------------------------------------------- */
/* Directories and paths                                                    */
/* ----------------------------------------------------------------------- */

/* Create the directory `path` and any missing parents (mkdir -p; mode 0777
 * less the umask).  An existing directory is success.
 * Returns FP_OK; FP_ERR_ARG (NULL or empty); FP_ERR_IO with a message naming
 * the component that could not be created and why (e.g. it exists as a
 * regular file); FP_ERR_NOMEM. */
FP_API int fp_output_mkdir(const char *path, fp_error *err);

/* *out = dir + "/" + name (no doubled '/' when dir ends with one; just name
 * when dir is NULL or empty).  Returns FP_OK, FP_ERR_ARG or FP_ERR_NOMEM.
 * Ownership: the caller free()s *out. */
FP_API int fp_output_join(const char *dir, const char *name, char **out, fp_error *err);

/* An output directory held by one run.  fp_output_dir_open() creates it
 * (mkdir -p), takes an exclusive flock(2) on it for as long as the handle
 * lives (a second run into the same directory fails at once with a message
 * saying so), removes the files an earlier run wrote there (those its
 * manifest lists, and the run's own names: summary.txt, balance.csv,
 * snapshots.csv, snapshot_NNNN.vtk/.dat and their .partial files; nothing
 * else), and starts a new manifest, FP_OUTPUT_MANIFEST, to which
 * fp_output_dir_path() appends every name before its file is created (so a
 * killed run still leaves a list of what it may have written).
 *
 * A command that writes files of its own around a PDE run (compare, policy)
 * opens the directory once, gives the handle to the run
 * (fp_run_options.held_dir), writes every file of its own under a name from
 * fp_output_dir_path() or fp_output_dir_table_path(), and closes the handle
 * at the very end: the lock then covers the whole command and the manifest
 * lists all its files, so that the next run into the directory removes them.
 * The lock belongs to the open handle (flock locks are per open file
 * description): the same process opening the directory a second time is
 * refused like another run.
 * Returns FP_OK, FP_ERR_ARG, FP_ERR_NOMEM or FP_ERR_IO (locked by another
 * run, cannot create or clean; the message says which). */
#define FP_OUTPUT_MANIFEST "manifest.txt"
typedef struct fp_output_dir fp_output_dir; /* opaque */
FP_API int fp_output_dir_open(const char *path, fp_output_dir **out, fp_error *err);

/* Record `name` in the manifest and set *out = dir + "/" + name (the caller
 * free()s it; out may be NULL to record the name only, for writers that take
 * the directory and the name, e.g. fp_output_write_matrix() with
 * fp_output_dir_name()).  `name` must be a plain file name: not empty, no
 * '/' or newline, not "." or "..", not the manifest itself.  Recording a name
 * twice is harmless.  Returns FP_OK, FP_ERR_ARG, FP_ERR_NOMEM or FP_ERR_IO. */
FP_API int fp_output_dir_path(fp_output_dir *d, const char *name, char **out, fp_error *err);

/* fp_output_dir_path() for a CSV table that has a sidecar "<stem>.json"
 * (fp_output_sidecar_path()): both names are recorded, the sidecar's first;
 * *out (may be NULL) is the table's path.  Returns as fp_output_dir_path(). */
FP_API int fp_output_dir_table_path(fp_output_dir *d, const char *name, char **out, fp_error *err);

/* The directory's path as given to fp_output_dir_open() (owned by d; NULL for
 * NULL). */
FP_API const char *fp_output_dir_name(const fp_output_dir *d);

/* Close the manifest and release the lock.  Returns FP_OK or FP_ERR_IO when
 * the manifest could not be written completely; *d is always consumed. */
FP_API int fp_output_dir_close(fp_output_dir **d, fp_error *err);

/* ----------------------------------------------------------------------- */
/* CSV tables (balance.csv)                                                 */
/* ----------------------------------------------------------------------- */

/* Design: the table streams into "<path>.partial" (preamble and header at
 * creation, then one line per fp_output_table_append(), fflush'ed at once so
 * that progress can be followed with `tail -f`), and fp_output_table_commit()
 * renames it onto <path>.  Memory and time stay linear in the number of rows
 * (rewriting the whole file at every output time would be quadratic).  A run
 * that stops early leaves only the ".partial" file; the caller decides, with
 * fp_output_table_abort(), whether that file is kept for diagnosis.
 *
 * A row is validated completely before any of it is written, so a rejected
 * row leaves the file with whole rows only. */
typedef struct fp_output_table fp_output_table; /* opaque */

/* The metadata sidecar of a CSV table: every table starts with its header
 * line, so that pandas.read_csv() and numpy.genfromtxt(names=True) read it
 * with their defaults; what describes the table (case, versions, units) goes
 * into "<stem>.json" beside "<stem>.csv":
 *     {"file": "<stem>.csv", "comment": ["line", ...], "columns": [...]}
 * ("columns" only where given).  fp_output_sidecar_path() sets *out to that
 * name for `table_path` (".csv" replaced by ".json", else ".json" appended;
 * free() it).  fp_output_sidecar_write() writes it atomically; `comment`'s
 * lines become the array's strings; columns may be NULL.
 * Return FP_OK; FP_ERR_ARG (NULL or empty path); FP_ERR_IO; FP_ERR_NOMEM. */
FP_API int fp_output_sidecar_path(const char *table_path, char **out, fp_error *err);
FP_API int fp_output_sidecar_write(const char *table_path, const char *comment,
                            const char *const *columns, size_t ncols, fp_error *err);

/* Create the table `path` with `ncols` >= 1 columns called names[0..ncols-1]
 * (copied).  `preamble` (may be NULL) is the table's description: it goes,
 * with the column names, into the sidecar "<stem>.json" written when the
 * table is committed (see fp_output_sidecar_write()); the CSV itself starts
 * with its header line.
 * Returns FP_OK; FP_ERR_ARG (NULL, no columns, a name not allowed or
 * repeated - the message names it); FP_ERR_IO; FP_ERR_NOMEM.
 * Ownership: end *out with fp_output_table_commit() or fp_output_table_abort(). */
FP_API int fp_output_table_create(const char *path, const char *const *names, size_t ncols,
                           const char *preamble, fp_output_table **out, fp_error *err);

/* Append one row of `n` values (n must equal the column count), printed
 * with %.17g and separated by commas.
 * Returns FP_OK; FP_ERR_ARG (NULL, wrong n, table already failed);
 * FP_ERR_NUMERIC (a value is NaN or infinite: the message names the column
 * and the 1-based row, and nothing of the row is written; the table stays
 * usable); FP_ERR_IO (write failed; the table is then failed and only abort
 * or a failing commit remain). */
FP_API int fp_output_table_append(fp_output_table *t, const double *values, size_t n, fp_error *err);

/* Number of rows appended so far (0 for NULL). */
FP_API size_t fp_output_table_rows(const fp_output_table *t);

/* Number of columns (0 for NULL). */
FP_API size_t fp_output_table_columns(const fp_output_table *t);

/* Make the table final under its name (see fp_output_file_commit()).
 * Consumes *t and sets it to NULL.  Returns FP_OK or FP_ERR_IO. */
FP_API int fp_output_table_commit(fp_output_table **t, fp_error *err);

/* Stop without committing.  keep_partial = false removes "<path>.partial";
 * true flushes and keeps it (complete rows only) for diagnosis, e.g. after an
 * interruption.  Consumes *t and sets it to NULL; NULL or *t == NULL is a
 * no-op. */
FP_API void fp_output_table_abort(fp_output_table **t, bool keep_partial);

/* ----------------------------------------------------------------------- */
/* Snapshots of fields on a grid                                            */
/* ----------------------------------------------------------------------- */

/* One scalar field: values[0..grid->ncells-1] in grid storage order. */
typedef struct fp_output_field {
  const char *name;
  const double *values;
} fp_output_field;

/* One vector field: values[a][0..ncells-1] is component a (x, y, z); NULL
 * components (and all components beyond the grid's dim) are written as 0,
 * since VTK vectors always have three components. */
typedef struct fp_output_vector {
  const char *name;
  const double *values[FP_MAX_DIM];
} fp_output_vector;

/* Write a legacy VTK file (ASCII, DATASET STRUCTURED_POINTS), readable by
 * ParaView and VisIt:
 *     # vtk DataFile Version 3.0
 *     <title>
 *     ASCII
 *     DATASET STRUCTURED_POINTS
 *     DIMENSIONS n0 n1 n2          (1 beyond the grid's dim)
 *     ORIGIN x0 y0 z0              (centre of the first cell; 0 beyond dim)
 *     SPACING h0 h1 h2
 *     POINT_DATA ncells
 *     SCALARS <name> double 1      (for each field, then its values, one per
 *     LOOKUP_TABLE default          line, in grid order: x fastest)
 *     VECTORS <name> double        (if vector != NULL: "vx vy vz" per line)
 * The cells are the VTK points, i.e. the values are cell-centre values.
 * `title` (NULL: "fpentropy snapshot") is one line: newlines and other
 * control characters become spaces and it is cut to 255 characters.
 * The file is written atomically (see fp_output_file_open()).
 * Returns FP_OK; FP_ERR_ARG (NULL, grid not initialised, nfields == 0 with no
 * vector, a NULL values pointer, bad or repeated names); FP_ERR_NUMERIC (a
 * value is not finite: the message names field, cell and coordinates);
 * FP_ERR_IO; FP_ERR_NOMEM. */
FP_API int fp_output_write_vtk(const char *path, const fp_grid *grid, const char *title,
                        const fp_output_field *fields, size_t nfields,
                        const fp_output_vector *vector, fp_error *err);

/* Write whitespace-separated columns: first line "# x [y [z]] <field names>",
 * then the lines of `title` (may be NULL) as "# " comments, then one line per
 * cell: its centre coordinates and the field values, x fastest.  For gnuplot's
 * splot/pm3d a blank line follows each run of constant y (2D and 3D), and in
 * 3D a second blank line separates planes of constant z (so `index k` selects
 * plane k).  numpy.loadtxt() reads it as is; numpy.genfromtxt(names=True)
 * takes the column names from the first line.
 * Written atomically.  Returns as fp_output_write_vtk() (nfields >= 1). */
FP_API int fp_output_write_dat(const char *path, const fp_grid *grid, const char *title,
                        const fp_output_field *fields, size_t nfields, fp_error *err);

/* fp_output_file_open() of `dir/name`, after writing the CSV's sidecar JSON
 * when `comment` is not NULL (fp_output_sidecar_write(); columns may be
 * NULL).  Returns what those return. */
FP_API int fp_output_file_open_in(const char *dir, const char *name, const char *comment,
                                  const char *const *columns, size_t ncols, fp_output_file **out,
                                  fp_error *err);

/* A T x T matrix M (row-major) against times t: the CSV `dir/name` with the
 * header "t,j0,j1,..." and one row per t_i ("t_i,M[i][0],..."), 17 digits,
 * written atomically, and its sidecar JSON with `comment` (what M[i][j] is).
 * Returns FP_OK, FP_ERR_ARG, FP_ERR_IO, FP_ERR_NOMEM. */
FP_API int fp_output_write_matrix(const char *dir, const char *name, const char *comment,
                                  const double *t, size_t T, const double *M, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_OUTPUT_H */
