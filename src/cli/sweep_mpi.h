/* fpentropy CLI: MPI distribution of sweep points (rank 0 hands them out).
 * Without FP_MPI the functions below are the single-process case (one rank,
 * nothing sent), so cmd_sweep.c has one code path for both builds.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Protocol (tags in sweep_mpi.c): rank 0 sends each worker up to --jobs
 * point indices, the worker runs them (the same fork/exec as a local job)
 * and sends back a sweep_result per point as it ends; rank 0 sends the next
 * point to whichever worker answers first, so points of very different cost
 * balance themselves.  At the end
 * (or on an interruption) rank 0 sends every worker a stop message.  Every
 * rank builds the same plan from the same command line, so only indices
 * travel; the output directory must be on a file system all ranks see. */
#ifndef FPENTROPY_CLI_SWEEP_MPI_H
#define FPENTROPY_CLI_SWEEP_MPI_H

#include <stdbool.h>
#include <stddef.h>

/* What a worker reports about one point (sent as bytes: ranks are assumed
 * to share one architecture). */
typedef struct sweep_result {
  unsigned long long point; /* index in the plan */
  int status;      /* fp_sweep_status */
  int exit_code;
  double seconds;
  char error[1024];
} sweep_result;

#ifdef FP_MPI
/* Initialise MPI when the process was started by an MPI launcher (mpirun,
 * mpiexec, srun); *rank and *size are 0 and 1 otherwise, and for a plain
 * start nothing of MPI is touched.  Returns true when MPI was initialised. */
bool sweep_mpi_init(int *argc, char ***argv, int *rank, int *size);
void sweep_mpi_finalize(void);
void sweep_mpi_send_point(int worker, size_t point);
void sweep_mpi_send_stop(int worker);
/* Rank 0: a result, if one has arrived (non-blocking). */
bool sweep_mpi_poll_result(int *worker, sweep_result *r);
/* Workers: a message from rank 0, if one has arrived (non-blocking): a
 * point, or the stop message (*stop = true). */
bool sweep_mpi_poll_point(size_t *point, bool *stop);
void sweep_mpi_send_result(const sweep_result *r);
#else
static inline bool sweep_mpi_init(int *argc, char ***argv, int *rank, int *size)
{
  (void)argc, (void)argv;
  *rank = 0;
  *size = 1;
  return false;
}
static inline void sweep_mpi_finalize(void) {}
static inline void sweep_mpi_send_point(int worker, size_t point) { (void)worker, (void)point; }
static inline void sweep_mpi_send_stop(int worker) { (void)worker; }
static inline bool sweep_mpi_poll_result(int *worker, sweep_result *r)
{
  (void)worker, (void)r;
  return false;
}
static inline bool sweep_mpi_poll_point(size_t *point, bool *stop)
{
  (void)point;
  *stop = true;
  return true;
}
static inline void sweep_mpi_send_result(const sweep_result *r) { (void)r; }
#endif

#endif /* FPENTROPY_CLI_SWEEP_MPI_H */
