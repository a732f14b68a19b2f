/* fpentropy: snapshots as VTK XML image data (.vti) and a ParaView time series (.pvd).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FPENTROPY_VTI_H
#define FPENTROPY_VTI_H

#include <fpentropy/export.h>

#include <fpentropy/core/status.h>
#include <fpentropy/io/output.h>
#include <fpentropy/problem/grid.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether fp_output_write_vti() compresses (the library was built with zlib). */
FP_API bool fp_output_vti_compressed(void);

/* Write a VTK XML ImageData file (VTKFile version 1.0, byte order of the
 * host, header_type UInt64), readable by ParaView, VisIt, VTK and meshio:
 *   <ImageData WholeExtent="0 n0-1 0 n1-1 0 n2-1" Origin=centre of the first
 *   cell (0 beyond dim) Spacing="h0 h1 h2">, FieldData TIME (one Float64,
 *   ascii) = t, and PointData with one Float64 array per field and, if
 *   `vector` != NULL, a 3-component array (components beyond the grid's dim
 *   and NULL components are 0).  The cells are the image's points, x fastest
 *   (grid storage order), as in fp_output_write_vtk().  The arrays are in one
 *   <AppendedData encoding="raw"> block; with zlib (fp_output_vti_compressed())
 *   each is compressed (compressor="vtkZLibDataCompressor", 64 KiB blocks).
 * Written atomically.  Returns FP_OK; FP_ERR_ARG (NULL path or grid, grid
 * not initialised, no fields and no vector, a NULL values pointer, a name
 * not allowed or repeated); FP_ERR_NUMERIC (a value is not finite: the
 * message names field and cell); FP_ERR_IO; FP_ERR_NOMEM. */
FP_API int fp_output_write_vti(const char *path, const fp_grid *grid, double t,
                        const fp_output_field *fields, size_t nfields,
                        const fp_output_vector *vector, fp_error *err);

/* Write a ParaView collection (.pvd) listing files[0..n-1] (names relative
 * to the .pvd's folder; '&', '<', '>' and quotes are escaped) at times
 * times[0..n-1]: ParaView opens it as one animation.  n may be 0.
 * Written atomically.  Returns FP_OK; FP_ERR_ARG (NULL path, or NULL arrays
 * with n > 0); FP_ERR_IO; FP_ERR_NOMEM. */
FP_API int fp_output_write_pvd(const char *path, const double *times, const char *const *files,
                        size_t n, fp_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_VTI_H */
