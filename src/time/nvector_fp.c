/* fpentropy (internal): the project's serial N_Vector (see nvector_fp_impl.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Element-wise operations are plain loops the compiler vectorises (the
 * arguments of SUNDIALS operations may alias, so no `restrict`: GCC versions
 * the loops with a run-time overlap check).  Reductions use `omp simd`
 * reductions (compiled with -fopenmp-simd, no threads): several partial sums,
 * so the result differs from N_Vector_Serial's left-to-right sum by
 * round-off only (tests/unit/test_nvector.c bounds it).  Fused operations
 * work through the vectors in blocks of BLOCK values that stay in L1 cache,
 * so every input is read once and every output written once. */
#include "time/nvector_fp_impl.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Vectors made before SUNDIALS asks for them (see fp_nvector_reserve):
 * shared by the template and every vector cloned from it, freed when the
 * last of them lets go. */
typedef struct fp_nv_reserve {
  int refs;
  int count;   /* vectors still set aside */
  int missed;  /* clones that allocated because none was left */
  N_Vector *v; /* the vectors set aside, v[0 .. count) */
} fp_nv_reserve;

/* The first three members have the layout of struct _N_VectorContent_Serial
 * (see the header); SUNDIALS never reads past them. */
typedef struct fp_nv_content {
  sunindextype length;
  sunbooleantype own_data;
  double *data;
  fp_nv_reserve *reserve; /* NULL when clones allocate */
} fp_nv_content;

#define BLOCK 512
#define CONTENT(v) ((fp_nv_content *)(v)->content)
#define DATA(v) (CONTENT(v)->data)
#define LEN(v) (CONTENT(v)->length)

static N_Vector_ID get_id(N_Vector v)
{
  (void)v;
  return SUNDIALS_NVEC_SERIAL;
}

static double *alloc_data(sunindextype n)
{
  size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(double);
  bytes = (bytes + 63) / 64 * 64; /* aligned_alloc wants a multiple of the alignment */
  return aligned_alloc(64, bytes);
}

static void reserve_unref(fp_nv_reserve *r)
{
  if (r && --r->refs == 0) {
    free(r->v);
    free(r);
  }
}

static void destroy(N_Vector v)
{
  if (!v) return;
  if (v->content) {
    if (CONTENT(v)->own_data) free(DATA(v));
    reserve_unref(CONTENT(v)->reserve);
    free(v->content);
    v->content = NULL;
  }
  N_VFreeEmpty(v);
}

/* Takes a vector set aside for w's clones, if one is left. */
static N_Vector take_reserved(N_Vector w)
{
  fp_nv_reserve *r = CONTENT(w)->reserve;
  if (!r) return NULL;
  if (r->count > 0) return r->v[--r->count];
  r->missed++;
  return NULL;
}

static N_Vector make_empty(N_Vector w);

/* Makes v share w's reserve, so clones of clones draw on it too. */
static void share_reserve(N_Vector w, N_Vector v)
{
  fp_nv_reserve *r = CONTENT(w)->reserve;
  if (r) r->refs++;
  CONTENT(v)->reserve = r;
}

static N_Vector clone_empty(N_Vector w)
{
  if (!w) return NULL;
  N_Vector v = take_reserved(w);
  if (v) {
    free(DATA(v));
    CONTENT(v)->data = NULL;
    CONTENT(v)->own_data = SUNFALSE;
    return v;
  }
  return make_empty(w);
}

static N_Vector make_empty(N_Vector w)
{
  N_Vector v = N_VNewEmpty(w->sunctx);
  if (!v) return NULL;
  if (N_VCopyOps(w, v) != 0) {
    N_VFreeEmpty(v);
    return NULL;
  }
  fp_nv_content *c = calloc(1, sizeof *c);
  if (!c) {
    N_VFreeEmpty(v);
    return NULL;
  }
  c->length = LEN(w);
  v->content = c;
  share_reserve(w, v);
  return v;
}

static N_Vector clone(N_Vector w)
{
  N_Vector v = take_reserved(w);
  if (v) return v;
  v = make_empty(w);
  if (!v) return NULL;
  double *d = alloc_data(LEN(w));
  if (!d) {
    destroy(v);
    return NULL;
  }
  CONTENT(v)->data = d;
  CONTENT(v)->own_data = SUNTRUE;
  return v;
}

static void space(N_Vector v, sunindextype *lrw, sunindextype *liw)
{
  *lrw = LEN(v);
  *liw = 1;
}

static double *get_array(N_Vector v) { return DATA(v); }

static void set_array(double *data, N_Vector v)
{
  if (CONTENT(v)->own_data) free(DATA(v));
  CONTENT(v)->own_data = SUNFALSE;
  CONTENT(v)->data = data;
}

static void *get_communicator(N_Vector v)
{
  (void)v;
  return NULL;
}

static sunindextype get_length(N_Vector v) { return LEN(v); }

/* ---- standard operations ------------------------------------------------ */

static void linear_sum(double a, N_Vector x, double b, N_Vector y, N_Vector z)
{
  const double *xd = DATA(x), *yd = DATA(y);
  double *zd = DATA(z);
  sunindextype n = LEN(x);
  if (a == 1.0 && b == 1.0) {
    for (sunindextype i = 0; i < n; i++) zd[i] = xd[i] + yd[i];
  } else if (a == 1.0 && b == -1.0) {
    for (sunindextype i = 0; i < n; i++) zd[i] = xd[i] - yd[i];
  } else if (a == -1.0 && b == 1.0) {
    for (sunindextype i = 0; i < n; i++) zd[i] = yd[i] - xd[i];
  } else if (a == 1.0) {
    for (sunindextype i = 0; i < n; i++) zd[i] = xd[i] + b * yd[i];
  } else if (b == 1.0) {
    for (sunindextype i = 0; i < n; i++) zd[i] = a * xd[i] + yd[i];
  } else {
    for (sunindextype i = 0; i < n; i++) zd[i] = a * xd[i] + b * yd[i];
  }
}

static void const_fill(double c, N_Vector z)
{
  double *zd = DATA(z);
  sunindextype n = LEN(z);
  for (sunindextype i = 0; i < n; i++) zd[i] = c;
}

static void prod(N_Vector x, N_Vector y, N_Vector z)
{
  const double *xd = DATA(x), *yd = DATA(y);
  double *zd = DATA(z);
  sunindextype n = LEN(x);
  for (sunindextype i = 0; i < n; i++) zd[i] = xd[i] * yd[i];
}

static void divide(N_Vector x, N_Vector y, N_Vector z)
{
  const double *xd = DATA(x), *yd = DATA(y);
  double *zd = DATA(z);
  sunindextype n = LEN(x);
  for (sunindextype i = 0; i < n; i++) zd[i] = xd[i] / yd[i];
}

static void scale(double c, N_Vector x, N_Vector z)
{
  const double *xd = DATA(x);
  double *zd = DATA(z);
  sunindextype n = LEN(x);
  if (xd == zd) {
    for (sunindextype i = 0; i < n; i++) zd[i] *= c;
  } else if (c == 1.0) {
    memcpy(zd, xd, (size_t)n * sizeof *zd);
  } else if (c == -1.0) {
    for (sunindextype i = 0; i < n; i++) zd[i] = -xd[i];
  } else {
    for (sunindextype i = 0; i < n; i++) zd[i] = c * xd[i];
  }
}

static void absolute(N_Vector x, N_Vector z)
{
  const double *xd = DATA(x);
  double *zd = DATA(z);
  sunindextype n = LEN(x);
  for (sunindextype i = 0; i < n; i++) zd[i] = fabs(xd[i]);
}

static void inverse(N_Vector x, N_Vector z)
{
  const double *xd = DATA(x);
  double *zd = DATA(z);
  sunindextype n = LEN(x);
  for (sunindextype i = 0; i < n; i++) zd[i] = 1.0 / xd[i];
}

static void add_const(N_Vector x, double b, N_Vector z)
{
  const double *xd = DATA(x);
  double *zd = DATA(z);
  sunindextype n = LEN(x);
  for (sunindextype i = 0; i < n; i++) zd[i] = xd[i] + b;
}

static double dot(N_Vector x, N_Vector y)
{
  const double *xd = DATA(x), *yd = DATA(y);
  sunindextype n = LEN(x);
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (sunindextype i = 0; i < n; i++) s += xd[i] * yd[i];
  return s;
}

static double max_norm(N_Vector x)
{
  const double *xd = DATA(x);
  sunindextype n = LEN(x);
  double m = 0.0;
#pragma omp simd reduction(max : m)
  for (sunindextype i = 0; i < n; i++) {
    double a = fabs(xd[i]);
    m = a > m ? a : m;
  }
  return m;
}

static double wsqrsum(N_Vector x, N_Vector w)
{
  const double *xd = DATA(x), *wd = DATA(w);
  sunindextype n = LEN(x);
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (sunindextype i = 0; i < n; i++) {
    double p = xd[i] * wd[i];
    s += p * p;
  }
  return s;
}

static double wsqrsum_mask(N_Vector x, N_Vector w, N_Vector id)
{
  const double *xd = DATA(x), *wd = DATA(w), *idd = DATA(id);
  sunindextype n = LEN(x);
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (sunindextype i = 0; i < n; i++) {
    double p = idd[i] > 0.0 ? xd[i] * wd[i] : 0.0;
    s += p * p;
  }
  return s;
}

static double wrms_norm(N_Vector x, N_Vector w) { return sqrt(wsqrsum(x, w) / (double)LEN(x)); }

static double wrms_norm_mask(N_Vector x, N_Vector w, N_Vector id)
{
  return sqrt(wsqrsum_mask(x, w, id) / (double)LEN(x));
}

static double min_value(N_Vector x)
{
  const double *xd = DATA(x);
  sunindextype n = LEN(x);
  double m = n > 0 ? xd[0] : BIG_REAL;
#pragma omp simd reduction(min : m)
  for (sunindextype i = 0; i < n; i++) m = xd[i] < m ? xd[i] : m;
  return m;
}

static double wl2_norm(N_Vector x, N_Vector w) { return sqrt(wsqrsum(x, w)); }

static double l1_norm(N_Vector x)
{
  const double *xd = DATA(x);
  sunindextype n = LEN(x);
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (sunindextype i = 0; i < n; i++) s += fabs(xd[i]);
  return s;
}

static void compare(double c, N_Vector x, N_Vector z)
{
  const double *xd = DATA(x);
  double *zd = DATA(z);
  sunindextype n = LEN(x);
  for (sunindextype i = 0; i < n; i++) zd[i] = fabs(xd[i]) >= c ? 1.0 : 0.0;
}

static sunbooleantype inv_test(N_Vector x, N_Vector z)
{
  const double *xd = DATA(x);
  double *zd = DATA(z);
  sunindextype n = LEN(x);
  sunbooleantype ok = SUNTRUE;
  for (sunindextype i = 0; i < n; i++) {
    if (xd[i] == 0.0) ok = SUNFALSE;
    else zd[i] = 1.0 / xd[i];
  }
  return ok;
}

/* m_i = 1 where x violates constraint c_i (|c| = 2: x > 0 or < 0 strictly,
 * |c| = 1: x >= 0 or <= 0), as N_Vector_Serial defines it. */
static sunbooleantype constr_mask(N_Vector c, N_Vector x, N_Vector m)
{
  const double *cd = DATA(c), *xd = DATA(x);
  double *md = DATA(m);
  sunindextype n = LEN(x);
  int violated = 0;
  for (sunindextype i = 0; i < n; i++) {
    double ci = cd[i], xc = xd[i] * ci, ac = fabs(ci);
    int test = ci != 0.0 && ((ac > 1.5 && xc <= 0.0) || (ac > 0.5 && xc < 0.0));
    md[i] = test ? 1.0 : 0.0;
    violated |= test;
  }
  return violated ? SUNFALSE : SUNTRUE;
}

static double min_quotient(N_Vector num, N_Vector denom)
{
  const double *nd = DATA(num), *dd = DATA(denom);
  sunindextype n = LEN(num);
  double m = BIG_REAL;
  for (sunindextype i = 0; i < n; i++)
    if (dd[i] != 0.0) m = fmin(m, nd[i] / dd[i]);
  return m;
}

/* ---- fused operations --------------------------------------------------- */

/* z = sum_j c_j X_j; z may be one of the X_j (every block of the X_j is read
 * before that block of z is written). */
static int linear_combination(int nv, double *c, N_Vector *X, N_Vector z)
{
  if (nv < 1) return -1;
  sunindextype n = LEN(z);
  double *zd = DATA(z);
  double tmp[BLOCK];
  for (sunindextype i0 = 0; i0 < n; i0 += BLOCK) {
    sunindextype m = n - i0 < BLOCK ? n - i0 : BLOCK;
    const double *x0 = DATA(X[0]) + i0;
    double c0 = c[0];
    for (sunindextype i = 0; i < m; i++) tmp[i] = c0 * x0[i];
    for (int j = 1; j < nv; j++) {
      const double *xj = DATA(X[j]) + i0;
      double cj = c[j];
      for (sunindextype i = 0; i < m; i++) tmp[i] += cj * xj[i];
    }
    memcpy(zd + i0, tmp, (size_t)m * sizeof *tmp);
  }
  return 0;
}

/* Z_j = a_j x + Y_j. */
static int scale_add_multi(int nv, double *a, N_Vector x, N_Vector *Y, N_Vector *Z)
{
  if (nv < 1) return -1;
  sunindextype n = LEN(x);
  const double *xd = DATA(x);
  for (sunindextype i0 = 0; i0 < n; i0 += BLOCK) {
    sunindextype m = n - i0 < BLOCK ? n - i0 : BLOCK;
    for (int j = 0; j < nv; j++) {
      const double *yj = DATA(Y[j]) + i0;
      double *zj = DATA(Z[j]) + i0;
      double aj = a[j];
      for (sunindextype i = 0; i < m; i++) zj[i] = aj * xd[i0 + i] + yj[i];
    }
  }
  return 0;
}

/* d_j = x . Y_j, with x read once per block. */
static int dot_prod_multi(int nv, N_Vector x, N_Vector *Y, double *d)
{
  if (nv < 1) return -1;
  sunindextype n = LEN(x);
  const double *xd = DATA(x);
  for (int j = 0; j < nv; j++) d[j] = 0.0;
  for (sunindextype i0 = 0; i0 < n; i0 += BLOCK) {
    sunindextype m = n - i0 < BLOCK ? n - i0 : BLOCK;
    const double *xb = xd + i0;
    for (int j = 0; j < nv; j++) {
      const double *yj = DATA(Y[j]) + i0;
      double s = 0.0;
#pragma omp simd reduction(+ : s)
      for (sunindextype i = 0; i < m; i++) s += xb[i] * yj[i];
      d[j] += s;
    }
  }
  return 0;
}

/* ---- vector-array operations -------------------------------------------- */

static int linear_sum_vector_array(int nv, double a, N_Vector *X, double b, N_Vector *Y,
                                   N_Vector *Z)
{
  if (nv < 1) return -1;
  for (int j = 0; j < nv; j++) linear_sum(a, X[j], b, Y[j], Z[j]);
  return 0;
}

static int scale_vector_array(int nv, double *c, N_Vector *X, N_Vector *Z)
{
  if (nv < 1) return -1;
  for (int j = 0; j < nv; j++) scale(c[j], X[j], Z[j]);
  return 0;
}

static int const_vector_array(int nv, double c, N_Vector *Z)
{
  if (nv < 1) return -1;
  for (int j = 0; j < nv; j++) const_fill(c, Z[j]);
  return 0;
}

static int wrms_norm_vector_array(int nv, N_Vector *X, N_Vector *W, double *nrm)
{
  if (nv < 1) return -1;
  for (int j = 0; j < nv; j++) nrm[j] = wrms_norm(X[j], W[j]);
  return 0;
}

static int wrms_norm_mask_vector_array(int nv, N_Vector *X, N_Vector *W, N_Vector id,
                                       double *nrm)
{
  if (nv < 1) return -1;
  for (int j = 0; j < nv; j++) nrm[j] = wrms_norm_mask(X[j], W[j], id);
  return 0;
}

/* Z[j][i] = a_j X[i] + Y[j][i] for i < nvec, j < nsum. */
static int scale_add_multi_vector_array(int nvec, int nsum, double *a, N_Vector *X,
                                        N_Vector **Y, N_Vector **Z)
{
  if (nvec < 1 || nsum < 1) return -1;
  sunindextype n = LEN(X[0]);
  for (int i = 0; i < nvec; i++) {
    const double *xd = DATA(X[i]);
    for (sunindextype k0 = 0; k0 < n; k0 += BLOCK) {
      sunindextype m = n - k0 < BLOCK ? n - k0 : BLOCK;
      for (int j = 0; j < nsum; j++) {
        const double *yj = DATA(Y[j][i]) + k0;
        double *zj = DATA(Z[j][i]) + k0;
        double aj = a[j];
        for (sunindextype k = 0; k < m; k++) zj[k] = aj * xd[k0 + k] + yj[k];
      }
    }
  }
  return 0;
}

/* Z[i] = sum_j c_j X[j][i] for i < nvec (Z[i] may be X[0][i]). */
static int linear_combination_vector_array(int nvec, int nsum, double *c, N_Vector **X,
                                           N_Vector *Z)
{
  if (nvec < 1 || nsum < 1) return -1;
  sunindextype n = LEN(Z[0]);
  double tmp[BLOCK];
  for (int v = 0; v < nvec; v++) {
    double *zd = DATA(Z[v]);
    for (sunindextype i0 = 0; i0 < n; i0 += BLOCK) {
      sunindextype m = n - i0 < BLOCK ? n - i0 : BLOCK;
      const double *x0 = DATA(X[0][v]) + i0;
      double c0 = c[0];
      for (sunindextype i = 0; i < m; i++) tmp[i] = c0 * x0[i];
      for (int j = 1; j < nsum; j++) {
        const double *xj = DATA(X[j][v]) + i0;
        double cj = c[j];
        for (sunindextype i = 0; i < m; i++) tmp[i] += cj * xj[i];
      }
      memcpy(zd + i0, tmp, (size_t)m * sizeof *tmp);
    }
  }
  return 0;
}

/* ---- constructors ------------------------------------------------------- */

static N_Vector new_empty(sunindextype n, SUNContext ctx)
{
  N_Vector v = N_VNewEmpty(ctx);
  if (!v) return NULL;
  N_Vector_Ops o = v->ops;
  o->nvgetvectorid = get_id;
  o->nvclone = clone;
  o->nvcloneempty = clone_empty;
  o->nvdestroy = destroy;
  o->nvspace = space;
  o->nvgetarraypointer = get_array;
  o->nvsetarraypointer = set_array;
  o->nvgetcommunicator = get_communicator;
  o->nvgetlength = get_length;
  o->nvlinearsum = linear_sum;
  o->nvconst = const_fill;
  o->nvprod = prod;
  o->nvdiv = divide;
  o->nvscale = scale;
  o->nvabs = absolute;
  o->nvinv = inverse;
  o->nvaddconst = add_const;
  o->nvdotprod = dot;
  o->nvmaxnorm = max_norm;
  o->nvwrmsnorm = wrms_norm;
  o->nvwrmsnormmask = wrms_norm_mask;
  o->nvmin = min_value;
  o->nvwl2norm = wl2_norm;
  o->nvl1norm = l1_norm;
  o->nvcompare = compare;
  o->nvinvtest = inv_test;
  o->nvconstrmask = constr_mask;
  o->nvminquotient = min_quotient;
  o->nvlinearcombination = linear_combination;
  o->nvscaleaddmulti = scale_add_multi;
  o->nvdotprodmulti = dot_prod_multi;
  o->nvlinearsumvectorarray = linear_sum_vector_array;
  o->nvscalevectorarray = scale_vector_array;
  o->nvconstvectorarray = const_vector_array;
  o->nvwrmsnormvectorarray = wrms_norm_vector_array;
  o->nvwrmsnormmaskvectorarray = wrms_norm_mask_vector_array;
  o->nvscaleaddmultivectorarray = scale_add_multi_vector_array;
  o->nvlinearcombinationvectorarray = linear_combination_vector_array;
  o->nvdotprodlocal = dot;
  o->nvmaxnormlocal = max_norm;
  o->nvminlocal = min_value;
  o->nvl1normlocal = l1_norm;
  o->nvinvtestlocal = inv_test;
  o->nvconstrmasklocal = constr_mask;
  o->nvminquotientlocal = min_quotient;
  o->nvwsqrsumlocal = wsqrsum;
  o->nvwsqrsummasklocal = wsqrsum_mask;
  o->nvdotprodmultilocal = dot_prod_multi;
  o->nvgetlocallength = get_length;
  fp_nv_content *c = calloc(1, sizeof *c);
  if (!c) {
    N_VFreeEmpty(v);
    return NULL;
  }
  c->length = n;
  v->content = c;
  return v;
}

N_Vector fp_nvector_new(sunindextype n, SUNContext ctx)
{
  N_Vector v = new_empty(n, ctx);
  if (!v) return NULL;
  double *d = alloc_data(n);
  if (!d) {
    destroy(v);
    return NULL;
  }
  CONTENT(v)->data = d;
  CONTENT(v)->own_data = SUNTRUE;
  return v;
}

N_Vector fp_nvector_wrap(sunindextype n, double *data, SUNContext ctx)
{
  N_Vector v = new_empty(n, ctx);
  if (!v) return NULL;
  CONTENT(v)->data = data;
  CONTENT(v)->own_data = SUNFALSE;
  return v;
}

int fp_nvector_reserve(N_Vector tmpl, int count)
{
  if (!tmpl || count < 0 || CONTENT(tmpl)->reserve) return -1;
  fp_nv_reserve *r = calloc(1, sizeof *r);
  N_Vector *v = calloc((size_t)count + 1, sizeof *v);
  if (!r || !v) {
    free(r);
    free(v);
    return -1;
  }
  r->v = v;
  r->refs = 1; /* the template's */
  for (int i = 0; i < count; i++) {
    N_Vector c = clone(tmpl); /* no reserve yet: allocates */
    if (!c) {
      for (int j = 0; j < i; j++) destroy(r->v[j]);
      reserve_unref(r);
      return -1;
    }
    CONTENT(c)->reserve = r;
    r->refs++;
    r->v[r->count++] = c;
  }
  CONTENT(tmpl)->reserve = r;
  return 0;
}

int fp_nvector_reserve_left(N_Vector tmpl)
{
  const fp_nv_reserve *r = tmpl ? CONTENT(tmpl)->reserve : NULL;
  return r ? r->count : 0;
}

int fp_nvector_release_reserve(N_Vector tmpl)
{
  fp_nv_reserve *r = tmpl ? CONTENT(tmpl)->reserve : NULL;
  if (!r) return 0;
  int missed = r->missed;
  while (r->count > 0) destroy(r->v[--r->count]);
  CONTENT(tmpl)->reserve = NULL;
  reserve_unref(r);
  return missed;
}

N_Vector fp_nvector_clone(N_Vector w) { return w ? clone(w) : NULL; }
