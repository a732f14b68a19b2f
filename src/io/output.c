/* fpentropy: the files a run writes (atomic files, CSV tables, snapshots).
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* flock(2) is a BSD call: glibc declares it under _DEFAULT_SOURCE. */
#define _DEFAULT_SOURCE
#include <fpentropy/io/output.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error_impl.h"
#include "io/output_impl.h"

/* Legacy VTK readers take at most 256 characters on the title line. */
#define VTK_TITLE_MAX 255

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* The system's text for errno value e, in caller storage (strerror_r, XSI
 * form, because strerror is not guaranteed thread-safe). */
static const char *errno_text(int e, char *buf, size_t size)
{
  if (strerror_r(e, buf, size) != 0) snprintf(buf, size, "error %d", e);
  return buf;
}

static char *dup_string(const char *s)
{
  size_t len = strlen(s) + 1;
  char *copy = malloc(len);
  if (copy) memcpy(copy, s, len);
  return copy;
}

/* Names must survive unquoted in CSV, VTK and whitespace-column headers. */
static int check_name(const char *name, const char *what, size_t index, fp_error *err)
{
  if (!name || !*name)
    return fp_fail(err, FP_ERR_ARG, "%s %zu has an empty name", what, index + 1);
  for (const char *c = name; *c; c++) {
    unsigned char u = (unsigned char)*c;
    if (u <= ' ' || u >= 127 || u == ',' || u == '"' || u == '\'' || u == '#')
      return fp_fail(err, FP_ERR_ARG, "%s name '%s' is not allowed: use printable characters "
                     "other than space, comma, quotes and '#'", what, name);
  }
  return FP_OK;
}

static int check_distinct(const char *const *names, size_t n, const char *what, fp_error *err)
{
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(names[i], names[j]) == 0)
        return fp_fail(err, FP_ERR_ARG, "%s name '%s' is used twice", what, names[i]);
  return FP_OK;
}

/* `s` as a JSON string (quotes, backslashes and control characters escaped). */
static void json_string(FILE *fp, const char *s, size_t len)
{
  fputc('"', fp);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      fprintf(fp, "\\%c", c);
    else if (c < 0x20)
      fprintf(fp, "\\u%04x", c);
    else
      fputc(c, fp);
  }
  fputc('"', fp);
}

int fp_output_sidecar_path(const char *table_path, char **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_output_sidecar_path: NULL argument");
  *out = NULL;
  if (!table_path || !*table_path)
    return fp_fail(err, FP_ERR_ARG, "fp_output_sidecar_path: empty path");
  size_t len = strlen(table_path);
  if (len > 4 && strcmp(table_path + len - 4, ".csv") == 0) len -= 4;
  char *s = malloc(len + sizeof ".json");
  if (!s) return fp_fail(err, FP_ERR_NOMEM, "fp_output_sidecar_path: out of memory");
  memcpy(s, table_path, len);
  memcpy(s + len, ".json", sizeof ".json");
  *out = s;
  return FP_OK;
}

int fp_output_sidecar_write(const char *table_path, const char *comment,
                            const char *const *columns, size_t ncols, fp_error *err)
{
  char *path = NULL;
  int rc = fp_output_sidecar_path(table_path, &path, err);
  if (rc != FP_OK) return rc;
  fp_output_file *f = NULL;
  rc = fp_output_file_open(path, &f, err);
  free(path);
  if (rc != FP_OK) return rc;
  FILE *fp = fp_output_file_stream(f);
  const char *base = strrchr(table_path, '/');
  base = base ? base + 1 : table_path;
  fputs("{\n  \"file\": ", fp);
  json_string(fp, base, strlen(base));
  fputs(",\n  \"comment\": [", fp);
  const char *line = comment;
  for (int first = 1; line && *line; first = 0) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    fputs(first ? "\n    " : ",\n    ", fp);
    json_string(fp, line, len);
    line = end ? end + 1 : NULL;
  }
  fputs(comment && *comment ? "\n  ]" : "]", fp);
  if (columns && ncols > 0) {
    fputs(",\n  \"columns\": [", fp);
    for (size_t i = 0; i < ncols; i++) {
      if (i) fputs(", ", fp);
      json_string(fp, columns[i], strlen(columns[i]));
    }
    fputc(']', fp);
  }
  fputs("\n}\n", fp);
  return fp_output_file_commit(&f, err);
}

/* Write `text` as comment lines "# ..." (one per line of text). */
static void write_comment_lines(FILE *fp, const char *text)
{
  const char *line = text;
  while (line && *line) {
    const char *end = strchr(line, '\n');
    int len = end ? (int)(end - line) : (int)strlen(line);
    fprintf(fp, "# %.*s\n", len, line);
    line = end ? end + 1 : NULL;
  }
}

/* ------------------------------------------------------------------------ */
/* Atomic files                                                             */
/* ------------------------------------------------------------------------ */

struct fp_output_file {
  FILE *fp;
  char *path;    /* final name */
  char *partial; /* path + FP_OUTPUT_PARTIAL_SUFFIX */
};

static void file_free(fp_output_file *f)
{
  if (!f) return;
  free(f->path);
  free(f->partial);
  free(f);
}

int fp_output_file_open(const char *path, fp_output_file **out, fp_error *err)
{
  char reason[256];
  int status = FP_OK;
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_output_file_open: NULL argument");
  *out = NULL;
  if (!path || !*path) return fp_fail(err, FP_ERR_ARG, "fp_output_file_open: empty path");

  fp_output_file *f = calloc(1, sizeof *f);
  if (!f) return fp_fail(err, FP_ERR_NOMEM, "opening %s: out of memory", path);
  size_t len = strlen(path);
  f->path = dup_string(path);
  f->partial = malloc(len + sizeof FP_OUTPUT_PARTIAL_SUFFIX);
  if (!f->path || !f->partial) {
    status = fp_fail(err, FP_ERR_NOMEM, "opening %s: out of memory", path);
    goto fail;
  }
  memcpy(f->partial, path, len);
  memcpy(f->partial + len, FP_OUTPUT_PARTIAL_SUFFIX, sizeof FP_OUTPUT_PARTIAL_SUFFIX);
  f->fp = fopen(f->partial, "w");
  if (!f->fp) {
    status = fp_fail(err, FP_ERR_IO, "cannot create %s: %s", f->partial,
                     errno_text(errno, reason, sizeof reason));
    goto fail;
  }
  *out = f;
  return FP_OK;

fail:
  file_free(f);
  return status;
}

FILE *fp_output_file_stream(fp_output_file *f) { return f ? f->fp : NULL; }

const char *fp_output_file_path(const fp_output_file *f) { return f ? f->path : NULL; }

int fp_output_file_commit(fp_output_file **fptr, fp_error *err)
{
  char reason[256];
  int status = FP_OK;
  if (!fptr || !*fptr) return fp_fail(err, FP_ERR_ARG, "fp_output_file_commit: NULL file");
  fp_output_file *f = *fptr;
  *fptr = NULL;

  /* The error indicator is sticky, but errno from the failed write is long
   * gone, so no reason can be given here. */
  if (ferror(f->fp)) {
    status = fp_fail(err, FP_ERR_IO, "writing %s failed (a write reported an error)",
                     f->partial);
    goto fail;
  }
  if (fflush(f->fp) != 0) {
    status = fp_fail(err, FP_ERR_IO, "writing %s failed: %s", f->partial,
                     errno_text(errno, reason, sizeof reason));
    goto fail;
  }
  /* No fsync: the guarantee is against a run that fails, is killed or is
   * interrupted (rename is atomic), not against a power failure; an fsync
   * per file cost more than the computation of small runs. */
  FILE *fp = f->fp;
  f->fp = NULL;
  if (fclose(fp) != 0) {
    status = fp_fail(err, FP_ERR_IO, "closing %s failed: %s", f->partial,
                     errno_text(errno, reason, sizeof reason));
    goto fail;
  }
  if (rename(f->partial, f->path) != 0) {
    status = fp_fail(err, FP_ERR_IO, "cannot rename %s to %s: %s", f->partial, f->path,
                     errno_text(errno, reason, sizeof reason));
    goto fail;
  }
  file_free(f);
  return FP_OK;

fail:
  if (f->fp) (void)fclose(f->fp);
  (void)remove(f->partial);
  file_free(f);
  return status;
}

void fp_output_file_abort(fp_output_file **fptr)
{
  if (!fptr || !*fptr) return;
  fp_output_file *f = *fptr;
  *fptr = NULL;
  if (f->fp) (void)fclose(f->fp);
  (void)remove(f->partial);
  file_free(f);
}

/* ------------------------------------------------------------------------ */
/* Directories and paths                                                    */
/* ------------------------------------------------------------------------ */

/* mkdir one component; an existing directory is fine, anything else is not. */
static int make_one_dir(const char *dir, const char *full, fp_error *err)
{
  char reason[256];
  struct stat st;
  if (mkdir(dir, 0777) == 0) return FP_OK;
  int e = errno;
  if (e == EEXIST) {
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return FP_OK;
    return fp_fail(err, FP_ERR_IO, "cannot create output directory %s: %s exists and is not "
                   "a directory", full, dir);
  }
  return fp_fail(err, FP_ERR_IO, "cannot create output directory %s: creating %s failed: %s",
                 full, dir, errno_text(e, reason, sizeof reason));
}

int fp_output_mkdir(const char *path, fp_error *err)
{
  if (!path || !*path) return fp_fail(err, FP_ERR_ARG, "output directory: empty path");
  char *buf = dup_string(path);
  if (!buf) return fp_fail(err, FP_ERR_NOMEM, "output directory %s: out of memory", path);
  int status = FP_OK;
  /* Create every prefix that ends before a '/', then the whole path.  The
   * root and repeated slashes give empty or existing prefixes, skipped. */
  for (char *c = buf + 1; *c; c++) {
    if (*c != '/' || c[-1] == '/') continue;
    *c = '\0';
    status = make_one_dir(buf, path, err);
    *c = '/';
    if (status != FP_OK) goto cleanup;
  }
  status = make_one_dir(buf, path, err);

cleanup:
  free(buf);
  return status;
}

int fp_output_join(const char *dir, const char *name, char **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_output_join: NULL argument");
  *out = NULL;
  if (!name || !*name) return fp_fail(err, FP_ERR_ARG, "fp_output_join: empty file name");
  size_t dlen = dir ? strlen(dir) : 0;
  size_t nlen = strlen(name);
  bool slash = dlen > 0 && dir[dlen - 1] != '/';
  char *s = malloc(dlen + (slash ? 1 : 0) + nlen + 1);
  if (!s) return fp_fail(err, FP_ERR_NOMEM, "fp_output_join: out of memory");
  if (dlen) memcpy(s, dir, dlen);
  if (slash) s[dlen++] = '/';
  memcpy(s + dlen, name, nlen + 1);
  *out = s;
  return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* Output directories: lock, clean, manifest                                */
/* ------------------------------------------------------------------------ */

struct fp_output_dir {
  char *path;
  int fd;          /* the directory, holding the flock */
  FILE *manifest;  /* appended to, flushed per name */
};

/* A name a run writes itself: removed when a new run takes the directory
 * even without a manifest (directories written before manifests existed,
 * or whose manifest was lost). */
static bool is_run_output(const char *name)
{
  size_t n = strlen(name);
  size_t suffix = sizeof FP_OUTPUT_PARTIAL_SUFFIX - 1;
  if (n > suffix && strcmp(name + n - suffix, FP_OUTPUT_PARTIAL_SUFFIX) == 0) n -= suffix;
  static const char *const fixed[] = {"summary.txt", "balance.csv", "snapshots.csv"};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    if (n == strlen(fixed[i]) && strncmp(name, fixed[i], n) == 0) return true;
  if (n < 13 || strncmp(name, "snapshot_", 9) != 0) return false;
  size_t i = 9;
  while (i < n && isdigit((unsigned char)name[i])) i++;
  if (i < 13 || n - i != 4) return false;
  return strncmp(name + i, ".vtk", 4) == 0 || strncmp(name + i, ".dat", 4) == 0;
}

/* Remove dir/name (if present) and dir/name.partial. */
static int remove_output(const fp_output_dir *d, const char *name, fp_error *err)
{
  char reason[256];
  char *path = NULL;
  for (int partial = 0; partial < 2; partial++) {
    size_t len = strlen(d->path) + strlen(name) + sizeof FP_OUTPUT_PARTIAL_SUFFIX + 2;
    path = malloc(len);
    if (!path) return fp_fail(err, FP_ERR_NOMEM, "out of memory cleaning %s", d->path);
    snprintf(path, len, "%s/%s%s", d->path, name, partial ? FP_OUTPUT_PARTIAL_SUFFIX : "");
    if (unlink(path) != 0 && errno != ENOENT) {
      int e = errno;
      int rc = fp_fail(err, FP_ERR_IO, "cannot remove %s, left by an earlier run: %s", path,
                       errno_text(e, reason, sizeof reason));
      free(path);
      return rc;
    }
    free(path);
  }
  return FP_OK;
}

static int clean_directory(fp_output_dir *d, fp_error *err)
{
  char reason[256];
  int rc = FP_OK;
  /* 1. Whatever the earlier run's manifest lists (plain names only). */
  char *mpath = NULL;
  rc = fp_output_join(d->path, FP_OUTPUT_MANIFEST, &mpath, err);
  if (rc != FP_OK) return rc;
  FILE *m = fopen(mpath, "r");
  free(mpath);
  if (m) {
    char line[512];
    while (rc == FP_OK && fgets(line, sizeof line, m)) {
      line[strcspn(line, "\r\n")] = '\0';
      if (line[0] == '\0' || line[0] == '#' || strchr(line, '/') || strcmp(line, ".") == 0 ||
          strcmp(line, "..") == 0 || strcmp(line, FP_OUTPUT_MANIFEST) == 0)
        continue;
      rc = remove_output(d, line, err);
    }
    fclose(m);
    if (rc != FP_OK) return rc;
  }
  /* 2. The run's own names, manifest or not. */
  DIR *dir = opendir(d->path);
  if (!dir)
    return fp_fail(err, FP_ERR_IO, "cannot list output directory %s: %s", d->path,
                   errno_text(errno, reason, sizeof reason));
  struct dirent *ent;
  while (rc == FP_OK && (ent = readdir(dir)) != NULL)
    if (is_run_output(ent->d_name)) rc = remove_output(d, ent->d_name, err);
  closedir(dir);
  return rc;
}

int fp_output_dir_open(const char *path, fp_output_dir **out, fp_error *err)
{
  char reason[256];
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_output_dir_open: NULL argument");
  *out = NULL;
  int rc = fp_output_mkdir(path, err);
  if (rc != FP_OK) return rc;
  fp_output_dir *d = calloc(1, sizeof *d);
  if (!d) return fp_fail(err, FP_ERR_NOMEM, "output directory %s: out of memory", path);
  d->fd = -1;
  d->path = dup_string(path);
  if (!d->path) {
    rc = fp_fail(err, FP_ERR_NOMEM, "output directory %s: out of memory", path);
    goto fail;
  }
  d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d->fd < 0) {
    rc = fp_fail(err, FP_ERR_IO, "cannot open output directory %s: %s", path,
                 errno_text(errno, reason, sizeof reason));
    goto fail;
  }
  if (flock(d->fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e == EWOULDBLOCK)
      rc = fp_fail(err, FP_ERR_IO, "output directory %s is in use by another fpentropy run "
                   "(it holds the directory's lock); wait for that run or choose another -o",
                   path);
    else
      rc = fp_fail(err, FP_ERR_IO, "cannot lock output directory %s: %s", path,
                   errno_text(e, reason, sizeof reason));
    goto fail;
  }
  rc = clean_directory(d, err);
  if (rc != FP_OK) goto fail;
  char *mpath = NULL;
  rc = fp_output_join(path, FP_OUTPUT_MANIFEST, &mpath, err);
  if (rc != FP_OK) goto fail;
  d->manifest = fopen(mpath, "w");
  if (!d->manifest || fputs("# files written by the fpentropy run that last used this "
                            "directory (removed when the next run starts)\n",
                            d->manifest) < 0 || fflush(d->manifest) != 0) {
    rc = fp_fail(err, FP_ERR_IO, "cannot write %s: %s", mpath,
                 errno_text(errno, reason, sizeof reason));
    free(mpath);
    goto fail;
  }
  free(mpath);
  *out = d;
  return FP_OK;

fail:
  fp_output_dir_close(&d, NULL);
  return rc;
}

int fp_output_dir_path(fp_output_dir *d, const char *name, char **out, fp_error *err)
{
  char reason[256];
  if (out) *out = NULL;
  if (!d || !name) return fp_fail(err, FP_ERR_ARG, "fp_output_dir_path: NULL argument");
  /* Only plain names: the next run's cleaning removes nothing else. */
  if (!*name || strchr(name, '/') || strchr(name, '\n') || strcmp(name, ".") == 0 ||
      strcmp(name, "..") == 0 || strcmp(name, FP_OUTPUT_MANIFEST) == 0)
    return fp_fail(err, FP_ERR_ARG, "output directory %s: '%s' is not a plain file name that a "
                   "run may write", d->path, name);
  if (fprintf(d->manifest, "%s\n", name) < 0 || fflush(d->manifest) != 0)
    return fp_fail(err, FP_ERR_IO, "cannot add %s to %s/%s: %s", name, d->path,
                   FP_OUTPUT_MANIFEST, errno_text(errno, reason, sizeof reason));
  return out ? fp_output_join(d->path, name, out, err) : FP_OK;
}

int fp_output_dir_table_path(fp_output_dir *d, const char *name, char **out, fp_error *err)
{
  if (out) *out = NULL;
  if (!d || !name) return fp_fail(err, FP_ERR_ARG, "fp_output_dir_table_path: NULL argument");
  char *sidecar = NULL;
  int rc = fp_output_sidecar_path(name, &sidecar, err);
  if (rc == FP_OK) rc = fp_output_dir_path(d, sidecar, NULL, err);
  free(sidecar);
  if (rc == FP_OK) rc = fp_output_dir_path(d, name, out, err);
  return rc;
}

const char *fp_output_dir_name(const fp_output_dir *d) { return d ? d->path : NULL; }

int fp_output_dir_close(fp_output_dir **dptr, fp_error *err)
{
  if (!dptr || !*dptr) return FP_OK;
  fp_output_dir *d = *dptr;
  *dptr = NULL;
  int rc = FP_OK;
  if (d->manifest && (ferror(d->manifest) | fclose(d->manifest)) != 0)
    rc = fp_fail(err, FP_ERR_IO, "writing %s/%s failed", d->path, FP_OUTPUT_MANIFEST);
  if (d->fd >= 0) close(d->fd); /* releases the lock */
  free(d->path);
  free(d);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* CSV tables                                                               */
/* ------------------------------------------------------------------------ */

struct fp_output_table {
  fp_output_file *file;
  size_t ncols;
  char **names; /* owned copies, for messages */
  char *preamble; /* owned copy or NULL: the sidecar's comment, written at commit */
  size_t rows;
  bool failed;  /* a write failed: the file is no longer trustworthy */
};

static void table_free(fp_output_table *t)
{
  if (!t) return;
  if (t->names)
    for (size_t i = 0; i < t->ncols; i++) free(t->names[i]);
  free(t->names);
  free(t->preamble);
  free(t);
}

int fp_output_table_create(const char *path, const char *const *names, size_t ncols,
                           const char *preamble, fp_output_table **out, fp_error *err)
{
  char reason[256];
  int status = FP_OK;
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_output_table_create: NULL argument");
  *out = NULL;
  if (!path || !names || ncols == 0)
    return fp_fail(err, FP_ERR_ARG, "table %s: no columns given", path ? path : "(null)");
  for (size_t i = 0; i < ncols; i++) {
    status = check_name(names[i], "column", i, err);
    if (status != FP_OK) return fp_fail_context(err, status, "table %s", path);
  }
  status = check_distinct(names, ncols, "column", err);
  if (status != FP_OK) return fp_fail_context(err, status, "table %s", path);

  fp_output_table *t = calloc(1, sizeof *t);
  if (!t) return fp_fail(err, FP_ERR_NOMEM, "table %s: out of memory", path);
  t->names = calloc(ncols, sizeof *t->names);
  if (!t->names) {
    status = fp_fail(err, FP_ERR_NOMEM, "table %s: out of memory", path);
    goto fail;
  }
  t->ncols = ncols;
  for (size_t i = 0; i < ncols; i++) {
    t->names[i] = dup_string(names[i]);
    if (!t->names[i]) {
      status = fp_fail(err, FP_ERR_NOMEM, "table %s: out of memory", path);
      goto fail;
    }
  }
  if (preamble && *preamble) {
    t->preamble = dup_string(preamble);
    if (!t->preamble) {
      status = fp_fail(err, FP_ERR_NOMEM, "table %s: out of memory", path);
      goto fail;
    }
  }
  status = fp_output_file_open(path, &t->file, err);
  if (status != FP_OK) goto fail;
  FILE *fp = fp_output_file_stream(t->file);
  for (size_t i = 0; i < ncols; i++) fprintf(fp, "%s%s", i ? "," : "", names[i]);
  fputc('\n', fp);
  if (ferror(fp) || fflush(fp) != 0) {
    status = fp_fail(err, FP_ERR_IO, "writing the header of %s.partial failed: %s", path,
                     errno_text(errno, reason, sizeof reason));
    goto fail;
  }
  *out = t;
  return FP_OK;

fail:
  fp_output_file_abort(&t->file);
  table_free(t);
  return status;
}

int fp_output_table_append(fp_output_table *t, const double *values, size_t n, fp_error *err)
{
  char reason[256];
  if (!t || !values) return fp_fail(err, FP_ERR_ARG, "fp_output_table_append: NULL argument");
  const char *path = t->file->path;
  if (t->failed)
    return fp_fail(err, FP_ERR_ARG, "table %s: an earlier write failed; no more rows", path);
  if (n != t->ncols)
    return fp_fail(err, FP_ERR_ARG, "table %s: row %zu has %zu values for %zu columns", path,
                   t->rows + 1, n, t->ncols);
  /* Validate the whole row first so that a rejected row writes nothing. */
  for (size_t i = 0; i < n; i++)
    if (!isfinite(values[i]))
      return fp_fail(err, FP_ERR_NUMERIC, "table %s: column '%s' of row %zu is %s; "
                     "non-finite values are not written", path, t->names[i], t->rows + 1,
                     isnan(values[i]) ? "NaN" : (values[i] > 0 ? "+Inf" : "-Inf"));
  FILE *fp = fp_output_file_stream(t->file);
  for (size_t i = 0; i < n; i++) fprintf(fp, "%s%.17g", i ? "," : "", values[i]);
  fputc('\n', fp);
  /* Flushed per row so that a reader following the .partial file sees whole
   * rows. */
  if (ferror(fp) || fflush(fp) != 0) {
    t->failed = true;
    return fp_fail(err, FP_ERR_IO, "table %s: writing row %zu failed: %s", path, t->rows + 1,
                   errno_text(errno, reason, sizeof reason));
  }
  t->rows++;
  return FP_OK;
}

size_t fp_output_table_rows(const fp_output_table *t) { return t ? t->rows : 0; }

size_t fp_output_table_columns(const fp_output_table *t) { return t ? t->ncols : 0; }

int fp_output_table_commit(fp_output_table **tptr, fp_error *err)
{
  if (!tptr || !*tptr) return fp_fail(err, FP_ERR_ARG, "fp_output_table_commit: NULL table");
  fp_output_table *t = *tptr;
  *tptr = NULL;
  int status;
  if (t->failed) {
    status = fp_fail(err, FP_ERR_IO, "table %s: not committed after a failed write",
                     t->file->path);
    fp_output_file_abort(&t->file);
  } else {
    /* The sidecar first: a final table always has its metadata beside it. */
    status = t->preamble ? fp_output_sidecar_write(t->file->path, t->preamble,
                                                   (const char *const *)t->names, t->ncols, err)
                         : FP_OK;
    if (status == FP_OK)
      status = fp_output_file_commit(&t->file, err);
    else
      fp_output_file_abort(&t->file);
  }
  table_free(t);
  return status;
}

void fp_output_table_abort(fp_output_table **tptr, bool keep_partial)
{
  if (!tptr || !*tptr) return;
  fp_output_table *t = *tptr;
  *tptr = NULL;
  if (keep_partial) {
    /* Close without renaming: the data stays under its ".partial" name. */
    fp_output_file *f = t->file;
    t->file = NULL;
    (void)fclose(f->fp);
    file_free(f);
  } else {
    fp_output_file_abort(&t->file);
  }
  table_free(t);
}

/* ------------------------------------------------------------------------ */
/* Snapshots                                                                */
/* ------------------------------------------------------------------------ */

static int check_grid(const fp_grid *g, fp_error *err)
{
  if (!g) return fp_fail(err, FP_ERR_ARG, "snapshot: the grid is NULL");
  if (g->dim < 1 || g->dim > FP_MAX_DIM)
    return fp_fail(err, FP_ERR_ARG, "snapshot: grid dimension %d (was fp_grid_init called?)",
                   g->dim);
  size_t count = 1;
  for (int a = 0; a < FP_MAX_DIM; a++) {
    if (g->n[a] < 1 || !(g->h[a] > 0.0) || !isfinite(g->h[a]) || g->n[a] > SIZE_MAX / count)
      return fp_fail(err, FP_ERR_ARG, "snapshot: the grid is not initialised "
                     "(call fp_grid_init first)");
    count *= g->n[a];
  }
  if (count != g->ncells)
    return fp_fail(err, FP_ERR_ARG, "snapshot: the grid is not initialised "
                   "(call fp_grid_init first)");
  return FP_OK;
}

/* Validate the field list: names, distinctness, values present. */
static int check_fields(const fp_output_field *fields, size_t nfields,
                        const fp_output_vector *vector, fp_error *err)
{
  int status = FP_OK;
  if (nfields > 0 && !fields) return fp_fail(err, FP_ERR_ARG, "snapshot: fields are NULL");
  const char **names = malloc((nfields + 1) * sizeof *names);
  if (!names) return fp_fail(err, FP_ERR_NOMEM, "snapshot: out of memory");
  size_t count = 0;
  for (size_t i = 0; i < nfields; i++) {
    status = check_name(fields[i].name, "field", i, err);
    if (status != FP_OK) goto cleanup;
    if (!fields[i].values) {
      status = fp_fail(err, FP_ERR_ARG, "snapshot: field '%s' has no values", fields[i].name);
      goto cleanup;
    }
    names[count++] = fields[i].name;
  }
  if (vector) {
    status = check_name(vector->name, "vector field", 0, err);
    if (status != FP_OK) goto cleanup;
    names[count++] = vector->name;
  }
  status = check_distinct(names, count, "field", err);

cleanup:
  free(names);
  return status;
}

static int nonfinite_value(const fp_grid *g, const char *path, const char *field, size_t cell,
                           double v, fp_error *err)
{
  double x[FP_MAX_DIM];
  char where[128];
  fp_grid_cell_center(g, cell, x);
  fp_format_point(where, sizeof where, g->dim, x);
  return fp_fail(err, FP_ERR_NUMERIC, "snapshot %s: field '%s' is %s in cell %zu at %s; "
                 "non-finite values are not written", path, field,
                 isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"), cell, where);
}

/* One title line: control characters would break the VTK header. */
static void write_vtk_title(FILE *fp, const char *title)
{
  const char *s = title ? title : "fpentropy snapshot";
  size_t i = 0;
  for (; i < VTK_TITLE_MAX && s[i]; i++) {
    unsigned char u = (unsigned char)s[i];
    fputc(u < ' ' || u == 127 ? ' ' : s[i], fp);
  }
  if (i == 0) fputs("fpentropy snapshot", fp);
  fputc('\n', fp);
}

int fp_output_write_vtk(const char *path, const fp_grid *grid, const char *title,
                        const fp_output_field *fields, size_t nfields,
                        const fp_output_vector *vector, fp_error *err)
{
  fp_output_file *f = NULL;
  if (!path) return fp_fail(err, FP_ERR_ARG, "fp_output_write_vtk: NULL path");
  int status = check_grid(grid, err);
  if (status == FP_OK && nfields == 0 && !vector)
    status = fp_fail(err, FP_ERR_ARG, "snapshot %s: no fields to write", path);
  if (status == FP_OK) status = check_fields(fields, nfields, vector, err);
  if (status != FP_OK) return status;

  status = fp_output_file_open(path, &f, err);
  if (status != FP_OK) return status;
  FILE *fp = fp_output_file_stream(f);
  const size_t nc = grid->ncells;
  fputs("# vtk DataFile Version 3.0\n", fp);
  write_vtk_title(fp, title);
  fputs("ASCII\nDATASET STRUCTURED_POINTS\n", fp);
  fprintf(fp, "DIMENSIONS %zu %zu %zu\n", grid->n[0], grid->n[1], grid->n[2]);
  fputs("ORIGIN", fp);
  for (int a = 0; a < FP_MAX_DIM; a++)
    fprintf(fp, " %.17g", a < grid->dim ? fp_grid_center(grid, a, 0) : 0.0);
  fputs("\nSPACING", fp);
  for (int a = 0; a < FP_MAX_DIM; a++) fprintf(fp, " %.17g", grid->h[a]);
  fprintf(fp, "\nPOINT_DATA %zu\n", nc);
  for (size_t k = 0; k < nfields; k++) {
    fprintf(fp, "SCALARS %s double 1\nLOOKUP_TABLE default\n", fields[k].name);
    for (size_t i = 0; i < nc; i++) {
      double v = fields[k].values[i];
      if (!isfinite(v)) {
        status = nonfinite_value(grid, path, fields[k].name, i, v, err);
        goto fail;
      }
      fprintf(fp, "%.17g\n", v);
    }
  }
  if (vector) {
    fprintf(fp, "VECTORS %s double\n", vector->name);
    for (size_t i = 0; i < nc; i++) {
      for (int a = 0; a < FP_MAX_DIM; a++) {
        double v = a < grid->dim && vector->values[a] ? vector->values[a][i] : 0.0;
        if (!isfinite(v)) {
          status = nonfinite_value(grid, path, vector->name, i, v, err);
          goto fail;
        }
        fprintf(fp, a ? " %.17g" : "%.17g", v);
      }
      fputc('\n', fp);
    }
  }
  return fp_output_file_commit(&f, err);

fail:
  fp_output_file_abort(&f);
  return status;
}

int fp_output_write_dat(const char *path, const fp_grid *grid, const char *title,
                        const fp_output_field *fields, size_t nfields, fp_error *err)
{
  static const char *const axis_names[FP_MAX_DIM] = {"x", "y", "z"};
  fp_output_file *f = NULL;
  if (!path) return fp_fail(err, FP_ERR_ARG, "fp_output_write_dat: NULL path");
  int status = check_grid(grid, err);
  if (status == FP_OK && nfields == 0)
    status = fp_fail(err, FP_ERR_ARG, "snapshot %s: no fields to write", path);
  if (status == FP_OK) status = check_fields(fields, nfields, NULL, err);
  if (status != FP_OK) return status;
  for (size_t k = 0; k < nfields; k++)
    for (int a = 0; a < grid->dim; a++)
      if (strcmp(fields[k].name, axis_names[a]) == 0)
        return fp_fail(err, FP_ERR_ARG, "snapshot %s: field name '%s' clashes with a "
                       "coordinate column", path, fields[k].name);

  status = fp_output_file_open(path, &f, err);
  if (status != FP_OK) return status;
  FILE *fp = fp_output_file_stream(f);
  /* Column names first: numpy.genfromtxt(names=True) reads them from the
   * first line. */
  fputc('#', fp);
  for (int a = 0; a < grid->dim; a++) fprintf(fp, " %s", axis_names[a]);
  for (size_t k = 0; k < nfields; k++) fprintf(fp, " %s", fields[k].name);
  fputc('\n', fp);
  write_comment_lines(fp, title);
  for (size_t i = 0; i < grid->ncells; i++) {
    size_t idx[FP_MAX_DIM];
    double x[FP_MAX_DIM];
    fp_grid_unindex(grid, i, idx);
    fp_grid_cell_center(grid, i, x);
    /* gnuplot scans: a blank line before each new y row, two before each
     * new z plane. */
    if (i > 0 && idx[0] == 0) {
      fputc('\n', fp);
      if (grid->dim == 3 && idx[1] == 0) fputc('\n', fp);
    }
    for (int a = 0; a < grid->dim; a++) fprintf(fp, a ? " %.17g" : "%.17g", x[a]);
    for (size_t k = 0; k < nfields; k++) {
      double v = fields[k].values[i];
      if (!isfinite(v)) {
        status = nonfinite_value(grid, path, fields[k].name, i, v, err);
        goto fail;
      }
      fprintf(fp, " %.17g", v);
    }
    fputc('\n', fp);
  }
  return fp_output_file_commit(&f, err);

fail:
  fp_output_file_abort(&f);
  return status;
}

int fp_output_file_open_in(const char *dir, const char *name, const char *comment,
                           const char *const *columns, size_t ncols, fp_output_file **out,
                           fp_error *err)
{
  char *path = NULL;
  int rc = fp_output_join(dir, name, &path, err);
  if (rc == FP_OK && comment) rc = fp_output_sidecar_write(path, comment, columns, ncols, err);
  if (rc == FP_OK) rc = fp_output_file_open(path, out, err);
  free(path);
  return rc;
}

int fp_output_write_matrix(const char *dir, const char *name, const char *comment,
                           const double *t, size_t T, const double *M, fp_error *err)
{
  if (!dir || !name || !t || !M) return fp_fail(err, FP_ERR_ARG, "fp_output_write_matrix: NULL argument");
  fp_output_file *f = NULL;
  int rc = fp_output_file_open_in(dir, name, comment, NULL, 0, &f, err);
  if (rc != FP_OK) return rc;
  FILE *out = fp_output_file_stream(f);
  fputs("t", out);
  for (size_t j = 0; j < T; j++) fprintf(out, ",j%zu", j);
  fputc('\n', out);
  for (size_t i = 0; i < T; i++) {
    fprintf(out, "%.17g", t[i]);
    for (size_t j = 0; j < T; j++) fprintf(out, ",%.17g", M[i * T + j]);
    fputc('\n', out);
  }
  return fp_output_file_commit(&f, err);
}

/* ------------------------------------------------------------------------ */
/* Writer targets (output_impl.h)                                           */
/* ------------------------------------------------------------------------ */

const char *fp_output_target_dir(const fp_output_target *t)
{
  return t->held ? fp_output_dir_name(t->held) : t->dir;
}

int fp_output_target_record(const fp_output_target *t, const char *name, bool table, fp_error *err)
{
  if (!t->held) return FP_OK;
  return table ? fp_output_dir_table_path(t->held, name, NULL, err)
               : fp_output_dir_path(t->held, name, NULL, err);
}
