/* fpentropy tests: the project's N_Vector against SUNDIALS' N_Vector_Serial,
 * operation by operation (element-wise results identical, reductions equal to
 * round-off), including aliased arguments and lengths that are not a multiple
 * of the block size.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "test_support.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>

#include "time/nvector_fp_impl.h"

#define NV 6   /* vectors in the array tests (CVODE uses up to q + 1 = 6) */

typedef struct pair {
  N_Vector a; /* ours */
  N_Vector b; /* N_Vector_Serial */
} pair;

typedef struct fixture {
  SUNContext ctx;
  sunindextype n;
  pair v[NV + 4];
} fixture;

static unsigned long long rng_state = 88172645463325252ULL;
static double uniform(void)
{
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void fill(pair *p, double lo, double hi, double zero_fraction)
{
  double *a = N_VGetArrayPointer(p->a), *b = N_VGetArrayPointer(p->b);
  for (sunindextype i = 0; i < N_VGetLength(p->a); i++) {
    double x = lo + (hi - lo) * uniform();
    if (uniform() < zero_fraction) x = 0.0;
    a[i] = b[i] = x;
  }
}

static fixture *make(sunindextype n)
{
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  assert_int_equal(SUNContext_Create(NULL, &f->ctx), 0);
  f->n = n;
  for (int j = 0; j < NV + 4; j++) {
    f->v[j].a = fp_nvector_new(n, f->ctx);
    f->v[j].b = N_VNew_Serial(n, f->ctx);
    assert_non_null(f->v[j].a);
    assert_non_null(f->v[j].b);
    fill(&f->v[j], -2.0, 2.0, 0.05);
  }
  return f;
}

static void release(fixture *f)
{
  for (int j = 0; j < NV + 4; j++) {
    N_VDestroy(f->v[j].a);
    N_VDestroy(f->v[j].b);
  }
  SUNContext_Free(&f->ctx);
  free(f);
}

/* Element-wise operations do the same arithmetic in the same order: equal
 * bits. */
static void assert_same(const pair *p)
{
  const double *a = N_VGetArrayPointer(p->a), *b = N_VGetArrayPointer(p->b);
  for (sunindextype i = 0; i < N_VGetLength(p->a); i++)
    if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i])))) {
      print_error("element %ld: %.17g vs %.17g\n", (long)i, a[i], b[i]);
      fail();
    }
}

/* Reductions sum in another order: equal to a few ulps of the sum of
 * magnitudes. */
static void near(double a, double b, double magnitude)
{
  double tol = 64 * 2.2e-16 * magnitude;
  if (!(fabs(a - b) <= tol)) {
    print_error("%.17g vs %.17g (tolerance %g)\n", a, b, tol);
    fail();
  }
}

static void test_identity(void **state)
{
  (void)state;
  fixture *f = make(1000);
  N_Vector c = N_VClone(f->v[0].a);
  assert_non_null(c);
  assert_int_equal(N_VGetVectorID(c), SUNDIALS_NVEC_SERIAL);
  assert_int_equal(N_VGetLength(c), 1000);
  /* the layout is N_Vector_Serial's: its accessor macros read our content */
  assert_ptr_equal(NV_DATA_S(c), N_VGetArrayPointer(c));
  assert_int_equal(NV_LENGTH_S(c), 1000);
  double buf[4] = {1, 2, 3, 4};
  N_Vector w = fp_nvector_wrap(4, buf, f->ctx);
  assert_ptr_equal(N_VGetArrayPointer(w), buf);
  N_VDestroy(w);
  assert_true(buf[3] == 4.0); /* wrapped data is not freed */
  N_VDestroy(c);
  release(f);
}

static void check_elementwise(sunindextype n)
{
  fixture *f = make(n);
  pair *x = &f->v[0], *y = &f->v[1], *z = &f->v[2], *m = &f->v[3];
  const double coef[][2] = {{1, 1}, {1, -1}, {-1, 1}, {1, 0.3}, {0.7, 1}, {-0.4, 2.5}};
  for (size_t k = 0; k < sizeof coef / sizeof coef[0]; k++) {
    N_VLinearSum(coef[k][0], x->a, coef[k][1], y->a, z->a);
    N_VLinearSum(coef[k][0], x->b, coef[k][1], y->b, z->b);
    assert_same(z);
    /* aliased output */
    N_VLinearSum(coef[k][0], x->a, coef[k][1], z->a, z->a);
    N_VLinearSum(coef[k][0], x->b, coef[k][1], z->b, z->b);
    assert_same(z);
  }
  N_VConst(3.25, z->a), N_VConst(3.25, z->b), assert_same(z);
  N_VProd(x->a, y->a, z->a), N_VProd(x->b, y->b, z->b), assert_same(z);
  fill(m, 0.5, 2.0, 0.0);
  N_VDiv(x->a, m->a, z->a), N_VDiv(x->b, m->b, z->b), assert_same(z);
  const double scales[] = {1.0, -1.0, 0.37};
  for (size_t k = 0; k < 3; k++) {
    N_VScale(scales[k], x->a, z->a), N_VScale(scales[k], x->b, z->b), assert_same(z);
    N_VScale(scales[k], z->a, z->a), N_VScale(scales[k], z->b, z->b), assert_same(z);
  }
  N_VAbs(x->a, z->a), N_VAbs(x->b, z->b), assert_same(z);
  N_VInv(m->a, z->a), N_VInv(m->b, z->b), assert_same(z);
  N_VAddConst(x->a, -0.5, z->a), N_VAddConst(x->b, -0.5, z->b), assert_same(z);
  N_VCompare(0.8, x->a, z->a), N_VCompare(0.8, x->b, z->b), assert_same(z);
  /* InvTest: x has zeros (fill's zero fraction), m has none */
  N_VConst(7.0, z->a), N_VConst(7.0, z->b);
  assert_int_equal(N_VInvTest(x->a, z->a), N_VInvTest(x->b, z->b));
  assert_same(z);
  assert_int_equal(N_VInvTest(m->a, z->a), N_VInvTest(m->b, z->b));
  assert_true(N_VInvTest(m->a, z->a));
  assert_same(z);
  /* ConstrMask: constraints in {-2, -1, 0, 1, 2} */
  pair *c = &f->v[4];
  double *ca = N_VGetArrayPointer(c->a), *cb = N_VGetArrayPointer(c->b);
  for (sunindextype i = 0; i < n; i++) ca[i] = cb[i] = (double)((int)(5 * uniform()) - 2);
  assert_int_equal(N_VConstrMask(c->a, x->a, z->a), N_VConstrMask(c->b, x->b, z->b));
  assert_same(z);
  N_VAbs(x->a, y->a), N_VAbs(x->b, y->b);
  N_VConst(1.0, c->a), N_VConst(1.0, c->b);
  assert_true(N_VConstrMask(c->a, y->a, z->a));
  assert_true(N_VConstrMask(c->b, y->b, z->b));
  assert_same(z);
  /* MinQuotient skips zero denominators */
  assert_true(N_VMinQuotient(y->a, x->a) == N_VMinQuotient(y->b, x->b));
  release(f);
}

static void check_reductions(sunindextype n)
{
  fixture *f = make(n);
  pair *x = &f->v[0], *w = &f->v[1], *id = &f->v[2];
  fill(w, 0.1, 3.0, 0.0);
  double mag = 0.0;
  const double *xa = N_VGetArrayPointer(x->a), *wa = N_VGetArrayPointer(w->a);
  for (sunindextype i = 0; i < n; i++) mag += fabs(xa[i] * wa[i]) * (fabs(xa[i] * wa[i]) + 1.0);
  near(N_VDotProd(x->a, w->a), N_VDotProd(x->b, w->b), mag);
  assert_true(N_VMaxNorm(x->a) == N_VMaxNorm(x->b));
  assert_true(N_VMin(x->a) == N_VMin(x->b));
  near(N_VL1Norm(x->a), N_VL1Norm(x->b), mag);
  near(N_VWrmsNorm(x->a, w->a), N_VWrmsNorm(x->b, w->b), sqrt(mag));
  near(N_VWL2Norm(x->a, w->a), N_VWL2Norm(x->b, w->b), sqrt(mag));
  near(N_VWrmsNormMask(x->a, w->a, id->a), N_VWrmsNormMask(x->b, w->b, id->b), sqrt(mag));
  release(f);
}

static void side(fixture *f, int first, int count, bool ours, N_Vector *out)
{
  for (int j = 0; j < count; j++) out[j] = ours ? f->v[first + j].a : f->v[first + j].b;
}

static void check_fused(sunindextype n)
{
  fixture *f = make(n);
  double c[NV] = {1.0, -0.3, 2.5, 0.125, -1.75, 0.6};
  N_Vector Xa[NV], Xb[NV], Ya[NV], Yb[NV];
  pair *z = &f->v[NV];
  for (int nv = 1; nv <= NV; nv++) {
    /* LinearCombination, separate output and output = X[0] */
    side(f, 0, nv, true, Xa);
    side(f, 0, nv, false, Xb);
    assert_int_equal(N_VLinearCombination(nv, c, Xa, z->a), 0);
    assert_int_equal(N_VLinearCombination(nv, c, Xb, z->b), 0);
    for (sunindextype i = 0; i < n; i++)
      near(N_VGetArrayPointer(z->a)[i], N_VGetArrayPointer(z->b)[i], 8.0 * nv);
    N_VScale(1.0, f->v[0].b, f->v[0].a); /* keep X[0] identical on both sides */
    assert_int_equal(N_VLinearCombination(nv, c, Xa, Xa[0]), 0);
    assert_int_equal(N_VLinearCombination(nv, c, Xb, Xb[0]), 0);
    for (sunindextype i = 0; i < n; i++)
      near(N_VGetArrayPointer(Xa[0])[i], N_VGetArrayPointer(Xb[0])[i], 8.0 * nv);
    N_VScale(1.0, f->v[0].b, f->v[0].a);
    /* ScaleAddMulti: Z_j = c_j x + Y_j, into fresh outputs and in place */
    side(f, 1, nv, true, Ya);
    side(f, 1, nv, false, Yb);
    assert_int_equal(N_VScaleAddMulti(nv, c, f->v[0].a, Ya, Ya), 0);
    assert_int_equal(N_VScaleAddMulti(nv, c, f->v[0].b, Yb, Yb), 0);
    for (int j = 0; j < nv; j++)
      for (sunindextype i = 0; i < n; i++)
        near(N_VGetArrayPointer(Ya[j])[i], N_VGetArrayPointer(Yb[j])[i], 8.0);
    for (int j = 1; j <= nv; j++) N_VScale(1.0, f->v[j].b, f->v[j].a);
    /* DotProdMulti */
    double da[NV], db[NV];
    assert_int_equal(N_VDotProdMulti(nv, f->v[0].a, Ya, da), 0);
    assert_int_equal(N_VDotProdMulti(nv, f->v[0].b, Yb, db), 0);
    for (int j = 0; j < nv; j++) {
      double mag = 0.0;
      for (sunindextype i = 0; i < n; i++)
        mag += fabs(N_VGetArrayPointer(f->v[0].b)[i] * N_VGetArrayPointer(Yb[j])[i]);
      near(da[j], db[j], mag);
    }
  }
  release(f);
}

static void check_arrays(sunindextype n)
{
  fixture *f = make(n);
  enum { K = 3 };
  double c[NV] = {0.5, -1.25, 2.0, 0.3, -0.7, 1.1};
  N_Vector Xa[K], Xb[K], Ya[K], Yb[K], Za[K], Zb[K];
  side(f, 0, K, true, Xa);
  side(f, 0, K, false, Xb);
  side(f, K, K, true, Ya);
  side(f, K, K, false, Yb);
  side(f, 2 * K, K, true, Za);
  side(f, 2 * K, K, false, Zb);
  assert_int_equal(N_VLinearSumVectorArray(K, 0.3, Xa, -1.0, Ya, Za), 0);
  assert_int_equal(N_VLinearSumVectorArray(K, 0.3, Xb, -1.0, Yb, Zb), 0);
  for (int j = 0; j < K; j++) assert_same(&f->v[2 * K + j]);
  assert_int_equal(N_VScaleVectorArray(K, c, Xa, Za), 0);
  assert_int_equal(N_VScaleVectorArray(K, c, Xb, Zb), 0);
  for (int j = 0; j < K; j++) assert_same(&f->v[2 * K + j]);
  double na[K], nb[K];
  fill(&f->v[K], 0.1, 2.0, 0.0), fill(&f->v[K + 1], 0.1, 2.0, 0.0), fill(&f->v[K + 2], 0.1, 2.0, 0.0);
  assert_int_equal(N_VWrmsNormVectorArray(K, Xa, Ya, na), 0);
  assert_int_equal(N_VWrmsNormVectorArray(K, Xb, Yb, nb), 0);
  for (int j = 0; j < K; j++) near(na[j], nb[j], 16.0);
  assert_int_equal(N_VWrmsNormMaskVectorArray(K, Xa, Ya, f->v[9].a, na), 0);
  assert_int_equal(N_VWrmsNormMaskVectorArray(K, Xb, Yb, f->v[9].b, nb), 0);
  for (int j = 0; j < K; j++) near(na[j], nb[j], 16.0);
  assert_int_equal(N_VConstVectorArray(K, -2.5, Za), 0);
  assert_int_equal(N_VConstVectorArray(K, -2.5, Zb), 0);
  for (int j = 0; j < K; j++) assert_same(&f->v[2 * K + j]);
  /* ScaleAddMultiVectorArray: nvec = 1 vector X, nsum = K sums:
   * Z[j][0] = c_j X[0] + Y[j][0] */
  N_Vector *YYa[K], *YYb[K], *ZZa[K], *ZZb[K];
  for (int j = 0; j < K; j++) YYa[j] = &Ya[j], YYb[j] = &Yb[j], ZZa[j] = &Za[j], ZZb[j] = &Zb[j];
  assert_int_equal(N_VScaleAddMultiVectorArray(1, K, c, Xa, YYa, ZZa), 0);
  assert_int_equal(N_VScaleAddMultiVectorArray(1, K, c, Xb, YYb, ZZb), 0);
  for (int j = 0; j < K; j++) assert_same(&f->v[2 * K + j]);
  /* nvec = K vectors, nsum = 1 */
  N_Vector *Y1a[1] = {Ya}, *Y1b[1] = {Yb}, *Z1a[1] = {Za}, *Z1b[1] = {Zb};
  assert_int_equal(N_VScaleAddMultiVectorArray(K, 1, c, Xa, Y1a, Z1a), 0);
  assert_int_equal(N_VScaleAddMultiVectorArray(K, 1, c, Xb, Y1b, Z1b), 0);
  for (int j = 0; j < K; j++) assert_same(&f->v[2 * K + j]);
  /* LinearCombinationVectorArray: Z[i] = sum_j c_j X[j][i], nvec = 1,
   * nsum = K, and with Z = X[0] */
  N_Vector *XXa[K], *XXb[K];
  for (int j = 0; j < K; j++) XXa[j] = &Xa[j], XXb[j] = &Xb[j];
  assert_int_equal(N_VLinearCombinationVectorArray(1, K, c, XXa, Za), 0);
  assert_int_equal(N_VLinearCombinationVectorArray(1, K, c, XXb, Zb), 0);
  for (sunindextype i = 0; i < n; i++)
    near(N_VGetArrayPointer(Za[0])[i], N_VGetArrayPointer(Zb[0])[i], 16.0);
  assert_int_equal(N_VLinearCombinationVectorArray(1, K, c, XXa, Xa), 0);
  assert_int_equal(N_VLinearCombinationVectorArray(1, K, c, XXb, Xb), 0);
  for (sunindextype i = 0; i < n; i++)
    near(N_VGetArrayPointer(Xa[0])[i], N_VGetArrayPointer(Xb[0])[i], 16.0);
  release(f);
}

/* Lengths: below one block, a multiple of it, and a ragged last block. */
static const sunindextype lengths[] = {7, 1024, 5000};

static void test_elementwise(void **state)
{
  (void)state;
  for (size_t k = 0; k < 3; k++) check_elementwise(lengths[k]);
}

static void test_reductions(void **state)
{
  (void)state;
  for (size_t k = 0; k < 3; k++) check_reductions(lengths[k]);
}

static void test_fused(void **state)
{
  (void)state;
  for (size_t k = 0; k < 3; k++) check_fused(lengths[k]);
}

static void test_arrays(void **state)
{
  (void)state;
  for (size_t k = 0; k < 3; k++) check_arrays(lengths[k]);
}

/* The reserve (fp_nvector_reserve): clones of the template and of its clones
 * take the vectors set aside, in any order, then allocate; what is left is
 * freed on release, and the vectors outlive the template (the sanitizer
 * build checks that nothing leaks or is freed twice). */
static void test_reserve(void **state)
{
  (void)state;
  SUNContext ctx;
  assert_int_equal(SUNContext_Create(NULL, &ctx), 0);
  const sunindextype n = 1000;
  N_Vector t = fp_nvector_new(n, ctx);
  assert_non_null(t);
  assert_int_equal(fp_nvector_reserve(t, 3), 0);
  assert_int_equal(fp_nvector_reserve(t, 1), -1); /* one reserve per template */
  assert_int_equal(fp_nvector_reserve_left(t), 3);
  N_Vector a = N_VClone(t);
  assert_int_equal(fp_nvector_reserve_left(t), 2);
  N_Vector b = N_VClone(a); /* a clone of a clone draws on the same reserve */
  assert_int_equal(fp_nvector_reserve_left(t), 1);
  N_Vector e = N_VCloneEmpty(b);
  assert_int_equal(fp_nvector_reserve_left(t), 0);
  assert_null(N_VGetArrayPointer(e));
  N_Vector c = N_VClone(t); /* none left: allocates */
  N_Vector vs[4] = {a, b, c, t};
  for (int k = 0; k < 4; k++) {
    assert_int_equal(N_VGetLength(vs[k]), n);
    double *d = N_VGetArrayPointer(vs[k]);
    assert_non_null(d);
    for (sunindextype i = 0; i < n; i++) d[i] = k + 1; /* each has its own data */
  }
  for (int k = 0; k < 4; k++) assert_true(N_VGetArrayPointer(vs[k])[n - 1] == k + 1);
  assert_int_equal(fp_nvector_release_reserve(t), 1); /* c found it empty */
  N_VDestroy(t); /* before its clones */
  N_VDestroy(e);
  N_VDestroy(a);
  N_VDestroy(c);
  N_VDestroy(b);

  /* released with vectors left: they are freed; later clones allocate */
  t = fp_nvector_new(n, ctx);
  assert_int_equal(fp_nvector_reserve(t, 5), 0);
  a = N_VClone(t);
  assert_int_equal(fp_nvector_release_reserve(t), 0);
  assert_int_equal(fp_nvector_reserve_left(t), 0);
  b = N_VClone(a);
  assert_non_null(N_VGetArrayPointer(b));
  N_VDestroy(a);
  N_VDestroy(b);
  N_VDestroy(t);
  SUNContext_Free(&ctx);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_identity),    cmocka_unit_test(test_elementwise),
      cmocka_unit_test(test_reductions), cmocka_unit_test(test_fused),
      cmocka_unit_test(test_arrays),      cmocka_unit_test(test_reserve),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
