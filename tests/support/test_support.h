/* fpentropy tests: shared helpers for the cmocka unit tests.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FP_TEST_SUPPORT_H
#define FP_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* cmocka 1.1.5 has no double assertion (assert_float_equal casts to float).
 * Passes when |actual - expected| <= atol + rtol*|expected|; on failure prints
 * both values with 17 digits, the tolerance and the label. */
#define assert_close(actual, expected, rtol, atol) \
  fp_test_assert_close((actual), (expected), (rtol), (atol), #actual, __FILE__, __LINE__)

void fp_test_assert_close(double actual, double expected, double rtol, double atol,
                          const char *label, const char *file, int line);

/* Write `text` to a fresh temporary file and return its path in `path`
 * (at least 64 bytes).  The caller removes it. */
void fp_test_write_temp(const char *text, char *path, size_t size);

struct fp_case;

/* Load a case from INI text with optional overrides (NULL-terminated list);
 * fails the test with the loader's message if it does not load. */
struct fp_case *fp_test_case(const char *ini_text, const char *const *overrides);

struct fp_operator;

/* The operator of case `c` (fails the test with the message if it cannot be
 * built).  The caller destroys it with fp_operator_destroy(). */
struct fp_operator *fp_test_operator(const struct fp_case *c);

/* Integrate case `c` from its initial density to time t with the case's
 * options (linear solver replaced when `solver` is not FP_LINSOL_AUTO) and
 * copy the density into p (ncells).  Fails the test on any error. */
void fp_test_integrate(const struct fp_case *c, double t, int solver, double *p);

#endif /* FP_TEST_SUPPORT_H */
