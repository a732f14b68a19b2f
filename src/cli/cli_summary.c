/* fpentropy CLI: the end of a command that holds its output directory.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * compare, policy and calibrate run the PDE (which writes summary.txt with
 * "status: completed") and then compute and write their own results; when
 * that second part fails, the directory must not say "completed" (found by
 * the allocator fault injection, tests/fault).  The summary is rewritten
 * (fp_run_mark_failed()) before the directory is closed: only a directory
 * this command holds is ever rewritten, never the summary of another run. */
#include "cli.h"

#include <stdio.h>

int cli_close_output_dir(fp_output_dir **od, int status, fp_error *err)
{
  if (!od || !*od) return status;
  if (status != FP_OK) {
    fp_error mark_err;
    fp_error_clear(&mark_err);
    if (fp_run_mark_failed(*od, status, err ? err->message : NULL, &mark_err) != FP_OK)
      fprintf(stderr, "fpentropy: %s\n", mark_err.message);
  }
  int rc = fp_output_dir_close(od, status == FP_OK ? err : NULL);
  return status == FP_OK ? rc : status;
}
