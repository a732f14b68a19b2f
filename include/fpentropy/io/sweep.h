/* fpentropy: the plan, manifest and gathered table of a parameter sweep.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_sweep_axis: one swept case key and its values, parsed from
 *     "KEY=V1,V2,...", "KEY=start:stop:num" or "KEY=log:start:stop:num";
 *   - fp_sweep_plan: the points of a sweep (Cartesian product of the axes,
 *     or their zip), each with its overrides and a directory name made from
 *     its parameters;
 *   - the manifest sweep.json (case hash, version, every point's status and
 *     error), written atomically and read back for resuming;
 *   - fp_sweep_gather(): the tidy table of a sweep, one row per point and
 *     row of each point's own table (balance.csv, policy_summary.csv, ...).
 *
 * Running the points is the command line's job (src/cli/cmd_sweep.c); this
 * module only plans and keeps books, so that it can be tested alone.
 *
 * Point names: for each axis "<key>=<value>", joined by '_', where <key> is
 * the part after the last '.' (the full key when two axes would share it)
 * and every character of a value outside [A-Za-z0-9.+-] becomes '_'.  Names
 * longer than FP_SWEEP_NAME_MAX/2 and names that two points would share get
 * "_" and 8 hex digits of a hash of the point's overrides appended, so names
 * are unique, stable when a grid is extended, and safe on any file system.
 */
#ifndef FPENTROPY_SWEEP_H
#define FPENTROPY_SWEEP_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FP_SWEEP_MAX_AXES 16
#define FP_SWEEP_MAX_POINTS 1000000
#define FP_SWEEP_NAME_MAX 256

/* One swept key.  Range values are rounded to 15 significant digits, so
 * that "log:1e-3:1e-1:3" gives 0.001, 0.01, 0.1 and not 0.010000000000000002. */
typedef struct fp_sweep_axis {
  char *key;       /* "section.key" (owned) */
  size_t nvalues;
  char **values;   /* owned, the text given to --set */
} fp_sweep_axis;

/* Parse "KEY=V1,V2,..." (a list: values may contain ':' unless the whole
 * right-hand side reads as a range), "KEY=start:stop:num" (num evenly spaced
 * values, both ends included) or "KEY=log:start:stop:num" (evenly spaced in
 * log; start and stop > 0).  Returns FP_OK or FP_ERR_ARG with a message
 * naming the spec.  Ownership: fp_sweep_axis_clear(). */
FP_API int fp_sweep_axis_parse(const char *spec, fp_sweep_axis *axis, fp_error *err);
FP_API void fp_sweep_axis_clear(fp_sweep_axis *axis);

typedef enum fp_sweep_status {
  FP_SWEEP_PENDING = 0, /* not run (or its run left nothing complete) */
  FP_SWEEP_DONE,        /* ran to the end; its table is complete */
  FP_SWEEP_FAILED,      /* ran and failed, or its case did not validate */
  FP_SWEEP_INTERRUPTED  /* stopped by SIGINT/SIGTERM; runs again on resume */
} fp_sweep_status;

/* "pending", "done", "failed", "interrupted". */
FP_API const char *fp_sweep_status_name(fp_sweep_status s);

typedef struct fp_sweep_point {
  char *name;        /* directory name (owned, unique in the plan) */
  char **overrides;  /* naxes strings "key=value" (owned) */
  const char **values; /* naxes pointers into the axes' values */
  fp_sweep_status status;
  int exit_code;     /* of the point's command; -1 if it did not run */
  double seconds;    /* wall time of the point's command */
  char *error;       /* owned; "" when none */
} fp_sweep_point;

typedef struct fp_sweep_plan {
  size_t naxes;
  fp_sweep_axis *axes;    /* owned */
  bool zip;
  size_t npoints;
  fp_sweep_point *points; /* owned; Cartesian order: the first axis varies slowest */
} fp_sweep_plan;

/* Build the plan of `nspecs` >= 1 axis specs (see fp_sweep_axis_parse()).
 * zip: point k takes value k of every axis (all axes must have the same
 * number of values); otherwise the Cartesian product.
 * Returns FP_OK; FP_ERR_ARG (a bad spec, a key given twice, zip lengths
 * differ, too many points, two points with identical parameters);
 * FP_ERR_NOMEM.  Ownership: fp_sweep_plan_destroy(). */
FP_API int fp_sweep_plan_create(const char *const *specs, size_t nspecs, bool zip, fp_sweep_plan **out,
                         fp_error *err);
FP_API void fp_sweep_plan_destroy(fp_sweep_plan **plan);

/* Index of the point called `name`, or plan->npoints if there is none. */
FP_API size_t fp_sweep_plan_find(const fp_sweep_plan *plan, const char *name);

/* Record the end of a point's run (error: NULL or the message; copied). */
FP_API int fp_sweep_point_finish(fp_sweep_point *pt, fp_sweep_status status, int exit_code, double seconds,
                          const char *error, fp_error *err);

#define FP_SWEEP_HASH_INIT UINT64_C(14695981039346656037)

/* FNV-1a (64 bit) of n bytes, continuing from h (start with FP_SWEEP_HASH_INIT). */
FP_API uint64_t fp_sweep_hash(uint64_t h, const void *data, size_t n);

/* Continue hash *h with the bytes of the file at `path`.
 * Returns FP_OK or FP_ERR_IO (the message names the file). */
FP_API int fp_sweep_hash_file(const char *path, uint64_t *h, fp_error *err);

/* What the manifest records besides the points. */
typedef struct fp_sweep_meta {
  char *case_path;  /* owned (read) / borrowed (write) */
  char *command;    /* "run", "verify", "compare", "policy" */
  char *case_hash;  /* 16 hex digits: case file, command and fixed arguments */
  char *version;    /* fpentropy version that ran the sweep */
} fp_sweep_meta;

/* Write the manifest (JSON, atomically) of `plan` to `path`:
 *   {"format": "fpentropy-sweep 1", "version": ..., "case": ...,
 *    "case_hash": ..., "command": ..., "zip": false,
 *    "axes": [{"key": ..., "values": [...]}, ...],
 *    "points": [{"name": ..., "params": {key: value, ...}, "status": ...,
 *                "exit_code": ..., "seconds": ..., "error": ...}, ...]}
 * Returns FP_OK, FP_ERR_IO or FP_ERR_NOMEM. */
FP_API int fp_sweep_manifest_write(const char *path, const fp_sweep_plan *plan, const fp_sweep_meta *meta,
                            fp_error *err);

/* A manifest read back: its metadata and one record per point. */
typedef struct fp_sweep_record {
  char *name;
  fp_sweep_status status;
  int exit_code;
  double seconds;
  char *error;
} fp_sweep_record;

typedef struct fp_sweep_manifest {
  fp_sweep_meta meta;       /* owned strings */
  size_t nrecords;
  fp_sweep_record *records; /* owned */
} fp_sweep_manifest;

/* Read a manifest written by fp_sweep_manifest_write() (any JSON with the
 * same members is accepted; unknown members are ignored).
 * Returns FP_OK; FP_ERR_IO (cannot read); FP_ERR_ARG (not valid JSON or
 * not a sweep manifest: the message says where); FP_ERR_NOMEM.
 * Ownership: fp_sweep_manifest_destroy(). */
FP_API int fp_sweep_manifest_read(const char *path, fp_sweep_manifest **out, fp_error *err);
FP_API void fp_sweep_manifest_destroy(fp_sweep_manifest **m);

/* Copy the status, exit code, seconds and error of every record onto the
 * plan's point of the same name; returns the number of points matched. */
FP_API size_t fp_sweep_manifest_apply(const fp_sweep_manifest *m, fp_sweep_plan *plan);

/* Gather the tidy table: for every point whose status is DONE, in plan
 * order, read "<dir>/<point name>/<table>" (a CSV file; '#' comment lines
 * and blank lines are skipped; fields may be double-quoted) and write one
 * row per data row: the point's name (column "point"), its parameter values
 * (one column per axis, named by the key), then the table's fields copied
 * byte for byte.  The table columns are the union over the points in order
 * of first appearance; a column a point lacks is left empty.  `preamble`
 * (may be NULL) goes to the sidecar "<stem>.json" (fp_output_sidecar_write();
 * the CSV starts with its header line; `fpentropy sweep` passes NULL, since
 * "sweep.json" is its manifest).  Written atomically to out_path;
 * *rows (may be NULL) receives the number of data rows.
 * Returns FP_OK; FP_ERR_IO (a table cannot be read: the message names it);
 * FP_ERR_ARG (a row has more fields than its header); FP_ERR_NOMEM. */
FP_API int fp_sweep_gather(const fp_sweep_plan *plan, const char *dir, const char *table,
                    const char *preamble, const char *out_path, size_t *rows, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_SWEEP_H */
