/* fpentropy: Selling's decomposition of small SPD matrices (see selling.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Selling's reduction: start from the canonical superbase (e_1, .., e_d,
 * -sum e_i); while two of its vectors have <b_i, M b_j> > 0, apply the
 * flip that strictly lowers sum_i |b_i|_M^2 (a positive integer-valued
 * quadratic energy up to scaling, so the loop ends).  For an obtuse
 * superbase, M = -sum_{i<j} <b_i, M b_j> c_ij c_ij^T with c_ij the
 * perpendicular of the remaining vector (2D) or the cross product of the
 * remaining two (3D). */
#include <fpentropy/fv/selling.h>

#include <math.h>
#include <stdbool.h>

#define MAX_ITERATIONS 1000

static double form(double M[3][3], int dim, const int a[3], const int b[3])
{
  double s = 0.0;
  for (int i = 0; i < dim; i++)
    for (int j = 0; j < dim; j++) s += (double)a[i] * M[i][j] * (double)b[j];
  return s;
}

static void canonical_sign(int e[3])
{
  for (int i = 0; i < 3; i++) {
    if (e[i] == 0) continue;
    if (e[i] < 0)
      for (int k = 0; k < 3; k++) e[k] = -e[k];
    return;
  }
}

static bool positive_definite(double M[3][3], int dim)
{
  double a = M[0][0], b = M[0][1], d = M[1][1];
  for (int i = 0; i < dim; i++)
    for (int j = 0; j < dim; j++)
      if (!isfinite(M[i][j])) return false;
  if (!(a > 0.0) || !(a * d - b * b > 0.0)) return false;
  if (dim == 2) return true;
  double det = M[0][0] * (M[1][1] * M[2][2] - M[1][2] * M[2][1]) -
               M[0][1] * (M[1][0] * M[2][2] - M[1][2] * M[2][0]) +
               M[0][2] * (M[1][0] * M[2][1] - M[1][1] * M[2][0]);
  return det > 0.0;
}

int fp_selling_decompose(double M[3][3], int dim, fp_selling *out)
{
  if ((dim != 2 && dim != 3) || !positive_definite(M, dim)) return -1;
  int b[4][3] = {{0}};
  int nb = dim + 1;
  for (int i = 0; i < dim; i++) b[i][i] = 1, b[dim][i] = -1;
  int it = 0;
  for (;; it++) {
    if (it == MAX_ITERATIONS) return -1;
    int fi = -1, fj = -1;
    for (int i = 0; i < nb && fi < 0; i++)
      for (int j = i + 1; j < nb; j++)
        if (form(M, dim, b[i], b[j]) > 0.0) {
          fi = i, fj = j;
          break;
        }
    if (fi < 0) break;
    if (dim == 2) {
      int k = 3 - fi - fj;
      for (int c = 0; c < 3; c++) b[k][c] = b[fi][c] - b[fj][c], b[fi][c] = -b[fi][c];
    } else {
      for (int k = 0; k < nb; k++) {
        if (k == fi || k == fj) continue;
        for (int c = 0; c < 3; c++) b[k][c] += b[fi][c];
      }
      for (int c = 0; c < 3; c++) b[fi][c] = -b[fi][c];
    }
  }
  int n = 0;
  for (int i = 0; i < nb; i++)
    for (int j = i + 1; j < nb; j++) {
      int e[3] = {0, 0, 0};
      if (dim == 2) {
        int k = 3 - i - j;
        e[0] = -b[k][1], e[1] = b[k][0];
      } else {
        int k = -1, l = -1;
        for (int m = 0; m < 4; m++)
          if (m != i && m != j) {
            if (k < 0) k = m;
            else l = m;
          }
        e[0] = b[k][1] * b[l][2] - b[k][2] * b[l][1];
        e[1] = b[k][2] * b[l][0] - b[k][0] * b[l][2];
        e[2] = b[k][0] * b[l][1] - b[k][1] * b[l][0];
      }
      canonical_sign(e);
      double w = -form(M, dim, b[i], b[j]);
      out->weight[n] = w > 0.0 ? w : 0.0; /* -0.0 and round-off ties */
      for (int c = 0; c < 3; c++) out->offset[n][c] = e[c];
      n++;
    }
  out->terms = n;
  return 0;
}

double fp_selling_weight(const fp_selling *s, const int e[3])
{
  int c[3] = {e[0], e[1], e[2]};
  canonical_sign(c);
  double w = 0.0;
  for (int k = 0; k < s->terms; k++)
    if (s->offset[k][0] == c[0] && s->offset[k][1] == c[1] && s->offset[k][2] == c[2])
      w += s->weight[k];
  return w;
}
