/* fpentropy: the particle sample files samples.bin and samples.csv.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Formats (docs/cli.md):
 *   samples.bin  one text line "fpentropy-samples 1 dim=D replicas=R outputs=K
 *                particles=N\n", then per replica and output time the record
 *                int64 replica, int64 output, float64 t, int64 alive, and
 *                alive*dim float64 positions (little-endian on the machines
 *                fpentropy supports: the native layout is written);
 *   samples.csv  the header "replica,output,t,x[,y[,z]]", then one row per
 *                living particle.
 * The file is written atomically (io/output.h): it appears under its name
 * only when fp_samples_writer_commit() succeeds. */
#ifndef FPENTROPY_SAMPLES_H
#define FPENTROPY_SAMPLES_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>

#include <fpentropy/core/status.h>
#include <fpentropy/streams/particles.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fp_samples_format {
  FP_SAMPLES_BIN = 0, /* samples.bin */
  FP_SAMPLES_CSV      /* samples.csv */
} fp_samples_format;

typedef struct fp_samples_writer fp_samples_writer; /* opaque */

/* Open `path` for particles in `dim` dimensions (1..3) and write the header;
 * replicas, outputs and particles go into the binary header.
 * Returns FP_OK, FP_ERR_ARG, FP_ERR_IO, FP_ERR_NOMEM.
 * Ownership: end with fp_samples_writer_commit() or fp_samples_writer_abort(). */
FP_API int fp_samples_writer_open(const char *path, fp_samples_format format, int dim,
                                  size_t replicas, size_t outputs, size_t particles,
                                  fp_samples_writer **out, fp_error *err);

/* Append one snapshot (an fp_particle_output_fn's argument; its dim must be
 * the writer's).  Returns FP_OK, FP_ERR_ARG or FP_ERR_IO. */
FP_API int fp_samples_writer_append(fp_samples_writer *w, const fp_particle_snapshot *s,
                                    fp_error *err);

/* Make the file final under its name and release the writer (*w = NULL).
 * Returns FP_OK or FP_ERR_IO (then nothing is left under the name). */
FP_API int fp_samples_writer_commit(fp_samples_writer **w, fp_error *err);

/* Remove the partial file and release the writer; NULL-safe. */
FP_API void fp_samples_writer_abort(fp_samples_writer **w);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_SAMPLES_H */
