/* fpentropy (internal): a k-d tree for k-nearest-neighbour distances.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A static k-d tree over n points in 1-3 dimensions (Euclidean distance):
 *   - fp_kdtree_create() makes an empty tree; fp_kdtree_build() (re)builds it
 *     on a point set in O(n log n) (median splits by quickselect along the
 *     axis of widest spread, leaves of at most FP_KDTREE_LEAF points), reusing
 *     its storage, which only grows;
 *   - fp_kdtree_knn() returns the k nearest distances to any query point, in
 *     O(log n) on average for well-spread data (depth-first search, nearer
 *     child first, far children pruned with the incremental squared distance
 *     from the query to their cell, Arya & Mount 1993), optionally skipping
 *     one point by its index (same-set queries exclude the query point).
 * The tree copies the points (in tree order), so the caller's array may go
 * away after the build.  Queries do not modify the tree: several threads may
 * query one tree at once.  No allocation in queries. */
#ifndef FPENTROPY_KDTREE_IMPL_H
#define FPENTROPY_KDTREE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <fpentropy/core/status.h>

#define FP_KDTREE_LEAF 8
#define FP_KDTREE_NONE SIZE_MAX /* "exclude nothing" */

typedef struct fp_kdtree fp_kdtree;

/* An empty tree.  Returns FP_OK or FP_ERR_NOMEM. */
int fp_kdtree_create(fp_kdtree **out, fp_error *err);

/* Destroy *t and set it to NULL; NULL is a no-op. */
void fp_kdtree_destroy(fp_kdtree **t);

/* Build the tree on points x[i*dim + k], i < n (copied).  dim in 1..3, n >= 1.
 * Returns FP_OK, FP_ERR_ARG or FP_ERR_NOMEM (the tree is then empty). */
int fp_kdtree_build(fp_kdtree *t, int dim, size_t n, const double *x, fp_error *err);

/* Number of points in the tree. */
size_t fp_kdtree_size(const fp_kdtree *t);

/* Point i (0 <= i < size) in the tree's storage order, which keeps nearby
 * points together: querying every point of a set in this order is markedly
 * more cache-friendly than in the caller's order for large n.  *id (if not
 * NULL) receives the point's index in the array given to build. */
const double *fp_kdtree_point(const fp_kdtree *t, size_t i, size_t *id);

/* The k nearest points to q[0..dim-1] among the tree's points other than the
 * one with index `exclude` (its index in the array given to build; pass
 * FP_KDTREE_NONE to exclude nothing).  Writes the Euclidean distances in
 * ascending order to dist[0..k-1] and, if idx is not NULL, the points' indices
 * to idx[0..k-1] (ties in distance in unspecified order).  Requires
 * 1 <= k <= (number of candidate points); otherwise the missing entries are
 * +INFINITY with index FP_KDTREE_NONE. */
void fp_kdtree_knn(const fp_kdtree *t, const double *q, size_t k, size_t exclude, double *dist,
                   size_t *idx);

#endif /* FPENTROPY_KDTREE_IMPL_H */
