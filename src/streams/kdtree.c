/* fpentropy (internal): k-d tree for k-nearest-neighbour distances.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "streams/kdtree_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

typedef struct kd_node {
  size_t lo, hi;      /* the node's points, [lo, hi) in tree order */
  size_t left, right; /* children; unused in a leaf */
  double split;       /* left: coordinate <= split, right: >= split */
  int axis;           /* split axis, or -1 for a leaf */
} kd_node;

struct fp_kdtree {
  int dim;
  size_t n;
  double *pts; /* n * dim, in tree order */
  size_t *ids; /* ids[i]: index of tree point i in the caller's array */
  kd_node *nodes;
  size_t nnodes;
  size_t pts_cap, ids_cap, nodes_cap; /* capacities in elements */
};

int fp_kdtree_create(fp_kdtree **out, fp_error *err)
{
  *out = calloc(1, sizeof **out);
  if (!*out) return fp_fail(err, FP_ERR_NOMEM, "out of memory for a k-d tree");
  return FP_OK;
}

void fp_kdtree_destroy(fp_kdtree **t)
{
  if (!t || !*t) return;
  free((*t)->pts);
  free((*t)->ids);
  free((*t)->nodes);
  free(*t);
  *t = NULL;
}

size_t fp_kdtree_size(const fp_kdtree *t) { return t ? t->n : 0; }

const double *fp_kdtree_point(const fp_kdtree *t, size_t i, size_t *id)
{
  if (id) *id = t->ids[i];
  return t->pts + i * (size_t)t->dim;
}

/* An array of at least `need` elements: `p` itself when its capacity *cap
 * suffices, else a fresh one (contents are not kept; `p` is freed).  NULL
 * (with p freed and *cap = 0) when out of memory. */
static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
  if (p && need <= *cap) return p;
  free(p);
  *cap = 0;
  if (need > SIZE_MAX / size) return NULL;
  void *q = malloc(need * size);
  if (q) *cap = need;
  return q;
}

static void swap_points(fp_kdtree *t, size_t i, size_t j)
{
  double *a = t->pts + i * (size_t)t->dim, *b = t->pts + j * (size_t)t->dim;
  for (int k = 0; k < t->dim; k++) {
    double tmp = a[k];
    a[k] = b[k];
    b[k] = tmp;
  }
  size_t tmp = t->ids[i];
  t->ids[i] = t->ids[j];
  t->ids[j] = tmp;
}

#define COORD(t, i, a) ((t)->pts[(size_t)(i) * (size_t)(t)->dim + (size_t)(a)])

/* Rearrange points [lo, hi) so that point kth has the value it would have if
 * sorted along `axis`, with no larger values before it and no smaller after
 * (Hoare's selection with Wirth's partition; median-of-three pivot).  Equal
 * keys stop both scans, so many duplicates still split evenly. */
static void select_kth(fp_kdtree *t, int axis, size_t lo, size_t hi, size_t kth)
{
  ptrdiff_t l = (ptrdiff_t)lo, r = (ptrdiff_t)hi - 1, k = (ptrdiff_t)kth;
  while (l < r) {
    ptrdiff_t m = l + (r - l) / 2;
    /* median of three into position m, then use its value */
    if (COORD(t, m, axis) < COORD(t, l, axis)) swap_points(t, (size_t)m, (size_t)l);
    if (COORD(t, r, axis) < COORD(t, l, axis)) swap_points(t, (size_t)r, (size_t)l);
    if (COORD(t, r, axis) < COORD(t, m, axis)) swap_points(t, (size_t)r, (size_t)m);
    double pivot = COORD(t, m, axis);
    ptrdiff_t i = l, j = r;
    do {
      while (COORD(t, i, axis) < pivot) i++;
      while (pivot < COORD(t, j, axis)) j--;
      if (i <= j) {
        swap_points(t, (size_t)i, (size_t)j);
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) l = i;
    if (k < i) r = j;
  }
}

static size_t build_node(fp_kdtree *t, size_t lo, size_t hi)
{
  size_t id = t->nnodes++;
  kd_node *nd = &t->nodes[id];
  nd->lo = lo;
  nd->hi = hi;
  nd->axis = -1;
  nd->left = nd->right = 0;
  nd->split = 0.0;
  if (hi - lo <= FP_KDTREE_LEAF) return id;
  int axis = -1;
  double widest = 0.0;
  for (int a = 0; a < t->dim; a++) {
    double mn = COORD(t, lo, a), mx = mn;
    for (size_t i = lo + 1; i < hi; i++) {
      double v = COORD(t, i, a);
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    if (mx - mn > widest) widest = mx - mn, axis = a;
  }
  if (axis < 0) return id; /* all points equal: one leaf */
  size_t mid = lo + (hi - lo) / 2;
  select_kth(t, axis, lo, hi, mid);
  double split = COORD(t, mid, axis);
  size_t left = build_node(t, lo, mid);
  size_t right = build_node(t, mid, hi);
  nd = &t->nodes[id];
  nd->axis = axis;
  nd->split = split;
  nd->left = left;
  nd->right = right;
  return id;
}

int fp_kdtree_build(fp_kdtree *t, int dim, size_t n, const double *x, fp_error *err)
{
  if (!t || !x || n == 0 || dim < 1 || dim > 3)
    return fp_fail(err, FP_ERR_ARG, "k-d tree: invalid points (dim %d, n %zu)", dim, n);
  t->n = 0;
  t->nnodes = 0;
  /* A split node has more than FP_KDTREE_LEAF points and halves them, so
   * every leaf below a split holds at least (FP_KDTREE_LEAF+1)/2 points. */
  size_t max_nodes = 2 * (n / ((FP_KDTREE_LEAF + 1) / 2) + 1);
  if (n > SIZE_MAX / 3) return fp_fail(err, FP_ERR_NOMEM, "k-d tree: %zu points is too many", n);
  t->pts = grow(t->pts, &t->pts_cap, n * (size_t)dim, sizeof *t->pts);
  t->ids = grow(t->ids, &t->ids_cap, n, sizeof *t->ids);
  t->nodes = grow(t->nodes, &t->nodes_cap, max_nodes, sizeof *t->nodes);
  if (!t->pts || !t->ids || !t->nodes)
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for a k-d tree of %zu points", n);
  t->dim = dim;
  memcpy(t->pts, x, n * (size_t)dim * sizeof *x);
  for (size_t i = 0; i < n; i++) t->ids[i] = i;
  build_node(t, 0, n);
  t->n = n;
  return FP_OK;
}

/* ---- queries ----------------------------------------------------------- */

typedef struct kd_query {
  const fp_kdtree *t;
  const double *q;
  size_t k, count, exclude;
  double *d2;   /* the best squared distances so far, ascending */
  size_t *idx;  /* their indices, or NULL */
  double worst; /* d2[k-1] once k are known, else +inf */
} kd_query;

static void insert(kd_query *s, double d2, size_t id)
{
  size_t j = s->count < s->k ? s->count++ : s->k - 1;
  while (j > 0 && s->d2[j - 1] > d2) {
    s->d2[j] = s->d2[j - 1];
    if (s->idx) s->idx[j] = s->idx[j - 1];
    j--;
  }
  s->d2[j] = d2;
  if (s->idx) s->idx[j] = id;
  if (s->count == s->k) s->worst = s->d2[s->k - 1];
}

static void scan_leaf(kd_query *s, const kd_node *nd)
{
  const fp_kdtree *t = s->t;
  const int dim = t->dim;
  const double *q = s->q;
  for (size_t i = nd->lo; i < nd->hi; i++) {
    const double *p = t->pts + i * (size_t)dim;
    double d2, d = p[0] - q[0];
    d2 = d * d;
    if (dim > 1) d = p[1] - q[1], d2 += d * d;
    if (dim > 2) d = p[2] - q[2], d2 += d * d;
    if (d2 < s->worst && t->ids[i] != s->exclude) insert(s, d2, t->ids[i]);
  }
}

/* rd: squared distance from q to the node's cell, off[a]: its a-component. */
static void search(kd_query *s, size_t node, double rd, double off[3])
{
  const kd_node *nd = &s->t->nodes[node];
  if (nd->axis < 0) {
    scan_leaf(s, nd);
    return;
  }
  const int a = nd->axis;
  const double diff = s->q[a] - nd->split;
  const size_t near = diff <= 0.0 ? nd->left : nd->right;
  const size_t far = diff <= 0.0 ? nd->right : nd->left;
  search(s, near, rd, off);
  const double old = off[a];
  const double far_rd = rd - old * old + diff * diff;
  if (far_rd < s->worst) {
    off[a] = diff;
    search(s, far, far_rd, off);
    off[a] = old;
  }
}

void fp_kdtree_knn(const fp_kdtree *t, const double *q, size_t k, size_t exclude, double *dist,
                   size_t *idx)
{
  if (k == 0) return;
  kd_query s = {t, q, k, 0, exclude, dist, idx, INFINITY};
  double off[3] = {0.0, 0.0, 0.0};
  if (t && t->n > 0) search(&s, 0, 0.0, off);
  for (size_t j = 0; j < k; j++) {
    if (j < s.count) {
      dist[j] = sqrt(dist[j]);
    } else {
      dist[j] = INFINITY;
      if (idx) idx[j] = FP_KDTREE_NONE;
    }
  }
}
