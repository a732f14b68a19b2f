/* fpentropy fuzz target: case files, --set overrides and expressions (libFuzzer entry point).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The first byte of an input chooses what the rest is:
 *   0  an expression, compiled in 3D with two constants, evaluated, differentiated;
 *   1  a case file, loaded and (when small) checked for D positive definite;
 *   2  --set overrides, one per line, applied to a fixed valid case.
 * Everything must end in FP_OK or a clean error: a crash, a leak, undefined
 * behaviour or a hang is a finding.  Built with -fsanitize=fuzzer under
 * FP_FUZZ (clang); replay.c runs the same function on the committed corpus
 * and crash inputs in every build. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fpentropy/fpentropy.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base_case[] =
    "[domain]\ndimension = 2\nlower = -3\nupper = 3\ncells = 8\n"
    "[dynamics]\ndrift_x = -k*x\ndrift_y = -y + t\ndiffusion = 1\n"
    "[initial]\ndensity = exp(-(x^2 + y^2))\n[time]\nend = 1\n[constants]\nk = 2\n";

static void write_file(const char *path, const char *text, size_t n)
{
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(text, 1, n, f);
  fclose(f);
}

static void fuzz_expression(const char *text)
{
  fp_constants k = {0};
  fp_constants_set(&k, "a", 1.5, NULL);
  fp_constants_set(&k, "b_2", -0.25, NULL);
  fp_expr *e = NULL;
  fp_error err;
  if (fp_expr_create(text, 3, &k, &e, &err) == FP_OK) {
    const double pts[3][3] = {{0.0, 0.0, 0.0}, {0.5, -1.25, 2.0}, {-3.0, 1e-300, 7.0}};
    volatile double sink = 0.0;
    for (int i = 0; i < 3; i++) sink += fp_expr_eval(e, pts[i], 0.1 * i);
    for (int axis = FP_EXPR_TIME; axis < 3; axis++) {
      fp_expr *d = NULL;
      if (fp_expr_derivative(e, axis, &d, &err) == FP_OK) {
        for (int i = 0; i < 3; i++) sink += fp_expr_eval(d, pts[i], 0.3);
        (void)fp_expr_is_zero(d);
        (void)fp_expr_depends_on(d, axis);
      }
      fp_expr_destroy(&d);
    }
    (void)sink;
  }
  fp_expr_destroy(&e);
  fp_constants_clear(&k);
}

static void fuzz_case(const char *path, const char *const *overrides, size_t n)
{
  fp_case *c = NULL;
  fp_error err;
  if (fp_case_load(path, overrides, n, &c, &err) == FP_OK) {
    FILE *null = fopen("/dev/null", "w");
    if (null) {
      fp_case_print(c, null);
      fclose(null);
    }
    (void)fp_resources_check(c, 1e9, &err);
    if (c->grid.ncells <= 20000 && c->n_output_times <= 1000) (void)fp_case_check_diffusion(c, &err);
  }
  fp_case_destroy(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0) return 0;
  int mode = data[0] % 3;
  data++;
  size--;
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  char path[64];
  snprintf(path, sizeof path, "/tmp/fpentropy_fuzz_%ld.ini", (long)getpid());
  if (mode == 0) {
    fuzz_expression(text);
  } else if (mode == 1) {
    write_file(path, text, size);
    fuzz_case(path, NULL, 0);
  } else {
    const char *overrides[16];
    size_t n = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && n < 16;
         line = strtok_r(NULL, "\n", &save))
      overrides[n++] = line;
    write_file(path, base_case, sizeof base_case - 1);
    fuzz_case(path, overrides, n);
  }
  remove(path);
  free(text);
  return 0;
}
