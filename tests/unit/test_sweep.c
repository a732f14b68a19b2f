/* fpentropy tests: sweep plans, names, ranges, zip, manifest round trip, gathered table (sweep.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fpentropy/io/sweep.h>

#include "test_support.h"

static fp_sweep_plan *plan_of(const char *const *specs, size_t n, bool zip)
{
  fp_sweep_plan *p = NULL;
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_sweep_plan_create(specs, n, zip, &p, &err);
  if (rc != FP_OK) fail_msg("plan: %s", err.message);
  return p;
}

static void axis_values(const char *spec, const char *const *expected, size_t n)
{
  fp_sweep_axis a;
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_sweep_axis_parse(spec, &a, &err);
  if (rc != FP_OK) fail_msg("%s: %s", spec, err.message);
  assert_int_equal(a.nvalues, n);
  for (size_t k = 0; k < n; k++) assert_string_equal(a.values[k], expected[k]);
  fp_sweep_axis_clear(&a);
}

static void test_lists_and_ranges(void **state)
{
  (void)state;
  axis_values("domain.cells=32,64,128", (const char *[]){"32", "64", "128"}, 3);
  /* a value with one ':' is a list item, not a range */
  axis_values("policy.policies=threshold:tau=0.1,cusum:h=1",
              (const char *[]){"threshold:tau=0.1", "cusum:h=1"}, 2);
  axis_values("constants.v=0:1:5", (const char *[]){"0", "0.25", "0.5", "0.75", "1"}, 5);
  axis_values("constants.v=1:0:3", (const char *[]){"1", "0.5", "0"}, 3);
  axis_values("constants.v=0.1:0.3:3", (const char *[]){"0.1", "0.2", "0.3"}, 3);
  axis_values("policy.cost=log:1e-3:1e-1:3", (const char *[]){"0.001", "0.01", "0.1"}, 3);
  axis_values("domain.cells=log:32:256:4", (const char *[]){"32", "64", "128", "256"}, 4);
  axis_values("policy.cost=log:0.01:100:5", (const char *[]){"0.01", "0.1", "1", "10", "100"}, 5);
  axis_values("constants.v=-1:-1:1", (const char *[]){"-1"}, 1);

  const char *bad[] = {"cells=1,2",     "domain.cells",       "=1,2",           "domain.cells=1,,2",
                       "domain.cells=", "domain.cells=log:0:1:3", "domain.cells=log:-1:1:3",
                       "dom ain.cells=1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fp_sweep_axis a;
    fp_error err;
    fp_error_clear(&err);
    if (fp_sweep_axis_parse(bad[i], &a, &err) != FP_ERR_ARG) fail_msg("accepted '%s'", bad[i]);
    assert_non_null(strstr(err.message, "--grid"));
  }
  /* a range whose num is not a positive integer reads as a one-value list */
  axis_values("a.b=0:1:2.5", (const char *[]){"0:1:2.5"}, 1);
}

static void test_product_order_and_names(void **state)
{
  (void)state;
  const char *specs[] = {"domain.cells=32,64", "constants.v=0.5,1,2"};
  fp_sweep_plan *p = plan_of(specs, 2, false);
  assert_int_equal(p->npoints, 6);
  /* the first axis varies slowest */
  const char *names[] = {"cells=32_v=0.5", "cells=32_v=1", "cells=32_v=2",
                         "cells=64_v=0.5", "cells=64_v=1", "cells=64_v=2"};
  for (size_t i = 0; i < 6; i++) {
    assert_string_equal(p->points[i].name, names[i]);
    assert_int_equal(p->points[i].status, FP_SWEEP_PENDING);
    assert_int_equal(p->points[i].exit_code, -1);
  }
  assert_string_equal(p->points[4].overrides[0], "domain.cells=64");
  assert_string_equal(p->points[4].overrides[1], "constants.v=1");
  assert_string_equal(p->points[4].values[1], "1");
  assert_int_equal(fp_sweep_plan_find(p, "cells=64_v=2"), 5);
  assert_int_equal(fp_sweep_plan_find(p, "nope"), 6);
  fp_sweep_plan_destroy(&p);
  assert_null(p);

  /* extending a grid keeps the names of the points already there */
  const char *more[] = {"domain.cells=16,32,64", "constants.v=0.5,1,2"};
  p = plan_of(more, 2, false);
  assert_int_equal(p->npoints, 9);
  assert_string_equal(p->points[3].name, "cells=32_v=0.5");
  fp_sweep_plan_destroy(&p);
}

static void test_zip(void **state)
{
  (void)state;
  const char *specs[] = {"time.rtol=1e-8,1e-9", "time.atol=1e-13,1e-14"};
  fp_sweep_plan *p = plan_of(specs, 2, true);
  assert_int_equal(p->npoints, 2);
  assert_string_equal(p->points[0].name, "rtol=1e-8_atol=1e-13");
  assert_string_equal(p->points[1].name, "rtol=1e-9_atol=1e-14");
  fp_sweep_plan_destroy(&p);

  const char *uneven[] = {"time.rtol=1e-8,1e-9", "time.atol=1e-13"};
  fp_error err;
  assert_int_equal(fp_sweep_plan_create(uneven, 2, true, &p, &err), FP_ERR_ARG);
  assert_null(p);
  assert_non_null(strstr(err.message, "--zip"));
}

static bool is_safe(const char *s)
{
  for (; *s; s++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-=", *s)) return false;
  return true;
}

static void test_names_safe_and_unique(void **state)
{
  (void)state;
  /* two axes with the same last component keep their sections; unsafe
   * characters become '_' and the two values that collide get suffixes */
  const char *specs[] = {"constants.a=x/y,x*y,0.5", "sample.a=1"};
  fp_sweep_plan *p = plan_of(specs, 2, false);
  assert_int_equal(p->npoints, 3);
  assert_string_equal(p->points[2].name, "constants.a=0.5_sample.a=1");
  assert_true(strncmp(p->points[0].name, "constants.a=x_y_sample.a=1_", 27) == 0);
  assert_true(strncmp(p->points[1].name, "constants.a=x_y_sample.a=1_", 27) == 0);
  assert_int_equal(strlen(p->points[0].name), 27 + 8);
  assert_string_not_equal(p->points[0].name, p->points[1].name);
  for (size_t i = 0; i < p->npoints; i++) assert_true(is_safe(p->points[i].name));
  fp_sweep_plan_destroy(&p);

  /* a very long value is cut and made unique by its hash */
  char spec[600] = "constants.e=";
  for (int k = 0; k < 2; k++) {
    size_t len = strlen(spec);
    memset(spec + len, 'a', 250);
    spec[len + 250] = '\0';
    strcat(spec, k ? "2" : "1,");
  }
  const char *longs[] = {spec};
  p = plan_of(longs, 1, false);
  assert_int_equal(p->npoints, 2);
  for (size_t i = 0; i < 2; i++) assert_true(strlen(p->points[i].name) <= FP_SWEEP_NAME_MAX / 2);
  assert_string_not_equal(p->points[0].name, p->points[1].name);
  fp_sweep_plan_destroy(&p);

  /* identical parameters and a key swept twice are errors */
  fp_error err;
  const char *dup[] = {"domain.cells=32,32"};
  assert_int_equal(fp_sweep_plan_create(dup, 1, false, &p, &err), FP_ERR_ARG);
  const char *twice[] = {"domain.cells=32", "domain.cells=64"};
  assert_int_equal(fp_sweep_plan_create(twice, 2, false, &p, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "twice"));
}

static void test_manifest_round_trip(void **state)
{
  (void)state;
  const char *specs[] = {"domain.cells=8:32:4", "constants.v=0.5"};
  fp_sweep_plan *p = plan_of(specs, 2, false);
  fp_error err;
  fp_error_clear(&err);
  assert_int_equal(fp_sweep_point_finish(&p->points[0], FP_SWEEP_DONE, 0, 1.25, NULL, &err), FP_OK);
  assert_int_equal(fp_sweep_point_finish(&p->points[2], FP_SWEEP_FAILED, 1, 0.5,
                                         "ou.ini: \"quoted\" \\ back\nline\ttab \x01", &err),
                   FP_OK);
  assert_int_equal(fp_sweep_point_finish(&p->points[3], FP_SWEEP_INTERRUPTED, 130, 2, "", &err), FP_OK);
  char dir[] = "/tmp/fp_test_sweep_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/sweep.json", dir);
  fp_sweep_meta meta = {.case_path = "cases/a \"b\".ini", .command = "run",
                        .case_hash = "0123456789abcdef", .version = "0.1.0"};
  assert_int_equal(fp_sweep_manifest_write(path, p, &meta, &err), FP_OK);

  fp_sweep_manifest *m = NULL;
  if (fp_sweep_manifest_read(path, &m, &err) != FP_OK) fail_msg("read: %s", err.message);
  assert_string_equal(m->meta.case_path, meta.case_path);
  assert_string_equal(m->meta.command, "run");
  assert_string_equal(m->meta.case_hash, meta.case_hash);
  assert_string_equal(m->meta.version, "0.1.0");
  assert_int_equal(m->nrecords, 4);
  for (size_t i = 0; i < 4; i++) {
    assert_string_equal(m->records[i].name, p->points[i].name);
    assert_int_equal(m->records[i].status, p->points[i].status);
    assert_int_equal(m->records[i].exit_code, p->points[i].exit_code);
    assert_close(m->records[i].seconds, p->points[i].seconds, 0, 1e-6);
    assert_string_equal(m->records[i].error, p->points[i].error);
  }

  /* applied to a fresh plan of a larger grid: statuses move by name */
  const char *ext[] = {"domain.cells=8,16,24,32,40", "constants.v=0.5"};
  fp_sweep_plan *q = plan_of(ext, 2, false);
  assert_int_equal(fp_sweep_manifest_apply(m, q), 4);
  assert_int_equal(q->points[0].status, FP_SWEEP_DONE);
  assert_int_equal(q->points[2].status, FP_SWEEP_FAILED);
  assert_string_equal(q->points[2].error, p->points[2].error);
  assert_int_equal(q->points[3].status, FP_SWEEP_INTERRUPTED);
  assert_int_equal(q->points[4].status, FP_SWEEP_PENDING);
  fp_sweep_manifest_destroy(&m);
  fp_sweep_plan_destroy(&q);

  /* broken manifests are reported, not half read */
  FILE *f = fopen(path, "w");
  fputs("{\"format\": \"fpentropy-sweep 1\", \"points\": [{\"name\": \"x\", \"status\": \"done\"},\n", f);
  fclose(f);
  assert_int_equal(fp_sweep_manifest_read(path, &m, &err), FP_ERR_ARG);
  assert_null(m);
  assert_non_null(strstr(err.message, ":2:"));
  f = fopen(path, "w");
  fputs("{\"points\": []}", f);
  fclose(f);
  assert_int_equal(fp_sweep_manifest_read(path, &m, &err), FP_ERR_ARG);
  remove(path);
  assert_int_equal(fp_sweep_manifest_read(path, &m, &err), FP_ERR_IO);
  rmdir(dir);
  fp_sweep_plan_destroy(&p);
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *read_text(const char *path)
{
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void test_gather(void **state)
{
  (void)state;
  const char *specs[] = {"domain.cells=8,16,32", "policy.policies=a:x=1,b,c"};
  fp_sweep_plan *p = plan_of(specs, 2, true);
  char dir[] = "/tmp/fp_test_sweep_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  const char *tables[] = {"# a comment\nt,kl\n0,1.5\n1,0.25\n",
                          "t,kl,extra\r\n\n0,2,\"q,1\"\n", /* new column, quoted field, CRLF */
                          "t,kl\n0,9\n"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, p->points[i].name);
    assert_int_equal(mkdir(path, 0777), 0);
    strcat(path, "/balance.csv");
    write_file(path, tables[i]);
  }
  fp_error err;
  fp_error_clear(&err);
  assert_int_equal(fp_sweep_point_finish(&p->points[0], FP_SWEEP_DONE, 0, 0, NULL, &err), FP_OK);
  assert_int_equal(fp_sweep_point_finish(&p->points[1], FP_SWEEP_DONE, 0, 0, NULL, &err), FP_OK);
  /* point 2 failed: its table is not gathered */
  assert_int_equal(fp_sweep_point_finish(&p->points[2], FP_SWEEP_FAILED, 1, 0, "x", &err), FP_OK);
  char out[256];
  snprintf(out, sizeof out, "%s/sweep.csv", dir);
  size_t rows = 0;
  if (fp_sweep_gather(p, dir, "balance.csv", "sweep of x\nline 2", out, &rows, &err) != FP_OK)
    fail_msg("gather: %s", err.message);
  assert_int_equal(rows, 3);
  assert_string_equal(read_text(out),
                      "point,domain.cells,policy.policies,t,kl,extra\n"
                      "cells=8_policies=a_x_1,8,a:x=1,0,1.5,\n"
                      "cells=8_policies=a_x_1,8,a:x=1,1,0.25,\n"
                      "cells=16_policies=b,16,b,0,2,\"q,1\"\n");
  /* the preamble is in the sidecar sweep.json */
  snprintf(path, sizeof path, "%s/sweep.json", dir);
  assert_string_equal(read_text(path), "{\n  \"file\": \"sweep.csv\",\n  \"comment\": [\n"
                                       "    \"sweep of x\",\n    \"line 2\"\n  ]\n}\n");
  remove(path);
  /* a done point whose table is missing is an error naming it */
  assert_int_equal(fp_sweep_point_finish(&p->points[2], FP_SWEEP_DONE, 0, 0, NULL, &err), FP_OK);
  snprintf(path, sizeof path, "%s/%s/balance.csv", dir, p->points[2].name);
  remove(path);
  assert_int_equal(fp_sweep_gather(p, dir, "balance.csv", NULL, out, &rows, &err), FP_ERR_IO);
  assert_non_null(strstr(err.message, p->points[2].name));
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s/balance.csv", dir, p->points[i].name);
    remove(path);
    snprintf(path, sizeof path, "%s/%s", dir, p->points[i].name);
    rmdir(path);
  }
  remove(out);
  rmdir(dir);
  fp_sweep_plan_destroy(&p);
}

static void test_hash(void **state)
{
  (void)state;
  /* FNV-1a reference values */
  assert_true(fp_sweep_hash(FP_SWEEP_HASH_INIT, "", 0) == UINT64_C(0xcbf29ce484222325));
  assert_true(fp_sweep_hash(FP_SWEEP_HASH_INIT, "a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
  assert_true(fp_sweep_hash(FP_SWEEP_HASH_INIT, "foobar", 6) == UINT64_C(0x85944171f73967e8));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lists_and_ranges),  cmocka_unit_test(test_product_order_and_names),
      cmocka_unit_test(test_zip),               cmocka_unit_test(test_names_safe_and_unique),
      cmocka_unit_test(test_manifest_round_trip), cmocka_unit_test(test_gather),
      cmocka_unit_test(test_hash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
