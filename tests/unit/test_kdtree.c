/* fpentropy tests: the k-d tree (src/kdtree.c) against brute force.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The tree and the brute force compute each squared distance with the same
 * operations in the same order, so the k nearest distances must agree
 * exactly (ties may come in a different index order, hence distances are
 * compared and every returned index is checked to be at its distance). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "streams/kdtree_impl.h"
#include "test_support.h"

#define MAXK 16

static double dist2(const double *a, const double *b, int dim)
{
  double d = a[0] - b[0], s = d * d;
  if (dim > 1) d = a[1] - b[1], s += d * d;
  if (dim > 2) d = a[2] - b[2], s += d * d;
  return s;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The kmax smallest distances from q to pts[j], j != exclude, ascending
 * (+inf beyond the number of candidates). */
static void brute_knn(const double *pts, size_t n, int dim, const double *q, size_t kmax,
                      size_t exclude, double *out, double *scratch)
{
  size_t m = 0;
  for (size_t j = 0; j < n; j++)
    if (j != exclude) scratch[m++] = dist2(pts + j * (size_t)dim, q, dim);
  qsort(scratch, m, sizeof *scratch, cmp_double);
  for (size_t j = 0; j < kmax; j++) out[j] = j < m ? sqrt(scratch[j]) : INFINITY;
}

/* Query every point of `queries` (same set as the tree when same != 0, then
 * excluding the point itself) for k = 1..kmax and compare with brute force. */
static void check_against_brute(const fp_kdtree *t, const double *pts, size_t n, int dim,
                                const double *queries, size_t nq, int same, size_t kmax)
{
  double *scratch = malloc(n * sizeof *scratch);
  assert_non_null(scratch);
  double got[MAXK], want[MAXK];
  size_t idx[MAXK];
  for (size_t i = 0; i < nq; i++) {
    const double *q = queries + i * (size_t)dim;
    size_t exclude = same ? i : FP_KDTREE_NONE;
    brute_knn(pts, n, dim, q, kmax, exclude, want, scratch);
    for (size_t k = 1; k <= kmax; k += (k < 4 ? 1 : 5)) {
      fp_kdtree_knn(t, q, k, exclude, got, idx);
      for (size_t j = 0; j < k; j++) {
        if (got[j] != want[j])
          fail_msg("query %zu, k %zu, neighbour %zu: tree %.17g, brute force %.17g", i, k, j,
                   got[j], want[j]);
        if (isfinite(want[j])) {
          assert_true(idx[j] < n);
          assert_true(idx[j] != exclude);
          assert_true(sqrt(dist2(pts + idx[j] * (size_t)dim, q, dim)) == got[j]);
        } else {
          assert_true(idx[j] == FP_KDTREE_NONE);
        }
      }
    }
  }
  free(scratch);
}

static double *random_points(gsl_rng *r, size_t n, int dim, double round_to)
{
  double *x = malloc(n * (size_t)dim * sizeof *x);
  assert_non_null(x);
  for (size_t i = 0; i < n * (size_t)dim; i++) {
    /* a mixture of a wide and a tight cluster, so leaves differ in size */
    double v = (i / (size_t)dim) % 3 == 0 ? 0.05 * gsl_rng_uniform(r) : gsl_rng_uniform(r);
    x[i] = round_to > 0 ? round_to * floor(v / round_to) : v;
  }
  return x;
}

static void test_same_set(void **state)
{
  (void)state;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 12345);
  fp_kdtree *t = NULL;
  assert_int_equal(fp_kdtree_create(&t, NULL), FP_OK);
  for (int dim = 1; dim <= 3; dim++) {
    const size_t n = 1500;
    double *x = random_points(r, n, dim, 0.0);
    assert_int_equal(fp_kdtree_build(t, dim, n, x, NULL), FP_OK);
    assert_int_equal(fp_kdtree_size(t), n);
    check_against_brute(t, x, n, dim, x, n, 1, MAXK);
    free(x);
  }
  fp_kdtree_destroy(&t);
  assert_null(t);
  gsl_rng_free(r);
}

static void test_other_set(void **state)
{
  (void)state;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 777);
  fp_kdtree *t = NULL;
  assert_int_equal(fp_kdtree_create(&t, NULL), FP_OK);
  for (int dim = 1; dim <= 3; dim++) {
    const size_t n = 1200, nq = 600;
    double *x = random_points(r, n, dim, 0.0);
    double *q = random_points(r, nq, dim, 0.0);
    for (size_t i = 0; i < nq * (size_t)dim; i += 7) q[i] = 3.0 * q[i] - 1.0; /* some outside */
    assert_int_equal(fp_kdtree_build(t, dim, n, x, NULL), FP_OK);
    check_against_brute(t, x, n, dim, q, nq, 0, MAXK);
    free(x);
    free(q);
  }
  fp_kdtree_destroy(&t);
  gsl_rng_free(r);
}

/* Coordinates on a coarse lattice: many exact ties and duplicated points
 * (zero distances), which exercise the partition on equal keys. */
static void test_ties_and_duplicates(void **state)
{
  (void)state;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 99);
  fp_kdtree *t = NULL;
  assert_int_equal(fp_kdtree_create(&t, NULL), FP_OK);
  for (int dim = 1; dim <= 3; dim++) {
    const size_t n = 800;
    double *x = random_points(r, n, dim, 0.125);
    assert_int_equal(fp_kdtree_build(t, dim, n, x, NULL), FP_OK);
    check_against_brute(t, x, n, dim, x, n, 1, MAXK);
    free(x);
  }
  fp_kdtree_destroy(&t);
  gsl_rng_free(r);
}

/* Degenerate sets: all points equal, sorted points on a line, one point,
 * and k larger than the number of candidates. */
static void test_degenerate(void **state)
{
  (void)state;
  fp_kdtree *t = NULL;
  assert_int_equal(fp_kdtree_create(&t, NULL), FP_OK);
  const size_t n = 100;
  double x[300];
  for (size_t i = 0; i < 3 * n; i++) x[i] = 0.5;
  assert_int_equal(fp_kdtree_build(t, 3, n, x, NULL), FP_OK);
  check_against_brute(t, x, n, 3, x, n, 1, MAXK);

  for (size_t i = 0; i < n; i++) x[2 * i] = (double)i, x[2 * i + 1] = 2.0 * (double)i;
  assert_int_equal(fp_kdtree_build(t, 2, n, x, NULL), FP_OK);
  check_against_brute(t, x, n, 2, x, n, 1, MAXK);
  for (size_t i = 0; i < n; i++) x[i] = (double)(n - i); /* reversed */
  assert_int_equal(fp_kdtree_build(t, 1, n, x, NULL), FP_OK);
  check_against_brute(t, x, n, 1, x, n, 1, MAXK);

  double one[1] = {2.0}, q[1] = {5.0}, d[3];
  size_t idx[3];
  assert_int_equal(fp_kdtree_build(t, 1, 1, one, NULL), FP_OK);
  fp_kdtree_knn(t, q, 3, FP_KDTREE_NONE, d, idx);
  assert_true(d[0] == 3.0 && idx[0] == 0);
  assert_true(isinf(d[1]) && isinf(d[2]) && idx[1] == FP_KDTREE_NONE);
  fp_kdtree_knn(t, one, 1, 0, d, idx); /* the only point excluded */
  assert_true(isinf(d[0]) && idx[0] == FP_KDTREE_NONE);

  fp_error err;
  assert_int_equal(fp_kdtree_build(t, 4, 1, one, &err), FP_ERR_ARG);
  assert_int_equal(fp_kdtree_build(t, 1, 0, one, &err), FP_ERR_ARG);
  fp_kdtree_destroy(&t);
  fp_kdtree_destroy(&t); /* NULL is a no-op */
}

/* Rebuilding one tree on sets of different sizes reuses and grows storage. */
static void test_rebuild(void **state)
{
  (void)state;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 4242);
  fp_kdtree *t = NULL;
  assert_int_equal(fp_kdtree_create(&t, NULL), FP_OK);
  const size_t sizes[] = {500, 20, 2000, 9, 700};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    int dim = 1 + (int)(s % 3);
    double *x = random_points(r, sizes[s], dim, 0.0);
    assert_int_equal(fp_kdtree_build(t, dim, sizes[s], x, NULL), FP_OK);
    check_against_brute(t, x, sizes[s], dim, x, sizes[s] < 300 ? sizes[s] : 300, 1, 8);
    free(x);
  }
  fp_kdtree_destroy(&t);
  gsl_rng_free(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_set),
      cmocka_unit_test(test_other_set),
      cmocka_unit_test(test_ties_and_duplicates),
      cmocka_unit_test(test_degenerate),
      cmocka_unit_test(test_rebuild),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
