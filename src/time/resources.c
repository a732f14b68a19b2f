/* fpentropy: memory and file estimates, the limits they are checked against, and `check`'s checks.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/time/resources.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error_impl.h"
#include <fpentropy/problem/reference.h>

/* Bytes per cell measured on `run` (maximum resident set over the cell
 * count, Release build, one output, no snapshots): 1D 650, 2D 1700, 3D
 * 1900 (full tensor; a two-point 3D case with the Hatano-Sasa split took
 * 11000 at 64000 cells because of the LU's fill-in).  The estimate uses
 * values below those, so it is a lower bound: a refusal is never wrong. */
static const double bytes_per_cell[FP_MAX_DIM] = {400.0, 1000.0, 1500.0};

void fp_resources_estimate(const fp_case *c, fp_resource_estimate *out)
{
  int dim = c->grid.dim >= 1 && c->grid.dim <= FP_MAX_DIM ? c->grid.dim : 1;
  double cells = 1.0;
  for (int a = 0; a < dim; a++) cells *= (double)c->grid.n[a];
  out->bytes = cells * bytes_per_cell[dim - 1];
  int formats = ((c->snapshot_format & FP_SNAPSHOT_VTK) ? 1 : 0) +
                ((c->snapshot_format & FP_SNAPSHOT_DAT) ? 1 : 0) +
                ((c->snapshot_format & FP_SNAPSHOT_VTI) ? 1 : 0);
  /* summary, balance and snapshot tables with their sidecars, manifest,
   * the .pvd series, plus the snapshots */
  out->files = 7.0 + (double)c->n_snapshot_times * formats;
}

double fp_resources_available_memory(void)
{
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f) return 0.0;
  char line[256];
  double kb = 0.0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
  fclose(f);
  return kb * 1024.0;
}

static void human(double bytes, char *buf, size_t size)
{
  if (bytes >= 1e9)
    snprintf(buf, size, "%.1f GB", bytes / 1e9);
  else
    snprintf(buf, size, "%.0f MB", bytes / 1e6);
}

int fp_resources_check(const fp_case *c, double max_bytes, fp_error *err)
{
  fp_resource_estimate e;
  fp_resources_estimate(c, &e);
  if (e.files > FP_RESOURCES_MAX_FILES)
    return fp_fail(err, FP_ERR_CASE,
                   "the run would write %.0f files (%zu snapshot times); the limit is %d: use fewer "
                   "[output] snapshots",
                   e.files, c->n_snapshot_times, FP_RESOURCES_MAX_FILES);
  bool from_machine = !(max_bytes > 0.0);
  double limit = from_machine ? fp_resources_available_memory() : max_bytes;
  if (limit > 0.0 && e.bytes > limit) {
    char need[32], have[32];
    human(e.bytes, need, sizeof need);
    human(limit, have, sizeof have);
    return fp_fail(err, FP_ERR_NOMEM,
                   "%zu cells need at least %s of memory (estimate), more than the %s %s; use "
                   "fewer cells%s",
                   c->grid.ncells, need, have,
                   from_machine ? "available on this machine" : "allowed by --max-memory",
                   from_machine ? " (or --max-memory to set the limit)" : "");
  }
  return FP_OK;
}

/* Sylvester's criterion on the leading minors of the symmetric D. */
static bool positive_definite(int dim, double m[FP_MAX_DIM][FP_MAX_DIM])
{
  for (int a = 0; a < dim; a++)
    for (int b = 0; b < dim; b++)
      if (!isfinite(m[a][b])) return false;
  if (!(m[0][0] > 0.0)) return false;
  if (dim == 1) return true;
  double d2 = m[0][0] * m[1][1] - m[0][1] * m[1][0];
  if (!(d2 > 0.0)) return false;
  if (dim == 2) return true;
  double d3 = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
              m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
              m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  return d3 > 0.0;
}

int fp_case_check_diffusion(const fp_case *c, fp_error *err)
{
  const fp_grid *g = &c->grid;
  int dim = g->dim;
  bool time_dependent = false;
  for (int a = 0; a < dim; a++)
    for (int b = 0; b < dim; b++)
      if (c->diffusion[a][b] && fp_expr_depends_on(c->diffusion[a][b], FP_EXPR_TIME))
        time_dependent = true;
  /* t = 0, and for time-dependent D up to 11 output times spread evenly. */
  size_t nt = time_dependent ? c->n_output_times : 0;
  size_t stride = nt > 10 ? (nt + 9) / 10 : 1;
  for (size_t k = 0;; k = k == 0 ? 1 : (k + stride > nt ? nt : k + stride)) {
    double t = k == 0 ? 0.0 : c->output_times[k - 1];
    for (size_t i = 0; i < g->ncells; i++) {
      double x[FP_MAX_DIM] = {0.0, 0.0, 0.0}, m[FP_MAX_DIM][FP_MAX_DIM] = {{0.0}};
      fp_grid_cell_center(g, i, x);
      for (int a = 0; a < dim; a++)
        for (int b = 0; b < dim; b++)
          m[a][b] = c->diffusion[a][b] ? fp_expr_eval(c->diffusion[a][b], x, t) : 0.0;
      if (positive_definite(dim, m)) continue;
      char where[128], mat[256];
      fp_format_point(where, sizeof where, dim, x);
      size_t len = 0;
      for (int a = 0; a < dim; a++) {
        len += (size_t)snprintf(mat + len, sizeof mat - len, a ? "; " : "[");
        for (int b = 0; b < dim; b++)
          len += (size_t)snprintf(mat + len, sizeof mat - len, b ? ", %.4g" : "%.4g", m[a][b]);
      }
      snprintf(mat + len, sizeof mat - len, "]");
      return fp_fail(err, FP_ERR_CASE,
                     "[dynamics] diffusion: D is not positive definite at %s, t = %g: D = %s "
                     "(every leading minor must be > 0)",
                     where, t, mat);
    }
    if (k >= nt) break;
  }
  return FP_OK;
}

int fp_case_check_fields(const fp_case *c, fp_error *err)
{
  static const char *const drift_names[FP_MAX_DIM] = {"drift_x", "drift_y", "drift_z"};
  const fp_grid *g = &c->grid;
  for (size_t i = 0; i < g->ncells; i++) {
    double x[FP_MAX_DIM] = {0.0, 0.0, 0.0};
    fp_grid_cell_center(g, i, x);
    const char *bad = NULL;
    double v = 0.0;
    if (c->potential && !isfinite(v = fp_expr_eval(c->potential, x, 0.0))) bad = "potential";
    for (int a = 0; !bad && a < g->dim; a++)
      if (c->drift[a] && !isfinite(v = fp_expr_eval(c->drift[a], x, 0.0)))
        bad = g->dim == 1 ? "drift" : drift_names[a];
    if (bad) {
      char where[128];
      fp_format_point(where, sizeof where, g->dim, x);
      return fp_fail(err, FP_ERR_CASE, "[dynamics] %s is %g at the cell centre %s, t = 0", bad, v,
                     where);
    }
  }
  return FP_OK;
}

/* A face Peclet number |a| h / D above this is a singular drift (1/x with a
 * face at x = 1.8e-16 gives 5e14), not a strong one: no grid resolves it,
 * and the balance columns it produces are meaningless (R13). */
#define FP_MAX_FACE_PECLET 1e8

static int check_face_peclet(const fp_operator *op, fp_error *err)
{
  fp_face_view f;
  fp_operator_faces(op, &f);
  const fp_grid *g = fp_operator_grid(op);
  for (size_t k = 0; k < f.count; k++) {
    if (!(fabs(f.pe[k]) > FP_MAX_FACE_PECLET)) continue;
    uint32_t cell = f.left[k] != FP_NO_CELL ? f.left[k] : f.right[k];
    double x[FP_MAX_DIM] = {0.0, 0.0, 0.0};
    fp_grid_cell_center(g, cell, x);
    if (f.left[k] != FP_NO_CELL) x[f.axis[k]] += 0.5 * g->h[f.axis[k]];
    else x[f.axis[k]] -= 0.5 * g->h[f.axis[k]];
    char where[128];
    fp_format_point(where, sizeof where, g->dim, x);
    return fp_fail(err, FP_ERR_CASE,
                   "[dynamics] the drift is singular at the face %s: its cell Peclet number is "
                   "%.3g (more than %.0e); move the grid off the singularity or regularise the "
                   "drift", where, f.pe[k], FP_MAX_FACE_PECLET);
  }
  return FP_OK;
}

int fp_run_check_case(const fp_case *c, fp_operator *op, fp_error *err)
{
  int rc = fp_case_check_diffusion(c, err);
  if (rc == FP_OK) rc = fp_case_check_fields(c, err);
  if (rc == FP_OK) rc = check_face_peclet(op, err);
  if (rc != FP_OK) return rc;
  fp_reference ref = {0};
  rc = fp_reference_init(&ref, c, op, err);
  fp_reference_clear(&ref);
  return rc;
}
