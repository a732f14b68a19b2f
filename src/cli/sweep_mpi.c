/* fpentropy CLI: MPI master/worker messages of `fpentropy sweep` (built with FP_MPI only).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "sweep_mpi.h"

#include <stdlib.h>
#include <string.h>

#include <mpi.h>

enum { TAG_POINT = 1, TAG_STOP = 2, TAG_RESULT = 3 };

/* Launchers announce themselves in the environment: Open MPI's mpirun,
 * PMI-1/2 (MPICH's hydra, srun --mpi=pmi2) and PMIx (srun --mpi=pmix). */
static bool launched_by_mpi(void)
{
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i])) return true;
  return false;
}

bool sweep_mpi_init(int *argc, char ***argv, int *rank, int *size)
{
  *rank = 0;
  *size = 1;
  if (!launched_by_mpi()) return false;
  if (MPI_Init(argc, argv) != MPI_SUCCESS) return false;
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, size);
  return true;
}

void sweep_mpi_finalize(void) { MPI_Finalize(); }

void sweep_mpi_send_point(int worker, size_t point)
{
  unsigned long long p = point;
  MPI_Send(&p, 1, MPI_UNSIGNED_LONG_LONG, worker, TAG_POINT, MPI_COMM_WORLD);
}

void sweep_mpi_send_stop(int worker)
{
  unsigned long long p = 0;
  MPI_Send(&p, 1, MPI_UNSIGNED_LONG_LONG, worker, TAG_STOP, MPI_COMM_WORLD);
}

bool sweep_mpi_poll_result(int *worker, sweep_result *r)
{
  int flag = 0;
  MPI_Status st;
  MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &flag, &st);
  if (!flag) return false;
  MPI_Recv(r, (int)sizeof *r, MPI_BYTE, st.MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  r->error[sizeof r->error - 1] = '\0';
  *worker = st.MPI_SOURCE;
  return true;
}

bool sweep_mpi_poll_point(size_t *point, bool *stop)
{
  int flag = 0;
  MPI_Status st;
  MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
  if (!flag) return false;
  unsigned long long p = 0;
  MPI_Recv(&p, 1, MPI_UNSIGNED_LONG_LONG, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  *point = (size_t)p;
  *stop = st.MPI_TAG != TAG_POINT;
  return true;
}

void sweep_mpi_send_result(const sweep_result *r)
{
  MPI_Send(r, (int)sizeof *r, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
}
