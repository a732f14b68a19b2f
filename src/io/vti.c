/* fpentropy: VTK XML image data snapshots (.vti) and ParaView collections (.pvd).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/io/vti.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

#ifdef FP_HAVE_ZLIB
#include <zlib.h>
#endif

/* Uncompressed bytes per zlib block: VTK's own default is 32 KiB; larger
 * blocks compress slightly better and any size is allowed by the format.
 * Compression level 1 (Z_BEST_SPEED): on the fields of ou2d_rotating at
 * 352^2 it gave files of the same size as the default level 6 (doubles
 * compress little beyond their zero bytes) in 0.54 s instead of 0.70 s for
 * five snapshots. */
#define VTI_BLOCK ((size_t)1 << 16)

bool fp_output_vti_compressed(void)
{
#ifdef FP_HAVE_ZLIB
  return true;
#else
  return false;
#endif
}

/* One encoded DataArray: the UInt64 header words, then the payload. */
typedef struct vti_array {
  unsigned char *bytes;
  size_t size;
} vti_array;

static bool host_little_endian(void)
{
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

/* Encode raw[0..n-1]: uncompressed [UInt64 nbytes][data]; compressed
 * [nblocks][block size][last block size][compressed size of each block]
 * followed by the blocks (VTK's vtkZLibDataCompressor layout). */
static int encode(const unsigned char *raw, size_t n, vti_array *out, fp_error *err)
{
#ifdef FP_HAVE_ZLIB
  size_t nblocks = n ? (n + VTI_BLOCK - 1) / VTI_BLOCK : 0;
  size_t last = n ? n - (nblocks - 1) * VTI_BLOCK : 0;
  size_t bound = (3 + nblocks) * sizeof(uint64_t);
  for (size_t b = 0; b < nblocks; b++)
    bound += (size_t)compressBound((uLong)(b + 1 == nblocks ? last : VTI_BLOCK));
  unsigned char *buf = malloc(bound ? bound : 1);
  if (!buf) return fp_fail(err, FP_ERR_NOMEM, "vti: out of memory");
  /* VTK: the size of a full block, and of the last block when it is partial (else 0) */
  uint64_t head[3] = {nblocks, VTI_BLOCK, last == VTI_BLOCK ? 0 : last};
  memcpy(buf, head, sizeof head);
  size_t pos = (3 + nblocks) * sizeof(uint64_t);
  for (size_t b = 0; b < nblocks; b++) {
    uLongf csize = (uLongf)(bound - pos);
    size_t len = b + 1 == nblocks ? last : VTI_BLOCK;
    if (compress2(buf + pos, &csize, raw + b * VTI_BLOCK, (uLong)len, Z_BEST_SPEED) != Z_OK) {
      free(buf);
      return fp_fail(err, FP_ERR_NOMEM, "vti: zlib compression failed");
    }
    uint64_t c = csize;
    memcpy(buf + (3 + b) * sizeof(uint64_t), &c, sizeof c);
    pos += csize;
  }
  out->bytes = buf;
  out->size = pos;
  return FP_OK;
#else
  unsigned char *buf = malloc(sizeof(uint64_t) + n);
  if (!buf) return fp_fail(err, FP_ERR_NOMEM, "vti: out of memory");
  uint64_t len = n;
  memcpy(buf, &len, sizeof len);
  if (n) memcpy(buf + sizeof len, raw, n);
  out->bytes = buf;
  out->size = sizeof len + n;
  return FP_OK;
#endif
}

/* The names rules of output.h: printable, no space, comma, quote or '#'
 * (they also keep the XML attribute free of markup characters). */
static int check_name(const char *name, fp_error *err)
{
  if (!name || !*name) return fp_fail(err, FP_ERR_ARG, "vti: a field has an empty name");
  for (const char *c = name; *c; c++) {
    unsigned char u = (unsigned char)*c;
    if (u <= ' ' || u >= 127 || strchr(",\"'#<>&", u))
      return fp_fail(err, FP_ERR_ARG, "vti: field name '%s' is not allowed", name);
  }
  return FP_OK;
}

static int check_input(const char *path, const fp_grid *g, const fp_output_field *fields,
                       size_t nfields, const fp_output_vector *vector, fp_error *err)
{
  if (!path || !g) return fp_fail(err, FP_ERR_ARG, "fp_output_write_vti: NULL argument");
  if (g->dim < 1 || g->dim > FP_MAX_DIM)
    return fp_fail(err, FP_ERR_ARG, "snapshot %s: grid dimension %d", path, g->dim);
  size_t count = 1;
  for (int a = 0; a < FP_MAX_DIM; a++) {
    if (g->n[a] < 1 || !(g->h[a] > 0.0) || !isfinite(g->h[a]) || g->n[a] > SIZE_MAX / count)
      return fp_fail(err, FP_ERR_ARG, "snapshot %s: the grid is not initialised", path);
    count *= g->n[a];
  }
  if (count != g->ncells)
    return fp_fail(err, FP_ERR_ARG, "snapshot %s: the grid is not initialised", path);
  if (nfields == 0 && !vector) return fp_fail(err, FP_ERR_ARG, "snapshot %s: no fields to write", path);
  if (nfields > 0 && !fields) return fp_fail(err, FP_ERR_ARG, "snapshot %s: fields are NULL", path);
  for (size_t i = 0; i <= nfields; i++) {
    const char *name = i < nfields ? fields[i].name : vector ? vector->name : NULL;
    if (i == nfields && !vector) break;
    int rc = check_name(name, err);
    if (rc != FP_OK) return fp_fail_context(err, rc, "snapshot %s", path);
    if (i < nfields && !fields[i].values)
      return fp_fail(err, FP_ERR_ARG, "snapshot %s: field '%s' has no values", path, name);
    for (size_t j = 0; j < i; j++)
      if (strcmp(fields[j].name, name) == 0)
        return fp_fail(err, FP_ERR_ARG, "snapshot %s: field name '%s' is used twice", path, name);
  }
  return FP_OK;
}

int fp_output_write_vti(const char *path, const fp_grid *grid, double t,
                        const fp_output_field *fields, size_t nfields,
                        const fp_output_vector *vector, fp_error *err)
{
  int rc = check_input(path, grid, fields, nfields, vector, err);
  if (rc != FP_OK) return rc;
  const size_t nc = grid->ncells, narrays = nfields + (vector ? 1 : 0);
  vti_array *arrays = calloc(narrays, sizeof *arrays);
  double *raw = malloc(nc * FP_MAX_DIM * sizeof *raw);
  fp_output_file *f = NULL;
  if (!arrays || !raw) {
    rc = fp_fail(err, FP_ERR_NOMEM, "snapshot %s: out of memory", path);
    goto done;
  }
  /* encode every array first: the XML header needs their offsets */
  for (size_t k = 0; k < narrays && rc == FP_OK; k++) {
    bool is_vector = k == nfields;
    size_t ncomp = is_vector ? FP_MAX_DIM : 1;
    const char *name = is_vector ? vector->name : fields[k].name;
    for (size_t i = 0; i < nc && rc == FP_OK; i++)
      for (size_t a = 0; a < ncomp; a++) {
        double v = !is_vector ? fields[k].values[i]
                   : (int)a < grid->dim && vector->values[a] ? vector->values[a][i] : 0.0;
        if (!isfinite(v))
          rc = fp_fail(err, FP_ERR_NUMERIC, "snapshot %s: field '%s' is %s in cell %zu; "
                       "non-finite values are not written", path, name,
                       isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"), i);
        raw[i * ncomp + a] = v;
      }
    if (rc == FP_OK) rc = encode((const unsigned char *)raw, nc * ncomp * sizeof *raw, &arrays[k], err);
  }
  if (rc == FP_OK) rc = fp_output_file_open(path, &f, err);
  if (rc != FP_OK) goto done;
  FILE *fp = fp_output_file_stream(f);
  fprintf(fp, "<?xml version=\"1.0\"?>\n<VTKFile type=\"ImageData\" version=\"1.0\" "
              "byte_order=\"%s\" header_type=\"UInt64\"%s>\n",
          host_little_endian() ? "LittleEndian" : "BigEndian",
          fp_output_vti_compressed() ? " compressor=\"vtkZLibDataCompressor\"" : "");
  char extent[128];
  snprintf(extent, sizeof extent, "0 %zu 0 %zu 0 %zu", grid->n[0] - 1, grid->n[1] - 1, grid->n[2] - 1);
  fprintf(fp, "  <ImageData WholeExtent=\"%s\" Origin=\"", extent);
  for (int a = 0; a < FP_MAX_DIM; a++)
    fprintf(fp, a ? " %.17g" : "%.17g", a < grid->dim ? fp_grid_center(grid, a, 0) : 0.0);
  fputs("\" Spacing=\"", fp);
  for (int a = 0; a < FP_MAX_DIM; a++) fprintf(fp, a ? " %.17g" : "%.17g", grid->h[a]);
  fputs("\">\n", fp);
  if (isfinite(t))
    fprintf(fp, "    <FieldData>\n      <DataArray type=\"Float64\" Name=\"TIME\" "
                "NumberOfTuples=\"1\" format=\"ascii\">%.17g</DataArray>\n    </FieldData>\n", t);
  fprintf(fp, "    <Piece Extent=\"%s\">\n      <PointData", extent);
  if (nfields) fprintf(fp, " Scalars=\"%s\"", fields[0].name);
  if (vector) fprintf(fp, " Vectors=\"%s\"", vector->name);
  fputs(">\n", fp);
  size_t offset = 0;
  for (size_t k = 0; k < narrays; k++) {
    bool is_vector = k == nfields;
    fprintf(fp, "        <DataArray type=\"Float64\" Name=\"%s\"%s format=\"appended\" "
                "offset=\"%zu\"/>\n", is_vector ? vector->name : fields[k].name,
            is_vector ? " NumberOfComponents=\"3\"" : "", offset);
    offset += arrays[k].size;
  }
  fputs("      </PointData>\n    </Piece>\n  </ImageData>\n  <AppendedData encoding=\"raw\">\n   _", fp);
  for (size_t k = 0; k < narrays; k++) fwrite(arrays[k].bytes, 1, arrays[k].size, fp);
  fputs("\n  </AppendedData>\n</VTKFile>\n", fp);
  rc = fp_output_file_commit(&f, err);

done:
  if (arrays)
    for (size_t k = 0; k < narrays; k++) free(arrays[k].bytes);
  free(arrays);
  free(raw);
  return rc;
}

static void xml_attr(FILE *fp, const char *s)
{
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", fp); break;
    case '<': fputs("&lt;", fp); break;
    case '>': fputs("&gt;", fp); break;
    case '"': fputs("&quot;", fp); break;
    case '\'': fputs("&apos;", fp); break;
    default: fputc(*s, fp);
    }
  }
}

int fp_output_write_pvd(const char *path, const double *times, const char *const *files,
                        size_t n, fp_error *err)
{
  if (!path || (n > 0 && (!times || !files)))
    return fp_fail(err, FP_ERR_ARG, "fp_output_write_pvd: NULL argument");
  fp_output_file *f = NULL;
  int rc = fp_output_file_open(path, &f, err);
  if (rc != FP_OK) return rc;
  FILE *fp = fp_output_file_stream(f);
  fputs("<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"0.1\">\n  <Collection>\n", fp);
  for (size_t i = 0; i < n; i++) {
    fprintf(fp, "    <DataSet timestep=\"%.17g\" group=\"\" part=\"0\" file=\"", times[i]);
    xml_attr(fp, files[i]);
    fputs("\"/>\n", fp);
  }
  fputs("  </Collection>\n</VTKFile>\n", fp);
  return fp_output_file_commit(&f, err);
}
