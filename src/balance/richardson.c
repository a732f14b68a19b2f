/* fpentropy: Richardson arithmetic for grid-refinement error estimates (see richardson.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/balance/richardson.h>

#include <math.h>

double fp_richardson_error(double q_fine, double q_coarse, double ratio, double order)
{
  if (!(ratio > 1.0) || !(order > 0.0)) return NAN;
  /* pow(2, 2) - 1 = 3 exactly, so the common case is the textbook formula
   * to the last bit. */
  return (q_fine - q_coarse) / (pow(ratio, order) - 1.0);
}

double fp_richardson_value(double q_fine, double q_coarse, double ratio, double order)
{
  return q_fine + fp_richardson_error(q_fine, q_coarse, ratio, order);
}

double fp_richardson_order(double q_fine, double q_mid, double q_coarse, double ratio)
{
  double d_fine = fabs(q_mid - q_fine), d_coarse = fabs(q_coarse - q_mid);
  if (!(ratio > 1.0) || !(d_fine > 0.0) || !(d_coarse > 0.0) || !isfinite(d_fine) ||
      !isfinite(d_coarse))
    return NAN;
  return log(d_coarse / d_fine) / log(ratio);
}

const char *fp_richardson_verdict_name(fp_richardson_verdict v)
{
  switch (v) {
  case FP_RICHARDSON_RELIABLE: return "ok";
  case FP_RICHARDSON_NOISE: return "noise";
  case FP_RICHARDSON_ORDER_OFF: return "order";
  case FP_RICHARDSON_OSCILLATING: return "oscillating";
  }
  return "?";
}

fp_richardson_verdict fp_richardson_assess(double q_fine, double q_mid, double q_coarse,
                                           double ratio, double order, double tolerance,
                                           double noise, double *observed)
{
  double d_fine = q_mid - q_fine, d_coarse = q_coarse - q_mid;
  double p = fp_richardson_order(q_fine, q_mid, q_coarse, ratio);
  if (observed) *observed = NAN;
  /* A fine difference at the noise level says nothing about the order: the
   * fine value is then as good as the noise allows. */
  if (!(fabs(d_fine) > noise)) return FP_RICHARDSON_NOISE;
  if (observed) *observed = p;
  if ((d_fine > 0.0) != (d_coarse > 0.0)) return FP_RICHARDSON_OSCILLATING;
  if (!(fabs(p - order) <= tolerance)) return FP_RICHARDSON_ORDER_OFF;
  return FP_RICHARDSON_RELIABLE;
}
