/* fpentropy: Richardson arithmetic for grid-refinement error estimates.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains the arithmetic of a two- and three-grid error
 * estimate of a quantity Q computed on grids whose spacings are h, r h and
 * r^2 h (r > 1, r = 2 for halving the cells), when the discretisation error
 * behaves like C h^p:
 *   - fp_richardson_error(): the estimated error of the fine value, signed
 *     as a correction: Q_exact ~ Q_h + (Q_h - Q_rh) / (r^p - 1);
 *   - fp_richardson_value(): the extrapolated value Q_h + that correction;
 *   - fp_richardson_order(): the observed order from three grids;
 *   - fp_richardson_assess(): the observed order and a verdict saying
 *     whether the assumed order is borne out (or the differences are noise).
 * Pure functions of numbers, usable by any code that has a refinement
 * sequence (the run's error_estimate, validation, estimators).  Where the
 * estimate can be trusted is documented in docs/error-estimate.md.
 */
#ifndef FPENTROPY_RICHARDSON_H
#define FPENTROPY_RICHARDSON_H

#include <fpentropy/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Estimated discretisation error of q_fine, as the signed correction
 * (q_fine - q_coarse) / (ratio^order - 1), ratio = h_coarse / h_fine > 1.
 * For ratio 2 and order 2: (q_fine - q_coarse) / 3.  NaN for ratio <= 1 or
 * order <= 0. */
FP_API double fp_richardson_error(double q_fine, double q_coarse, double ratio, double order);

/* Richardson-extrapolated value q_fine + fp_richardson_error(): for ratio 2
 * and order 2, (4 q_fine - q_coarse) / 3. */
FP_API double fp_richardson_value(double q_fine, double q_coarse, double ratio, double order);

/* Observed order from three grids with spacings h, ratio h, ratio^2 h:
 * log(|q_coarse - q_mid| / |q_mid - q_fine|) / log(ratio).  NaN when a
 * difference is 0 or the arguments are not finite. */
FP_API double fp_richardson_order(double q_fine, double q_mid, double q_coarse, double ratio);

typedef enum fp_richardson_verdict {
  FP_RICHARDSON_RELIABLE = 0, /* observed order within the tolerance of the assumed one */
  FP_RICHARDSON_NOISE,        /* the grid differences are below the noise level: the
                                 estimate is only an upper bound, no order */
  FP_RICHARDSON_ORDER_OFF,    /* observed order far from the assumed one */
  FP_RICHARDSON_OSCILLATING   /* the differences change sign: not in the asymptotic range */
} fp_richardson_verdict;

/* Short name of a verdict ("ok", "noise", "order", "oscillating"). */
FP_API const char *fp_richardson_verdict_name(fp_richardson_verdict v);

/* Assess a three-grid sequence against the assumed `order`: *observed (may
 * be NULL) receives fp_richardson_order() (NaN for noise).  A fine
 * difference |q_mid - q_fine| at or below `noise` (an absolute level:
 * round-off, time-integration error) gives NOISE.  Otherwise differences of
 * opposite sign give OSCILLATING, an observed order outside
 * [order - tolerance, order + tolerance] ORDER_OFF, else RELIABLE. */
FP_API fp_richardson_verdict fp_richardson_assess(double q_fine, double q_mid, double q_coarse,
                                           double ratio, double order, double tolerance,
                                           double noise, double *observed);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_RICHARDSON_H */
