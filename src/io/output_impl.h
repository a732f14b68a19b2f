/* fpentropy (internal): where a writer's files go.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The study writers (compare, policy) write either into a plain directory
 * path (fp_compare_write() and friends: no lock, no manifest) or into an
 * output directory the caller holds (fp_compare_write_dir() and friends:
 * every name recorded in its manifest before the file is created, so that the
 * next run into the directory removes it). */
#ifndef FPENTROPY_OUTPUT_IMPL_H
#define FPENTROPY_OUTPUT_IMPL_H

#include <stdbool.h>

#include <fpentropy/io/output.h>
#include <fpentropy/core/status.h>

typedef struct fp_output_target {
  fp_output_dir *held; /* a held directory, or NULL */
  const char *dir;     /* the plain path when held is NULL */
} fp_output_target;

/* The directory to join names to: the held directory's path, or dir. */
const char *fp_output_target_dir(const fp_output_target *t);

/* Record `name` in the held directory's manifest (with its sidecar
 * "<stem>.json" when `table`); nothing for a plain path.  Returns what
 * fp_output_dir_path() returns. */
int fp_output_target_record(const fp_output_target *t, const char *name, bool table, fp_error *err);

#endif /* FPENTROPY_OUTPUT_IMPL_H */
