/* fpentropy: the particle sample files samples.bin and samples.csv (see samples.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/io/output.h>
#include <fpentropy/io/samples.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error_impl.h"

struct fp_samples_writer {
  fp_output_file *file;
  FILE *f;
  fp_samples_format format;
  int dim;
};

int fp_samples_writer_open(const char *path, fp_samples_format format, int dim, size_t replicas,
                           size_t outputs, size_t particles, fp_samples_writer **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_samples_writer_open: out is NULL");
  *out = NULL;
  if (!path || dim < 1 || dim > FP_MAX_DIM || (format != FP_SAMPLES_BIN && format != FP_SAMPLES_CSV))
    return fp_fail(err, FP_ERR_ARG, "fp_samples_writer_open: bad argument (dim %d)", dim);
  fp_samples_writer *w = calloc(1, sizeof *w);
  if (!w) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the sample writer");
  w->format = format;
  w->dim = dim;
  int rc = fp_output_file_open(path, &w->file, err);
  if (rc != FP_OK) {
    free(w);
    return rc;
  }
  w->f = fp_output_file_stream(w->file);
  if (format == FP_SAMPLES_CSV) {
    fprintf(w->f, "replica,output,t");
    for (int k = 0; k < dim; k++) fprintf(w->f, ",%c", "xyz"[k]);
    fputc('\n', w->f);
  } else {
    fprintf(w->f, "fpentropy-samples 1 dim=%d replicas=%zu outputs=%zu particles=%zu\n", dim,
            replicas, outputs, particles);
  }
  if (ferror(w->f)) {
    fp_samples_writer_abort(&w);
    return fp_fail(err, FP_ERR_IO, "cannot write %s", path);
  }
  *out = w;
  return FP_OK;
}

int fp_samples_writer_append(fp_samples_writer *w, const fp_particle_snapshot *s, fp_error *err)
{
  if (!w || !s || (s->alive && !s->x))
    return fp_fail(err, FP_ERR_ARG, "fp_samples_writer_append: NULL argument");
  if (s->dim != w->dim)
    return fp_fail(err, FP_ERR_ARG, "fp_samples_writer_append: a %d-dimensional snapshot for a "
                   "%d-dimensional file", s->dim, w->dim);
  const size_t dim = (size_t)s->dim;
  if (w->format == FP_SAMPLES_CSV) {
    for (size_t i = 0; i < s->alive; i++) {
      fprintf(w->f, "%zu,%zu,%.17g", s->replica, s->output, s->t);
      for (size_t k = 0; k < dim; k++) fprintf(w->f, ",%.17g", s->x[i * dim + k]);
      fputc('\n', w->f);
    }
  } else {
    int64_t head[2] = {(int64_t)s->replica, (int64_t)s->output};
    int64_t alive = (int64_t)s->alive;
    fwrite(head, sizeof head[0], 2, w->f);
    fwrite(&s->t, sizeof s->t, 1, w->f);
    fwrite(&alive, sizeof alive, 1, w->f);
    fwrite(s->x, sizeof *s->x, s->alive * dim, w->f);
  }
  if (ferror(w->f)) return fp_fail(err, FP_ERR_IO, "cannot write the samples");
  return FP_OK;
}

int fp_samples_writer_commit(fp_samples_writer **w, fp_error *err)
{
  if (!w || !*w) return fp_fail(err, FP_ERR_ARG, "fp_samples_writer_commit: NULL writer");
  int rc = fp_output_file_commit(&(*w)->file, err);
  free(*w);
  *w = NULL;
  return rc;
}

void fp_samples_writer_abort(fp_samples_writer **w)
{
  if (!w || !*w) return;
  fp_output_file_abort(&(*w)->file);
  free(*w);
  *w = NULL;
}
