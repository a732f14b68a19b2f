/* fpentropy tests: output files (output.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <ftw.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fpentropy/problem/grid.h>
#include <fpentropy/io/output.h>

#include "test_support.h"

/* ---- helpers ------------------------------------------------------------ */

/* A fresh directory per test, removed (with its plain files) afterwards. */
typedef struct fixture {
  char dir[64];
} fixture;

static int setup(void **state)
{
  fixture *fx = calloc(1, sizeof *fx);
  if (!fx) return -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/fp_test_output_XXXXXX");
  if (!mkdtemp(fx->dir)) {
    free(fx);
    return -1;
  }
  *state = fx;
  return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int teardown(void **state)
{
  fixture *fx = *state;
  /* Depth first, not following links: removes what the test created. */
  int rc = nftw(fx->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(fx);
  return rc == 0 ? 0 : -1;
}

static void path_in(const fixture *fx, const char *name, char *out, size_t size)
{
  snprintf(out, size, "%s/%s", fx->dir, name);
}

static bool exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0;
}

static bool partial_exists(const char *path)
{
  char partial[512];
  snprintf(partial, sizeof partial, "%s%s", path, FP_OUTPUT_PARTIAL_SUFFIX);
  return exists(partial);
}

/* Whole file as a NUL-terminated string (caller frees); NULL if unreadable. */
static char *slurp(const char *path)
{
  FILE *fp = fopen(path, "r");
  if (!fp) return NULL;
  char *buf = NULL;
  size_t len = 0;
  if (fseek(fp, 0, SEEK_END) == 0) {
    long size = ftell(fp);
    if (size >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
      buf = malloc((size_t)size + 1);
      if (buf) len = fread(buf, 1, (size_t)size, fp);
    }
  }
  if (buf) buf[len] = '\0';
  fclose(fp);
  return buf;
}

static void write_text_file(const char *path, const char *text)
{
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  assert_int_equal(fclose(fp), 0);
}

static void assert_file_equals(const char *path, const char *expect)
{
  char *text = slurp(path);
  assert_non_null(text);
  assert_string_equal(text, expect);
  free(text);
}

/* Next line of *cursor (without the newline) into line; false at the end. */
static bool next_line(const char **cursor, char *line, size_t size)
{
  const char *s = *cursor;
  if (!*s) return false;
  const char *end = strchr(s, '\n');
  size_t len = end ? (size_t)(end - s) : strlen(s);
  assert_true(len < size);
  memcpy(line, s, len);
  line[len] = '\0';
  *cursor = end ? end + 1 : s + len;
  return true;
}

/* The 2D 3x2 grid of the round-trip tests: centres x = 0.5, 1.5, 2.5 and
 * y = -0.5, 0.5. */
static fp_grid grid_3x2(void)
{
  fp_grid g = {.dim = 2, .n = {3, 2, 1}, .lower = {0.0, -1.0}, .upper = {3.0, 1.0}};
  fp_error err;
  assert_int_equal(fp_grid_init(&g, &err), FP_OK);
  return g;
}

/* Values that need all 17 digits to round-trip. */
static const double field_a[6] = {1.0 / 3.0, 0.1, -2.5e-300, 6.02214076e23, 0.0, -1.0 / 7.0};
static const double field_b[6] = {1.0, 2.0, 3.0, 4.0, 5.0, M_PI};
static const double flux_x[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
static const double flux_y[6] = {-1.0, -2.0, -3.0, -4.0, -5.0, 1.0 / 3.0};

/* ---- atomic files -------------------------------------------------------- */

static void test_atomic_file(void **state)
{
  const fixture *fx = *state;
  char path[256];
  fp_error err;
  fp_output_file *f = NULL;
  path_in(fx, "a.txt", path, sizeof path);

  /* Abort with no earlier file: nothing at all remains. */
  assert_int_equal(fp_output_file_open(path, &f, &err), FP_OK);
  assert_string_equal(fp_output_file_path(f), path);
  fputs("half a fi", fp_output_file_stream(f));
  assert_true(partial_exists(path));
  assert_false(exists(path));
  fp_output_file_abort(&f);
  assert_null(f);
  assert_false(exists(path));
  assert_false(partial_exists(path));

  /* Commit creates the file and removes the partial. */
  assert_int_equal(fp_output_file_open(path, &f, &err), FP_OK);
  fputs("old\n", fp_output_file_stream(f));
  assert_int_equal(fp_output_file_commit(&f, &err), FP_OK);
  assert_null(f);
  assert_file_equals(path, "old\n");
  assert_false(partial_exists(path));

  /* A complete file is not touched until the commit of its replacement. */
  assert_int_equal(fp_output_file_open(path, &f, &err), FP_OK);
  fputs("new\n", fp_output_file_stream(f));
  fflush(fp_output_file_stream(f));
  assert_file_equals(path, "old\n");
  assert_true(partial_exists(path));
  assert_int_equal(fp_output_file_commit(&f, &err), FP_OK);
  assert_file_equals(path, "new\n");

  /* ... and survives an abort of a replacement. */
  assert_int_equal(fp_output_file_open(path, &f, &err), FP_OK);
  fputs("never\n", fp_output_file_stream(f));
  fp_output_file_abort(&f);
  assert_file_equals(path, "new\n");
  assert_false(partial_exists(path));

  /* Errors. */
  char bad[256];
  path_in(fx, "no/such/dir/x.txt", bad, sizeof bad);
  assert_int_equal(fp_output_file_open(bad, &f, &err), FP_ERR_IO);
  assert_null(f);
  assert_non_null(strstr(err.message, "x.txt.partial"));
  assert_int_equal(fp_output_file_open("", &f, &err), FP_ERR_ARG);
  assert_int_equal(fp_output_file_commit(&f, &err), FP_ERR_ARG);
  fp_output_file_abort(&f);
  fp_output_file_abort(NULL);
}

/* ---- directories --------------------------------------------------------- */

static void test_mkdir_and_join(void **state)
{
  const fixture *fx = *state;
  char path[256], file[256];
  fp_error err;
  struct stat st;

  path_in(fx, "a/b//c/", path, sizeof path);
  assert_int_equal(fp_output_mkdir(path, &err), FP_OK);
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(fp_output_mkdir(path, &err), FP_OK); /* already there */
  assert_int_equal(fp_output_mkdir(fx->dir, &err), FP_OK);

  /* Under a regular file, and the file itself. */
  path_in(fx, "plain", file, sizeof file);
  write_text_file(file, "x\n");
  path_in(fx, "plain/sub", path, sizeof path);
  assert_int_equal(fp_output_mkdir(path, &err), FP_ERR_IO);
  assert_non_null(strstr(err.message, "plain/sub"));
  assert_non_null(strstr(err.message, "directory"));
  assert_int_equal(fp_output_mkdir(file, &err), FP_ERR_IO);
  assert_non_null(strstr(err.message, "not a directory"));
  assert_int_equal(fp_output_mkdir("", &err), FP_ERR_ARG);

  char *joined = NULL;
  assert_int_equal(fp_output_join("out", "balance.csv", &joined, &err), FP_OK);
  assert_string_equal(joined, "out/balance.csv");
  free(joined);
  assert_int_equal(fp_output_join("out/", "balance.csv", &joined, &err), FP_OK);
  assert_string_equal(joined, "out/balance.csv");
  free(joined);
  assert_int_equal(fp_output_join(NULL, "balance.csv", &joined, &err), FP_OK);
  assert_string_equal(joined, "balance.csv");
  free(joined);
  assert_int_equal(fp_output_join("out", "", &joined, &err), FP_ERR_ARG);
  assert_null(joined);
}

/* ---- CSV tables ---------------------------------------------------------- */

static void test_table(void **state)
{
  const fixture *fx = *state;
  char path[256];
  fp_error err;
  fp_output_table *t = NULL;
  const char *const names[3] = {"t", "sigma_tot", "q_hk"};
  path_in(fx, "balance.csv", path, sizeof path);

  assert_int_equal(fp_output_table_create(path, names, 3, NULL, &t, &err), FP_OK);
  assert_int_equal(fp_output_table_columns(t), 3);
  const double row1[3] = {0.0, 1.0 / 3.0, -0.1};
  const double row2[3] = {0.5, 6.02214076e23, -2.5e-300};
  assert_int_equal(fp_output_table_append(t, row1, 3, &err), FP_OK);
  assert_int_equal(fp_output_table_append(t, row2, 3, &err), FP_OK);
  /* Rows are visible in the partial file at once; no final file yet. */
  assert_false(exists(path));
  char partial[300];
  snprintf(partial, sizeof partial, "%s.partial", path);
  assert_file_equals(partial, "t,sigma_tot,q_hk\n"
                              "0,0.33333333333333331,-0.10000000000000001\n"
                              "0.5,6.0221407599999999e+23,-2.5e-300\n");

  /* NaN and Inf are refused, naming column and row, and nothing is written. */
  const double nan_row[3] = {1.0, NAN, 0.0};
  assert_int_equal(fp_output_table_append(t, nan_row, 3, &err), FP_ERR_NUMERIC);
  assert_non_null(strstr(err.message, "'sigma_tot'"));
  assert_non_null(strstr(err.message, "row 3"));
  assert_non_null(strstr(err.message, "NaN"));
  const double inf_row[3] = {1.0, 0.0, -INFINITY};
  assert_int_equal(fp_output_table_append(t, inf_row, 3, &err), FP_ERR_NUMERIC);
  assert_non_null(strstr(err.message, "'q_hk'"));
  assert_int_equal(fp_output_table_append(t, row1, 2, &err), FP_ERR_ARG);
  assert_int_equal(fp_output_table_rows(t), 2);

  const double row3[3] = {1.0, 2.0, 3.0};
  assert_int_equal(fp_output_table_append(t, row3, 3, &err), FP_OK);
  assert_int_equal(fp_output_table_commit(&t, &err), FP_OK);
  assert_null(t);
  assert_false(exists(partial));

  /* Parse back: header, then every value round-trips exactly. */
  char *text = slurp(path);
  assert_non_null(text);
  const char *cursor = text;
  char line[256];
  assert_true(next_line(&cursor, line, sizeof line));
  assert_string_equal(line, "t,sigma_tot,q_hk");
  const double *rows[3] = {row1, row2, row3};
  for (int r = 0; r < 3; r++) {
    assert_true(next_line(&cursor, line, sizeof line));
    char *p = line;
    for (int c = 0; c < 3; c++) {
      char *end = NULL;
      double v = strtod(p, &end);
      assert_true(end != p);
      assert_true(v == rows[r][c]);
      p = end;
      if (c < 2) {
        assert_int_equal(*p, ',');
        p++;
      }
    }
    assert_int_equal(*p, '\0');
  }
  assert_false(next_line(&cursor, line, sizeof line));
  free(text);
}

static void test_table_preamble_abort_and_names(void **state)
{
  const fixture *fx = *state;
  char path[256], partial[300];
  fp_error err;
  fp_output_table *t = NULL;
  const char *const names[2] = {"t", "D_KL"};
  path_in(fx, "b.csv", path, sizeof path);
  snprintf(partial, sizeof partial, "%s.partial", path);

  /* A preamble goes to the sidecar b.json, written at commit; the CSV
   * starts with its header (pandas.read_csv defaults). */
  char sidecar[300];
  path_in(fx, "b.json", sidecar, sizeof sidecar);
  assert_int_equal(fp_output_table_create(path, names, 2, "fpentropy 0.1.0\ncase \"ou\".ini", &t,
                                          &err), FP_OK);
  assert_int_equal(fp_output_table_append(t, (double[]){0.25, 1.5}, 2, &err), FP_OK);
  assert_false(exists(sidecar));
  assert_int_equal(fp_output_table_commit(&t, &err), FP_OK);
  assert_file_equals(path, "t,D_KL\n0.25,1.5\n");
  assert_file_equals(sidecar, "{\n  \"file\": \"b.csv\",\n  \"comment\": [\n    \"fpentropy 0.1.0\",\n"
                              "    \"case \\\"ou\\\".ini\"\n  ],\n  \"columns\": [\"t\", \"D_KL\"]\n}\n");
  char *sc = NULL;
  assert_int_equal(fp_output_sidecar_path("dir/x.y", &sc, &err), FP_OK);
  assert_string_equal(sc, "dir/x.y.json");
  free(sc);
  remove(sidecar);

  /* Abort keeping the partial (interrupted run): the old complete file is
   * untouched, the rows so far are in the .partial. */
  assert_int_equal(fp_output_table_create(path, names, 2, NULL, &t, &err), FP_OK);
  assert_int_equal(fp_output_table_append(t, (double[]){1.0, 2.0}, 2, &err), FP_OK);
  fp_output_table_abort(&t, true);
  assert_null(t);
  assert_file_equals(path, "t,D_KL\n0.25,1.5\n");
  assert_file_equals(partial, "t,D_KL\n1,2\n");

  /* Abort without keeping: the partial goes, the old file stays. */
  assert_int_equal(fp_output_table_create(path, names, 2, NULL, &t, &err), FP_OK);
  fp_output_table_abort(&t, false);
  assert_false(exists(partial));
  assert_true(exists(path));
  fp_output_table_abort(&t, false); /* NULL-safe */

  /* Names that would break the format, repeated names, no columns. */
  const char *const spaced[2] = {"t", "sigma tot"};
  const char *const comma[2] = {"t", "a,b"};
  const char *const empty[2] = {"t", ""};
  const char *const twice[2] = {"t", "t"};
  char other[256];
  path_in(fx, "c.csv", other, sizeof other);
  assert_int_equal(fp_output_table_create(other, spaced, 2, NULL, &t, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "sigma tot"));
  assert_int_equal(fp_output_table_create(other, comma, 2, NULL, &t, &err), FP_ERR_ARG);
  assert_int_equal(fp_output_table_create(other, empty, 2, NULL, &t, &err), FP_ERR_ARG);
  assert_int_equal(fp_output_table_create(other, twice, 2, NULL, &t, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "twice"));
  assert_int_equal(fp_output_table_create(other, names, 0, NULL, &t, &err), FP_ERR_ARG);
  assert_null(t);
  assert_false(exists(other));
  assert_false(partial_exists(other));
}

/* ---- snapshots ----------------------------------------------------------- */

static void test_vtk_roundtrip(void **state)
{
  const fixture *fx = *state;
  char path[256];
  fp_error err;
  fp_grid g = grid_3x2();
  path_in(fx, "snap.vtk", path, sizeof path);
  const fp_output_field fields[2] = {{"density", field_a}, {"log_p", field_b}};
  const fp_output_vector flux = {"flux", {flux_x, flux_y, NULL}};
  assert_int_equal(fp_output_write_vtk(path, &g, "t = 0.5\nsecond line", fields, 2, &flux, &err),
                   FP_OK);
  assert_false(partial_exists(path));

  char *text = slurp(path);
  assert_non_null(text);
  const char *cursor = text;
  char line[512];
  const char *const header[] = {"# vtk DataFile Version 3.0", "t = 0.5 second line", "ASCII",
                                "DATASET STRUCTURED_POINTS", "DIMENSIONS 3 2 1",
                                "ORIGIN 0.5 -0.5 0", "SPACING 1 1 1", "POINT_DATA 6"};
  for (size_t i = 0; i < sizeof header / sizeof header[0]; i++) {
    assert_true(next_line(&cursor, line, sizeof line));
    assert_string_equal(line, header[i]);
  }
  for (int k = 0; k < 2; k++) {
    char expect[64];
    snprintf(expect, sizeof expect, "SCALARS %s double 1", fields[k].name);
    assert_true(next_line(&cursor, line, sizeof line));
    assert_string_equal(line, expect);
    assert_true(next_line(&cursor, line, sizeof line));
    assert_string_equal(line, "LOOKUP_TABLE default");
    for (int i = 0; i < 6; i++) {
      assert_true(next_line(&cursor, line, sizeof line));
      assert_true(strtod(line, NULL) == fields[k].values[i]);
    }
  }
  assert_true(next_line(&cursor, line, sizeof line));
  assert_string_equal(line, "VECTORS flux double");
  for (int i = 0; i < 6; i++) {
    double v[3];
    assert_true(next_line(&cursor, line, sizeof line));
    assert_int_equal(sscanf(line, "%lf %lf %lf", &v[0], &v[1], &v[2]), 3);
    assert_true(v[0] == flux_x[i]);
    assert_true(v[1] == flux_y[i]);
    assert_true(v[2] == 0.0);
  }
  assert_false(next_line(&cursor, line, sizeof line));
  free(text);

  /* Scalars only, default title. */
  assert_int_equal(fp_output_write_vtk(path, &g, NULL, fields, 1, NULL, &err), FP_OK);
  text = slurp(path);
  assert_non_null(text);
  assert_non_null(strstr(text, "\nfpentropy snapshot\n"));
  assert_null(strstr(text, "VECTORS"));
  free(text);
}

/* Parse a .dat file: returns the data rows (coordinates + fields) in `out`
 * (row-major, ncols each), the number of blank lines in *blanks, and the
 * number of places where two blank lines follow each other in *doubles. */
static size_t parse_dat(const char *text, size_t ncols, double *out, size_t max_rows,
                        size_t *blanks, size_t *doubles)
{
  const char *cursor = text;
  char line[1024];
  size_t rows = 0;
  bool last_blank = false;
  *blanks = 0;
  *doubles = 0;
  while (next_line(&cursor, line, sizeof line)) {
    if (line[0] == '#') continue;
    if (line[0] == '\0') {
      (*blanks)++;
      if (last_blank) (*doubles)++;
      last_blank = true;
      continue;
    }
    last_blank = false;
    assert_true(rows < max_rows);
    char *p = line;
    for (size_t c = 0; c < ncols; c++) {
      char *end = NULL;
      out[rows * ncols + c] = strtod(p, &end);
      assert_true(end != p);
      p = end;
    }
    while (*p == ' ') p++;
    assert_int_equal(*p, '\0');
    rows++;
  }
  return rows;
}

static void test_dat_roundtrip(void **state)
{
  const fixture *fx = *state;
  char path[256];
  fp_error err;
  fp_grid g = grid_3x2();
  path_in(fx, "snap.dat", path, sizeof path);
  const fp_output_field fields[2] = {{"density", field_a}, {"log_p", field_b}};
  assert_int_equal(fp_output_write_dat(path, &g, "t = 0.5", fields, 2, &err), FP_OK);
  assert_false(partial_exists(path));

  char *text = slurp(path);
  assert_non_null(text);
  /* Column names on the first line, then the title as a comment. */
  const char *head = "# x y density log_p\n# t = 0.5\n";
  assert_true(strncmp(text, head, strlen(head)) == 0);
  double data[6 * 4];
  size_t blanks = 0, doubles = 0;
  assert_int_equal(parse_dat(text, 4, data, 6, &blanks, &doubles), 6);
  assert_int_equal(blanks, 1); /* between the rows y = -0.5 and y = 0.5 */
  assert_int_equal(doubles, 0);
  assert_non_null(strstr(text, "\n\n"));
  const double xs[3] = {0.5, 1.5, 2.5}, ys[2] = {-0.5, 0.5};
  for (size_t i = 0; i < 6; i++) {
    assert_true(data[i * 4 + 0] == xs[i % 3]);
    assert_true(data[i * 4 + 1] == ys[i / 3]);
    assert_true(data[i * 4 + 2] == field_a[i]);
    assert_true(data[i * 4 + 3] == field_b[i]);
  }
  free(text);

  /* 3D 2x2x2: one blank line after each y row, two between z planes. */
  fp_grid g3 = {.dim = 3, .n = {2, 2, 2}, .lower = {0.0, 0.0, 0.0}, .upper = {1.0, 2.0, 4.0}};
  assert_int_equal(fp_grid_init(&g3, &err), FP_OK);
  double v3[8];
  for (int i = 0; i < 8; i++) v3[i] = 0.125 * i;
  const fp_output_field f3 = {"p", v3};
  assert_int_equal(fp_output_write_dat(path, &g3, NULL, &f3, 1, &err), FP_OK);
  text = slurp(path);
  assert_non_null(text);
  assert_true(strncmp(text, "# x y z p\n", strlen("# x y z p\n")) == 0);
  double d3[8 * 4];
  assert_int_equal(parse_dat(text, 4, d3, 8, &blanks, &doubles), 8);
  assert_int_equal(blanks, 4);
  assert_int_equal(doubles, 1);
  for (size_t i = 0; i < 8; i++) {
    assert_true(d3[i * 4 + 0] == 0.25 + 0.5 * (double)(i % 2));
    assert_true(d3[i * 4 + 1] == 0.5 + 1.0 * (double)((i / 2) % 2));
    assert_true(d3[i * 4 + 2] == 1.0 + 2.0 * (double)(i / 4));
    assert_true(d3[i * 4 + 3] == v3[i]);
  }
  free(text);

  /* 1D: no blank lines. */
  fp_grid g1 = {.dim = 1, .n = {4, 1, 1}, .lower = {-1.0}, .upper = {1.0}};
  assert_int_equal(fp_grid_init(&g1, &err), FP_OK);
  assert_int_equal(fp_output_write_dat(path, &g1, NULL, &f3, 1, &err), FP_OK);
  text = slurp(path);
  assert_non_null(text);
  assert_int_equal(parse_dat(text, 2, d3, 8, &blanks, &doubles), 4);
  assert_int_equal(blanks, 0);
  free(text);
}

/* A non-finite value aborts the snapshot: no final file, no partial, and an
 * earlier complete snapshot under the same name is untouched. */
static void test_snapshot_rejects_nonfinite(void **state)
{
  const fixture *fx = *state;
  char vtk[256], dat[256];
  fp_error err;
  fp_grid g = grid_3x2();
  path_in(fx, "bad.vtk", vtk, sizeof vtk);
  path_in(fx, "bad.dat", dat, sizeof dat);
  double values[6] = {1.0, 2.0, 3.0, NAN, 5.0, 6.0};
  const fp_output_field bad = {"density", values};

  assert_int_equal(fp_output_write_vtk(vtk, &g, NULL, &bad, 1, NULL, &err), FP_ERR_NUMERIC);
  assert_non_null(strstr(err.message, "'density'"));
  assert_non_null(strstr(err.message, "cell 3"));
  assert_non_null(strstr(err.message, "(x, y) = (0.5, 0.5)"));
  assert_false(exists(vtk));
  assert_false(partial_exists(vtk));

  write_text_file(dat, "complete\n");
  assert_int_equal(fp_output_write_dat(dat, &g, NULL, &bad, 1, &err), FP_ERR_NUMERIC);
  assert_non_null(strstr(err.message, "NaN"));
  assert_file_equals(dat, "complete\n");
  assert_false(partial_exists(dat));

  /* Inf in a vector component. */
  double vx[6] = {0.0, 0.0, 0.0, 0.0, INFINITY, 0.0};
  const fp_output_vector vec = {"flux", {vx, NULL, NULL}};
  assert_int_equal(fp_output_write_vtk(vtk, &g, NULL, NULL, 0, &vec, &err), FP_ERR_NUMERIC);
  assert_non_null(strstr(err.message, "'flux'"));
  assert_false(exists(vtk));
}

static void test_snapshot_argument_errors(void **state)
{
  const fixture *fx = *state;
  char path[256];
  fp_error err;
  fp_grid g = grid_3x2();
  path_in(fx, "x.vtk", path, sizeof path);
  const fp_output_field ok = {"density", field_a};

  fp_grid raw;
  memset(&raw, 0, sizeof raw);
  assert_int_equal(fp_output_write_vtk(path, &raw, NULL, &ok, 1, NULL, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "fp_grid_init"));
  raw = g;
  raw.ncells = 7;
  assert_int_equal(fp_output_write_dat(path, &raw, NULL, &ok, 1, &err), FP_ERR_ARG);
  assert_int_equal(fp_output_write_vtk(path, &g, NULL, NULL, 0, NULL, &err), FP_ERR_ARG);
  assert_int_equal(fp_output_write_dat(path, &g, NULL, NULL, 0, &err), FP_ERR_ARG);

  const fp_output_field twice[2] = {{"p", field_a}, {"p", field_b}};
  assert_int_equal(fp_output_write_vtk(path, &g, NULL, twice, 2, NULL, &err), FP_ERR_ARG);
  const fp_output_field spaced = {"log p", field_a};
  assert_int_equal(fp_output_write_vtk(path, &g, NULL, &spaced, 1, NULL, &err), FP_ERR_ARG);
  const fp_output_field novalues = {"p", NULL};
  assert_int_equal(fp_output_write_vtk(path, &g, NULL, &novalues, 1, NULL, &err), FP_ERR_ARG);
  const fp_output_field coord = {"y", field_a};
  assert_int_equal(fp_output_write_dat(path, &g, NULL, &coord, 1, &err), FP_ERR_ARG);
  assert_non_null(strstr(err.message, "coordinate"));
  const fp_output_vector clash = {"density", {flux_x, flux_y, NULL}};
  assert_int_equal(fp_output_write_vtk(path, &g, NULL, &ok, 1, &clash, &err), FP_ERR_ARG);
  assert_false(exists(path));
  assert_false(partial_exists(path));
}

/* ---- output directories --------------------------------------------------- */

/* Every name recorded (also without a path, and a table's sidecar) is in the
 * manifest; names the next run could not clean are refused; the directory is
 * locked until closed, also against a second open in the same process; the
 * next open removes what the manifest lists and keeps everything else. */
static void test_output_dir(void **state)
{
  fixture *fx = *state;
  fp_error err;
  char path[512], mine[512];
  path_in(fx, "mine.txt", mine, sizeof mine);
  write_text_file(mine, "not a run's file\n");
  fp_output_dir *d = NULL;
  assert_int_equal(fp_output_dir_open(fx->dir, &d, &err), FP_OK);
  assert_string_equal(fp_output_dir_name(d), fx->dir);
  assert_null(fp_output_dir_name(NULL));

  char *p = NULL;
  assert_int_equal(fp_output_dir_table_path(d, "study.csv", &p, &err), FP_OK);
  path_in(fx, "study.csv", path, sizeof path);
  assert_string_equal(p, path);
  free(p);
  assert_int_equal(fp_output_dir_path(d, "note.txt", NULL, &err), FP_OK);
  assert_int_equal(fp_output_dir_table_path(d, "matrix.csv", NULL, &err), FP_OK);
  const char *const bad[] = {"", "sub/x.csv", ".", "..", "a\nb", FP_OUTPUT_MANIFEST};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    p = (char *)1;
    assert_int_equal(fp_output_dir_path(d, bad[i], &p, &err), FP_ERR_ARG);
    assert_null(p);
  }
  assert_int_equal(fp_output_dir_path(NULL, "x", NULL, &err), FP_ERR_ARG);

  /* the lock belongs to the open handle: a second open is refused */
  fp_output_dir *again = NULL;
  assert_int_equal(fp_output_dir_open(fx->dir, &again, &err), FP_ERR_IO);
  assert_null(again);
  assert_non_null(strstr(err.message, "in use by another fpentropy run"));

  const char *const written[] = {"study.csv", "study.json", "note.txt", "matrix.csv", "matrix.json"};
  for (size_t i = 0; i < 5; i++) {
    path_in(fx, written[i], path, sizeof path);
    write_text_file(path, "x\n");
  }
  assert_int_equal(fp_output_dir_close(&d, &err), FP_OK);
  assert_null(d);
  path_in(fx, FP_OUTPUT_MANIFEST, path, sizeof path);
  assert_file_equals(path, "# files written by the fpentropy run that last used this directory "
                           "(removed when the next run starts)\n"
                           "study.json\nstudy.csv\nnote.txt\nmatrix.json\nmatrix.csv\n");

  /* the next run removes every listed file, keeps the others */
  assert_int_equal(fp_output_dir_open(fx->dir, &d, &err), FP_OK);
  for (size_t i = 0; i < 5; i++) {
    path_in(fx, written[i], path, sizeof path);
    assert_false(exists(path));
  }
  assert_true(exists(mine));
  assert_int_equal(fp_output_dir_close(&d, &err), FP_OK);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_atomic_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mkdir_and_join, setup, teardown),
      cmocka_unit_test_setup_teardown(test_table, setup, teardown),
      cmocka_unit_test_setup_teardown(test_table_preamble_abort_and_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_vtk_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dat_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_snapshot_rejects_nonfinite, setup, teardown),
      cmocka_unit_test_setup_teardown(test_snapshot_argument_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_output_dir, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
