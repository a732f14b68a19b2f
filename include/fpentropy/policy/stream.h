/* fpentropy: a labelled stream run by retraining policies (the loss channel).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_stream_policy_parse(): a stream policy "NAME=SPEC", "SPEC", or one of
 *     the aliases daily (calendar:k=1) and weekly (calendar:k=7);
 *   - fp_stream_training_kl(): the exact KL(p(t_j) || training density of the
 *     window ending at i) on the grid;
 *   - fp_stream_run(): R seeds of a labelled stream drawn from a density
 *     series, every policy fed both signals each period (a label-free KL
 *     estimate and the deployed model's log loss on the period's labelled
 *     batch), and, when the exact matrices are given, every policy once more
 *     on the exact signals (pe and the exact KL);
 *   - fp_stream_summarise(): Table 5.1's numbers for one policy.
 *
 * Timing (docs/streams.md).  Periods d = 0..T-1 at the case's output times.
 * The first model is fitted on the window ending at period 0.  At each period
 * d >= 1 the deployed model (trained on the window ending at r < d) predicts
 * the batch of period d; its mean log loss on that batch is the period's
 * loss.  The policy then sees
 *     obs = {period d, t_d, divergence = KL estimate of (batch d || the
 *            training features of the deployed model), loss}
 * and, when it retrains, a model fitted on the window ending at d serves from
 * period d + 1.  So a policy acts at the end of the day, after the labels of
 * the day are in; the exact-signal run uses the same timing with
 * divergence = KL(p(t_d) || training density of r) and loss = pe[r][d].  Daily
 * retraining (calendar:k=1) retrains at d = 1..T-1 (T - 1 times).
 *
 * All policies of a seed see the same batches (common random numbers).
 * Seed s draws from GSL's MT19937 seeded with a SplitMix64 hash of (seed, s).
 */
#ifndef FPENTROPY_STREAM_H
#define FPENTROPY_STREAM_H

#include <fpentropy/export.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fpentropy/problem/case.h>
#include <fpentropy/problem/grid.h>
#include <fpentropy/streams/labels.h>
#include <fpentropy/time/run.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Split a stream policy into its row name and fp_policy spec (both written
 * NUL-terminated, truncated to their sizes): "daily" -> ("daily",
 * "calendar:k=1"), "weekly" -> ("weekly", "calendar:k=7"), "NAME=SPEC" (an
 * '=' before the first ':') -> (NAME, SPEC with the aliases resolved), any
 * other text -> (text, text).  Returns FP_OK or FP_ERR_ARG (empty name or spec). */
FP_API int fp_stream_policy_parse(const char *text, char *name, size_t name_size, char *spec,
                           size_t spec_size, fp_error *err);

/* kl[i*T + j] = sum_c p_j,c |V| log(p_j,c / m_i,c), m_i the mean of the
 * densities of the window {max(0, i-window+1), .., i} (the population the
 * model of period i was trained on); logarithms floored at FP_BALANCE_FLOOR
 * as in fp_mismatch_matrix().  Returns FP_OK, FP_ERR_NUMERIC, FP_ERR_NOMEM. */
FP_API int fp_stream_training_kl(const fp_grid *g, const double *p, size_t T, size_t window, double *kl,
                          fp_error *err);

/* The feature densities of a labelled case at its output times: the PDE
 * solution (features = pde or particles; `run` as for
 * fp_density_series_collect(), its callbacks NULL) or the density expression normalised on the grid
 * (features = density; `run` unused).  *t (T) and *p (T*ncells) are the
 * caller's to free.  Returns FP_OK or the run's error. */
FP_API int fp_stream_densities(const fp_case *c, const fp_labels *l, const fp_run_options *run,
                        double **t, double **p, size_t *T, fp_error *err);

/* Where the features come from: T grid densities p (T*ncells) at times t. */
typedef struct fp_stream_data {
  const fp_grid *grid;
  size_t T;          /* >= 2 */
  const double *t;   /* T */
  const double *p;   /* T * ncells */
  const double *pe;  /* T*T exact performance matrix, or NULL */
  const double *kl;  /* T*T fp_stream_training_kl(), or NULL (both or neither) */
  const double *panel; /* features = particles: seeds * T * batch * dim positions,
                          [((s * T + d) * batch + i) * dim + k] (fp_stream_particles());
                          NULL: batches drawn from p */
} fp_stream_data;

/* features = particles: run the case's SDE with `seeds` replicas of
 * l->batch particles (seed `seed`, step: the case's [sample] dt) and keep
 * every replica's positions at every output time in *panel (owned by the
 * caller, layout as fp_stream_data.panel).  Seed s of a stream is replica s:
 * a panel, the same particles moving from day to day, labelled afresh each
 * day.  Errors: FP_ERR_UNSUPPORTED when particles are killed (absorbing walls:
 * a batch would shrink), the particles' errors, FP_ERR_NOMEM. */
FP_API int fp_stream_particles(const fp_case *c, const fp_labels *l, size_t seeds, uint64_t seed,
                        double **panel, fp_error *err);

typedef struct fp_stream_options {
  size_t seeds;                       /* R >= 1 */
  uint64_t seed;
  volatile sig_atomic_t *interrupted; /* may be NULL */
} fp_stream_options;

/* Per period, policy and seed; period 0 carries NAN losses and signals and no
 * retrain.  Index [(s * npolicies + q) * T + d]. */
typedef struct fp_stream_result {
  size_t T, npolicies, seeds;
  double *loss;            /* batch log loss of the deployed model */
  double *signal;          /* the KL estimate the policy saw */
  unsigned char *retrain;  /* 1 when the policy retrained at the end of d */
  bool has_exact;
  double *exact_loss;      /* [q * T + d]: pe[r][d] of the exact-driven run */
  double *exact_signal;    /* its exact KL */
  unsigned char *exact_retrain;
} fp_stream_result;

/* Run the stream (see above).  specs are fp_policy specs (after
 * fp_stream_policy_parse()).  Returns FP_OK; FP_ERR_ARG (bad spec or data,
 * before anything runs); the estimator's or a fit's error (naming seed and
 * period); FP_ERR_INTERRUPTED; FP_ERR_NOMEM.  Ownership: fp_stream_result_clear(). */
FP_API int fp_stream_run(const fp_labels *l, const fp_stream_data *data, const char *const *specs,
                  size_t nspecs, const fp_stream_options *opt, fp_stream_result *res,
                  fp_error *err);
FP_API void fp_stream_result_clear(fp_stream_result *r);

/* The sampled performance matrix of stream `stream` (the batches fp_stream_run()
 * draws for that seed): pe[i*T + j] = mean log loss of the model fitted on the
 * batches of the window ending at i, on the batch of period j when j > i (what
 * the stream charges), and on an independent held-out batch of period j when
 * j <= i (the day's batch may be training data there: in-sample losses are
 * optimistic by about p/(2N)).  It estimates D->pe with the noise of one batch
 * (N points) and of one sample fit.
 * Returns FP_OK, a fit's error or FP_ERR_NOMEM. */
FP_API int fp_stream_sampled_pe(const fp_labels *l, const fp_stream_data *data, uint64_t seed,
                         size_t stream, double *pe, fp_error *err);

/* Table 5.1 for policy q over periods 1..T-1: per seed the average, worst
 * (largest) and final (period T-1) loss and the retrain count; then their
 * means over seeds, with standard errors (sd / sqrt(R); 0 when R = 1) of the
 * average and the count.  exact = true summarises the exact-driven run. */
typedef struct fp_stream_summary {
  double avg, se_avg, worst, final, retrains, se_retrains;
} fp_stream_summary;

/* Fill *out with the summary above for policy q of result r. */
FP_API void fp_stream_summarise(const fp_stream_result *r, size_t q, bool exact, fp_stream_summary *out);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_STREAM_H */
