/* fpentropy CLI: mark a run's summary.txt as failed when the command fails after the run.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * compare, policy and calibrate run the PDE (which writes summary.txt with
 * "status: completed") and then compute and write their own results; when
 * that second part fails, the directory must not say "completed".  Found by
 * the allocator fault injection (tests/fault). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_mark_summary_failed(const char *dir, int status, const char *message)
{
  char *path = NULL;
  fp_error err;
  if (!dir || fp_output_join(dir, "summary.txt", &path, &err) != FP_OK) return;
  FILE *in = fopen(path, "r");
  if (!in) {
    free(path);
    return;
  }
  fp_output_file *out = NULL;
  if (fp_output_file_open(path, &out, &err) == FP_OK) {
    FILE *f = fp_output_file_stream(out);
    char line[4096];
    bool replaced = false;
    while (fgets(line, sizeof line, in)) {
      if (!replaced && strncmp(line, "status: completed", 17) == 0) {
        fprintf(f, "status: %s (the command failed after the run)\nerror: %s\n", fp_strerror(status),
                message && *message ? message : fp_strerror(status));
        replaced = true;
      } else {
        fputs(line, f);
      }
    }
    if (fp_output_file_commit(&out, &err) != FP_OK)
      fprintf(stderr, "fpentropy: %s\n", err.message);
  }
  fclose(in);
  free(path);
}
