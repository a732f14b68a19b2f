/* fpentropy CLI: sweep (many runs of one case from one command, resumable, local jobs or MPI ranks).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every point runs as its own process: this binary (/proc/self/exe) with the
 * point's command, the case, -o DIR/<point> and the --set overrides of the
 * sweep and of the point, its stdout and stderr in DIR/<point>/log.txt.  A
 * process per point isolates failures (a crash or an abort of one point does
 * not take the others down) and needs no thread safety of the library.
 * The parent (rank 0 under MPI) is the only writer of sweep.json, which it
 * rewrites atomically after every finished point: a sweep killed at any
 * moment resumes from it. */
#define _GNU_SOURCE
#include "cli.h"
#include "sweep_mpi.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct sweep_opts {
  const char *case_path;
  const char *output_dir;
  const char *command;
  const char *table;
  const char *grids[FP_SWEEP_MAX_AXES];
  size_t ngrids;
  const char *sets[CLI_MAX_REPEAT];
  size_t nsets;
  char **extra; /* arguments after "--", passed to every point's command */
  int nextra;
  long jobs;    /* -1: default */
  bool zip, quiet, progress, restart, list;
} sweep_opts;

/* The commands a sweep can run and the table it gathers from each point. */
static const struct {
  const char *command, *table;
} commands[] = {{"run", "balance.csv"},
                {"verify", "balance.csv"},
                {"compare", "compare_summary.csv"},
                {"policy", "policy_summary.csv"}};

static void usage(FILE *f)
{
  fprintf(f,
          "Usage: fpentropy sweep CASE.ini --grid KEY=VALUES [--grid ...] [options] [-- ARGS]\n"
          "\n"
          "Run CASE at every point of a grid of case-key values, each point in its own\n"
          "directory DIR/<point>, and gather one table DIR/sweep.csv (one row per point and\n"
          "row of the point's table) and a manifest DIR/sweep.json (status of every point).\n"
          "A second invocation with the same case and arguments runs only the points that\n"
          "did not finish; a failing point is reported and does not stop the others.\n"
          "\n"
          "  -g, --grid KEY=V1,V2,...          a swept key and its values (repeatable)\n"
          "      --grid KEY=start:stop:num     num evenly spaced values, ends included\n"
          "      --grid KEY=log:start:stop:num num values evenly spaced in log\n"
          "      --zip              point k takes value k of every --grid (same lengths)\n"
          "                         instead of the Cartesian product\n"
          "  -c, --command CMD      run (default), verify, compare or policy\n"
          "  -j, --jobs N           points run at once (default: the cores; under MPI\n"
          "                         per rank, default 1; --jobs 0: rank 0 only coordinates)\n"
          "  -o, --output DIR       sweep directory (default: the case's output\n"
          "                         directory + /sweep)\n"
          "  -s, --set SEC.KEY=VAL  override a case key at every point (repeatable)\n"
          "      --table FILE       the file of each point to gather (default: balance.csv,\n"
          "                         compare_summary.csv or policy_summary.csv)\n"
          "      --restart          ignore an earlier manifest and run every point\n"
          "      --list             print the points and their overrides; run nothing\n"
          "  -q, --quiet            no progress or per-point lines\n"
          "      --progress         progress line even when stderr is not a terminal\n"
          "  -h, --help             this help\n"
          "  -- ARGS                passed to every point's command (e.g. -- --cost 0.5)\n"
          "\n"
          "Under mpirun -n P (an FP_MPI build), rank 0 hands points to the other ranks as\n"
          "they become free and gathers the table; DIR must be visible to all ranks.\n"
          "Exit status: 0 every point done, 1 some point failed, 2 bad usage or case,\n"
          "130 interrupted (the manifest and the table of the finished points are kept).\n"
          "Details: docs/sweeps.md.\n");
}

static int parse(int argc, char **argv, sweep_opts *o)
{
  memset(o, 0, sizeof *o);
  o->command = "run";
  o->jobs = -1;
  o->progress = isatty(STDERR_FILENO);
  /* everything after "--" belongs to the points' command */
  int nopt = argc;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--") == 0) {
      nopt = i;
      o->extra = argv + i + 1;
      o->nextra = argc - i - 1;
      break;
    }
  enum { OPT_ZIP = 256, OPT_TABLE, OPT_RESTART, OPT_LIST, OPT_PROGRESS };
  static const struct option longopts[] = {
      {"grid", required_argument, NULL, 'g'},   {"zip", no_argument, NULL, OPT_ZIP},
      {"command", required_argument, NULL, 'c'}, {"jobs", required_argument, NULL, 'j'},
      {"output", required_argument, NULL, 'o'}, {"set", required_argument, NULL, 's'},
      {"table", required_argument, NULL, OPT_TABLE}, {"restart", no_argument, NULL, OPT_RESTART},
      {"list", no_argument, NULL, OPT_LIST},     {"quiet", no_argument, NULL, 'q'},
      {"progress", no_argument, NULL, OPT_PROGRESS}, {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  optind = 1;
  opterr = 0;
  int ch;
  size_t jobs;
  while ((ch = getopt_long(nopt, argv, ":g:c:j:o:s:qh", longopts, NULL)) != -1) {
    switch (ch) {
    case 'g':
      if (o->ngrids == FP_SWEEP_MAX_AXES) {
        fprintf(stderr, "fpentropy sweep: at most %d --grid options\n", FP_SWEEP_MAX_AXES);
        return EXIT_USAGE;
      }
      o->grids[o->ngrids++] = optarg;
      break;
    case 's':
      if (o->nsets == CLI_MAX_REPEAT) {
        fprintf(stderr, "fpentropy sweep: more than %d --set options\n", CLI_MAX_REPEAT);
        return EXIT_USAGE;
      }
      o->sets[o->nsets++] = optarg;
      break;
    case 'c': o->command = optarg; break;
    case 'o': o->output_dir = optarg; break;
    case 'j':
      if (!cli_parse_size("jobs", optarg, &jobs)) return EXIT_USAGE;
      o->jobs = (long)(jobs > 4096 ? 4096 : jobs);
      break;
    case OPT_ZIP: o->zip = true; break;
    case OPT_TABLE: o->table = optarg; break;
    case OPT_RESTART: o->restart = true; break;
    case OPT_LIST: o->list = true; break;
    case OPT_PROGRESS: o->progress = true; break;
    case 'q': o->quiet = true; break;
    case 'h': usage(stdout); exit(EXIT_OK);
    case ':':
      fprintf(stderr, "fpentropy sweep: option %s needs a value\n", argv[optind - 1]);
      return EXIT_USAGE;
    default:
      fprintf(stderr, "fpentropy sweep: unknown option '%s' (see fpentropy sweep --help)\n",
              argv[optind - 1]);
      return EXIT_USAGE;
    }
  }
  if (optind < nopt) o->case_path = argv[optind++];
  if (optind < nopt) {
    fprintf(stderr, "fpentropy sweep: unexpected argument '%s' (options for the points' command go "
                    "after --)\n", argv[optind]);
    return EXIT_USAGE;
  }
  if (!o->case_path) {
    fprintf(stderr, "fpentropy sweep: missing CASE file (see fpentropy sweep --help)\n");
    return EXIT_USAGE;
  }
  if (o->ngrids == 0) {
    fprintf(stderr, "fpentropy sweep: at least one --grid KEY=VALUES is needed\n");
    return EXIT_USAGE;
  }
  bool known = false;
  for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
    if (strcmp(o->command, commands[k].command) == 0) {
      known = true;
      if (!o->table) o->table = commands[k].table;
    }
  if (!known) {
    fprintf(stderr, "fpentropy sweep: --command: expected run, verify, compare or policy, got '%s'\n",
            o->command);
    return EXIT_USAGE;
  }
  if (strchr(o->table, '/') || !o->table[0]) {
    fprintf(stderr, "fpentropy sweep: --table: a file name in the point's directory, got '%s'\n",
            o->table);
    return EXIT_USAGE;
  }
  if (o->quiet) o->progress = false;
  return EXIT_OK;
}

/* ----------------------------------------------------------------------- */
/* Running one point                                                        */
/* ----------------------------------------------------------------------- */

typedef struct sweep_ctx {
  const sweep_opts *o;
  fp_sweep_plan *plan;
  const char *dir;
  char exe[PATH_MAX];
  pid_t parent;
  int lock; /* the directory's lock file, -1 if none */
} sweep_ctx;

static double now_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* SIGCHLD only has to cut a nap short, so that a finished point is seen at
 * once rather than at the end of the nap. */
static void on_child(int sig) { (void)sig; }

static void wake_on_child(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_child;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_NOCLDSTOP; /* no SA_RESTART: nanosleep returns with EINTR */
  sigaction(SIGCHLD, &sa, NULL);
}

static void nap(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static char *point_path(const sweep_ctx *s, size_t i, const char *file)
{
  const char *name = s->plan->points[i].name;
  size_t n = strlen(s->dir) + strlen(name) + (file ? strlen(file) : 0) + 3;
  char *p = malloc(n);
  if (p) snprintf(p, n, file ? "%s/%s/%s" : "%s/%s", s->dir, name, file ? file : "");
  return p;
}

/* Start point i: returns the child's pid, or -1 with a message in r. */
static pid_t spawn_point(const sweep_ctx *s, size_t i, sweep_result *r)
{
  const sweep_opts *o = s->o;
  const fp_sweep_plan *plan = s->plan;
  char *pdir = point_path(s, i, NULL);
  char *log = point_path(s, i, "log.txt");
  size_t nargs = 6 + 2 * (o->nsets + plan->naxes) + (size_t)o->nextra + 1;
  char **argv = calloc(nargs, sizeof *argv);
  fp_error err;
  fp_error_clear(&err);
  pid_t pid = -1;
  int fd = -1;
  if (!pdir || !log || !argv) {
    snprintf(r->error, sizeof r->error, "out of memory");
    goto done;
  }
  if (fp_output_mkdir(pdir, &err) != FP_OK) {
    snprintf(r->error, sizeof r->error, "%s", err.message);
    goto done;
  }
  size_t n = 0;
  argv[n++] = (char *)s->exe;
  argv[n++] = (char *)o->command;
  argv[n++] = (char *)o->case_path;
  argv[n++] = "-o";
  argv[n++] = pdir;
  for (size_t k = 0; k < o->nsets; k++) argv[n++] = "--set", argv[n++] = (char *)o->sets[k];
  for (size_t a = 0; a < plan->naxes; a++)
    argv[n++] = "--set", argv[n++] = plan->points[i].overrides[a];
  for (int k = 0; k < o->nextra; k++) argv[n++] = o->extra[k];
  argv[n] = NULL;
  fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    snprintf(r->error, sizeof r->error, "cannot create %s: %s", log, strerror(errno));
    goto done;
  }
  /* the command line first, so that a point can be rerun by hand */
  FILE *f = fdopen(dup(fd), "w");
  if (f) {
    fputs("# fpentropy", f);
    for (size_t k = 1; k < n; k++) fprintf(f, " '%s'", argv[k]);
    fputc('\n', f);
    fclose(f);
  }
  lseek(fd, 0, SEEK_END);
  fflush(NULL);
  pid = fork();
  if (pid == 0) {
    /* Its own process group: a terminal's Ctrl-C reaches the sweep only,
     * which then asks each point once to stop (a second signal would kill
     * the point at once).  If the sweep dies, its points are told too. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != s->parent) _exit(EXIT_INTERRUPTED);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    /* the point is a plain run, not a member of the MPI job */
    unsetenv("OMPI_COMM_WORLD_SIZE");
    unsetenv("PMI_SIZE");
    unsetenv("PMI_RANK");
    unsetenv("PMIX_RANK");
    execv(s->exe, argv);
    fprintf(stderr, "fpentropy sweep: cannot start %s: %s\n", s->exe, strerror(errno));
    _exit(127);
  }
  if (pid < 0) snprintf(r->error, sizeof r->error, "fork: %s", strerror(errno));
done:
  if (fd >= 0) close(fd);
  free(argv);
  free(pdir);
  free(log);
  return pid;
}

/* The point's error message from its log: the first line the command
 * printed as "fpentropy...: message" (later lines are consequences, such as
 * where partial rows were kept), else the last non-empty line. */
static void log_message(const sweep_ctx *s, size_t i, char *out, size_t size)
{
  out[0] = '\0';
  char *log = point_path(s, i, "log.txt");
  FILE *f = log ? fopen(log, "r") : NULL;
  free(log);
  if (!f) return;
  char line[1024];
  bool first = false;
  while (fgets(line, sizeof line, f)) {
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = '\0';
    if (!len || line[0] == '\r' || first) continue;
    snprintf(out, size, "%s", line);
    first = strncmp(line, "fpentropy", 9) == 0;
  }
  fclose(f);
}

/* The result of point i from its wait status. */
static void classify(const sweep_ctx *s, size_t i, int wstatus, double seconds, sweep_result *r)
{
  r->seconds = seconds;
  r->error[0] = '\0';
  r->exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  if (r->exit_code == 0) {
    char *table = point_path(s, i, s->o->table);
    struct stat st;
    bool there = table && stat(table, &st) == 0;
    free(table);
    r->status = there ? FP_SWEEP_DONE : FP_SWEEP_FAILED;
    if (!there) snprintf(r->error, sizeof r->error, "finished but wrote no %s", s->o->table);
    return;
  }
  bool interrupted = r->exit_code == EXIT_INTERRUPTED ||
                     (WIFSIGNALED(wstatus) && (WTERMSIG(wstatus) == SIGINT || WTERMSIG(wstatus) == SIGTERM));
  r->status = interrupted ? FP_SWEEP_INTERRUPTED : FP_SWEEP_FAILED;
  char line[900];
  log_message(s, i, line, sizeof line);
  if (WIFSIGNALED(wstatus))
    snprintf(r->error, sizeof r->error, "killed by signal %d%s%s", WTERMSIG(wstatus), line[0] ? "; " : "", line);
  else
    snprintf(r->error, sizeof r->error, "exit status %d: %s", r->exit_code, line[0] ? line : "(no message)");
}

/* A local job slot. */
typedef struct slot {
  pid_t pid; /* 0: free */
  size_t point;
  double t0;
  bool asked_to_stop;
} slot;

/* Points each rank runs at once: --jobs; by default the cores without MPI
 * and 1 under MPI (one rank per core).  Workers run at least one. */
static long rank_jobs(const sweep_opts *o, int rank, int nranks)
{
  long jobs = o->jobs >= 0 ? o->jobs : (nranks > 1 ? 1 : sysconf(_SC_NPROCESSORS_ONLN));
  if (jobs < 1 && (rank > 0 || nranks < 2)) jobs = 1;
  return jobs;
}

/* Workers under MPI: run up to `jobs` of the points rank 0 sends at once,
 * report each as it ends, until rank 0 says stop and the last has ended. */
static void worker_loop(const sweep_ctx *s, long jobs)
{
  wake_on_child();
  slot *slots = calloc((size_t)jobs, sizeof *slots);
  if (!slots) return;
  bool stopped = false;
  long running = 0;
  while (!stopped || running > 0) {
    bool any = false;
    size_t i;
    bool stop;
    while (!stopped && running < jobs && sweep_mpi_poll_point(&i, &stop)) {
      any = true;
      if (stop) {
        stopped = true;
        break;
      }
      sweep_result r = {0};
      r.point = i;
      pid_t pid = i < s->plan->npoints ? spawn_point(s, i, &r) : -1;
      if (pid < 0) {
        r.status = FP_SWEEP_FAILED;
        r.exit_code = -1;
        if (!r.error[0]) snprintf(r.error, sizeof r.error, "no point %zu", i);
        sweep_mpi_send_result(&r);
        continue;
      }
      for (long k = 0; k < jobs; k++)
        if (!slots[k].pid) {
          slots[k] = (slot){pid, i, now_seconds(), false};
          running++;
          break;
        }
    }
    for (long k = 0; k < jobs; k++) {
      if (slots[k].pid <= 0) continue;
      if (cli_interrupted && !slots[k].asked_to_stop) {
        kill(slots[k].pid, SIGINT);
        slots[k].asked_to_stop = true;
      }
      int ws;
      if (waitpid(slots[k].pid, &ws, WNOHANG) != slots[k].pid) continue;
      sweep_result r = {0};
      classify(s, slots[k].point, ws, now_seconds() - slots[k].t0, &r);
      r.point = slots[k].point;
      sweep_mpi_send_result(&r);
      slots[k].pid = 0;
      running--;
      any = true;
    }
    if (!any) nap(20);
  }
  free(slots);
}

/* ----------------------------------------------------------------------- */
/* Rank 0: bookkeeping                                                      */
/* ----------------------------------------------------------------------- */

typedef struct tally {
  size_t done, skipped, failed, interrupted, pending, running;
} tally;

static int save_manifest(const sweep_ctx *s, const fp_sweep_meta *meta)
{
  char *path = NULL;
  fp_error err;
  fp_error_clear(&err);
  int rc = fp_output_join(s->dir, "sweep.json", &path, &err);
  if (rc == FP_OK) rc = fp_sweep_manifest_write(path, s->plan, meta, &err);
  if (rc != FP_OK) fprintf(stderr, "fpentropy sweep: %s\n", err.message);
  free(path);
  return rc;
}

static void show_progress(const sweep_ctx *s, const tally *t, double t0, bool *shown)
{
  if (!s->o->progress) return;
  fprintf(stderr, "\rsweep: %zu/%zu done, %zu failed, %zu running, %.0f s   ", t->done,
          s->plan->npoints, t->failed, t->running, now_seconds() - t0);
  fflush(stderr);
  *shown = true;
}

static void clear_progress(bool *shown)
{
  if (!*shown) return;
  fprintf(stderr, "\r%70s\r", "");
  *shown = false;
}

/* rank: the MPI rank that ran the point, -1 without MPI. */
static void record(sweep_ctx *s, size_t i, const sweep_result *r, int rank, tally *t, bool *shown)
{
  fp_sweep_point *pt = &s->plan->points[i];
  fp_sweep_point_finish(pt, (fp_sweep_status)r->status, r->exit_code, r->seconds, r->error, NULL);
  t->running--;
  if (r->status == FP_SWEEP_DONE) t->done++;
  else if (r->status == FP_SWEEP_FAILED) t->failed++;
  else t->interrupted++;
  clear_progress(shown);
  if (r->status == FP_SWEEP_FAILED)
    fprintf(stderr, "fpentropy sweep: point %s failed: %s\n", pt->name, r->error);
  else if (!s->o->quiet)
    printf(rank >= 0 ? "%-11s %s (%.2f s, rank %d)\n" : "%-11s %s (%.2f s)\n",
           fp_sweep_status_name((fp_sweep_status)r->status), pt->name, r->seconds, rank);
  fflush(stdout);
}

/* The case hash: the case file, the command and every argument that is the
 * same at all points (so a rerun with other fixed settings starts afresh). */
static int case_hash(const sweep_opts *o, char out[17])
{
  uint64_t h = FP_SWEEP_HASH_INIT;
  fp_error err;
  fp_error_clear(&err);
  if (fp_sweep_hash_file(o->case_path, &h, &err) != FP_OK) {
    fprintf(stderr, "fpentropy sweep: %s\n", err.message);
    return EXIT_USAGE;
  }
  h = fp_sweep_hash(h, o->command, strlen(o->command) + 1);
  for (size_t k = 0; k < o->nsets; k++) h = fp_sweep_hash(h, o->sets[k], strlen(o->sets[k]) + 1);
  h = fp_sweep_hash(h, "--", 3);
  for (int k = 0; k < o->nextra; k++) h = fp_sweep_hash(h, o->extra[k], strlen(o->extra[k]) + 1);
  snprintf(out, 17, "%016" PRIx64, h);
  return EXIT_OK;
}

/* Validate every point's case before anything runs: a point whose case does
 * not load is failed with the loader's message.  Returns the number of
 * points that validate. */
static size_t validate_points(const sweep_ctx *s, const size_t *todo, size_t ntodo)
{
  const sweep_opts *o = s->o;
  size_t good = 0;
  const char **ov = calloc(o->nsets + s->plan->naxes + 1, sizeof *ov);
  if (!ov) return 0;
  for (size_t q = 0; q < ntodo; q++) {
    size_t i = todo[q];
    size_t n = 0;
    for (size_t k = 0; k < o->nsets; k++) ov[n++] = o->sets[k];
    for (size_t a = 0; a < s->plan->naxes; a++) ov[n++] = s->plan->points[i].overrides[a];
    fp_case *c = NULL;
    fp_error err;
    fp_error_clear(&err);
    if (fp_case_load(o->case_path, ov, n, &c, &err) == FP_OK) {
      good++;
    } else {
      fp_sweep_point_finish(&s->plan->points[i], FP_SWEEP_FAILED, EXIT_USAGE, 0.0, err.message, NULL);
    }
    fp_case_destroy(&c);
  }
  free(ov);
  return good;
}

static int master(sweep_ctx *s, int nranks)
{
  const sweep_opts *o = s->o;
  fp_sweep_plan *plan = s->plan;
  fp_error err;
  fp_error_clear(&err);
  char hash[17];
  int rc = case_hash(o, hash);
  if (rc != EXIT_OK) return rc;
  fp_sweep_meta meta = {.case_path = (char *)o->case_path, .command = (char *)o->command,
                        .case_hash = hash, .version = FP_VERSION};
  if (fp_output_mkdir(s->dir, &err) != FP_OK) {
    fprintf(stderr, "fpentropy sweep: %s\n", err.message);
    return EXIT_FAILED;
  }
  /* One sweep at a time in a directory.  The points inherit the lock's file
   * (no O_CLOEXEC), so it stays held until the last of them has ended, even
   * when this process is killed: a rerun then waits for an orphaned point to
   * stop instead of writing into its directory at the same time. */
  char *lpath = NULL;
  if (fp_output_join(s->dir, ".sweep.lock", &lpath, &err) != FP_OK) return EXIT_FAILED;
  int lock = open(lpath, O_RDWR | O_CREAT, 0666);
  free(lpath);
  for (int tries = 0; lock < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0; tries++) {
    if (lock < 0 || errno != EWOULDBLOCK || tries == 300 || cli_interrupted) {
      fprintf(stderr, "fpentropy sweep: another sweep (or a point of a sweep that was killed) is still "
                      "running in %s\n", s->dir);
      if (lock >= 0) close(lock);
      return EXIT_USAGE;
    }
    if (tries == 0 && !o->quiet)
      fprintf(stderr, "fpentropy sweep: waiting for the running points of an earlier sweep in %s\n", s->dir);
    nap(100);
  }
  s->lock = lock;
  /* resume: the statuses of an earlier sweep of the same case and arguments */
  char *mpath = NULL;
  if (fp_output_join(s->dir, "sweep.json", &mpath, &err) != FP_OK) return EXIT_FAILED;
  struct stat st;
  if (!o->restart && stat(mpath, &st) == 0) {
    fp_sweep_manifest *m = NULL;
    if (fp_sweep_manifest_read(mpath, &m, &err) != FP_OK) {
      fprintf(stderr, "fpentropy sweep: %s (use --restart to start the sweep afresh)\n", err.message);
      free(mpath);
      return EXIT_USAGE;
    }
    if (strcmp(m->meta.case_hash, hash) != 0) {
      fprintf(stderr,
              "fpentropy sweep: %s holds a sweep of another case file, command or fixed arguments "
              "(case hash %s, now %s); use --restart to run every point anew, or another -o\n",
              s->dir, m->meta.case_hash, hash);
      fp_sweep_manifest_destroy(&m);
      free(mpath);
      return EXIT_USAGE;
    }
    fp_sweep_manifest_apply(m, plan);
    fp_sweep_manifest_destroy(&m);
  }
  free(mpath);

  /* what is left to do: points not done, or done but without their table */
  tally t = {0};
  size_t *todo = malloc(plan->npoints * sizeof *todo), ntodo = 0;
  if (!todo) return EXIT_FAILED;
  for (size_t i = 0; i < plan->npoints; i++) {
    fp_sweep_point *pt = &plan->points[i];
    if (pt->status == FP_SWEEP_DONE) {
      char *table = point_path(s, i, o->table);
      bool there = table && stat(table, &st) == 0;
      free(table);
      if (there) {
        t.skipped++;
        t.done++;
        continue;
      }
    }
    fp_sweep_point_finish(pt, FP_SWEEP_PENDING, -1, 0.0, NULL, NULL);
    todo[ntodo++] = i;
  }
  size_t valid = validate_points(s, todo, ntodo);
  if (ntodo > 0 && valid == 0) {
    fprintf(stderr, "fpentropy sweep: no point's case is valid; the first says: %s\n",
            plan->points[todo[0]].error);
    free(todo);
    return EXIT_USAGE;
  }
  size_t ready = 0; /* compact todo to the valid points */
  for (size_t q = 0; q < ntodo; q++) {
    fp_sweep_point *pt = &plan->points[todo[q]];
    if (pt->status == FP_SWEEP_PENDING)
      todo[ready++] = todo[q];
    else {
      t.failed++;
      fprintf(stderr, "fpentropy sweep: point %s failed: %s\n", pt->name, pt->error);
    }
  }
  ntodo = ready;
  if (save_manifest(s, &meta) != FP_OK) {
    free(todo);
    return EXIT_FAILED;
  }
  long jobs = rank_jobs(o, 0, nranks), wjobs = rank_jobs(o, 1, nranks);
  if (!o->quiet)
    printf("sweep: %zu points (%zu done earlier, %zu to run) with %ld local job%s%s, in %s/\n",
           plan->npoints, t.skipped, ntodo, jobs, jobs == 1 ? "" : "s",
           nranks > 1 ? " and MPI workers" : "", s->dir);
  if (!o->quiet && nranks > 1)
    printf("sweep: %d MPI worker ranks with %ld job%s each\n", nranks - 1, wjobs, wjobs == 1 ? "" : "s");
  fflush(stdout);

  slot *slots = calloc((size_t)(jobs > 0 ? jobs : 1), sizeof *slots);
  long *busy = calloc((size_t)nranks, sizeof *busy); /* points each worker is running */
  if (!slots || !busy) {
    free(slots), free(busy), free(todo);
    return EXIT_FAILED;
  }
  wake_on_child();
  double t0 = now_seconds();
  bool shown = false;
  size_t next = 0;
  double last_shown = 0;
  for (;;) {
    bool stop = cli_interrupted != 0;
    if (stop)
      for (long k = 0; k < jobs; k++)
        if (slots[k].pid > 0 && !slots[k].asked_to_stop) {
          kill(slots[k].pid, SIGINT);
          slots[k].asked_to_stop = true;
        }
    for (long k = 0; k < jobs && !stop && next < ntodo; k++) {
      if (slots[k].pid) continue;
      sweep_result r = {0};
      size_t i = todo[next++];
      pid_t pid = spawn_point(s, i, &r);
      t.running++;
      if (pid < 0) {
        r.status = FP_SWEEP_FAILED;
        r.exit_code = -1;
        record(s, i, &r, nranks > 1 ? 0 : -1, &t, &shown);
        save_manifest(s, &meta);
        continue;
      }
      slots[k] = (slot){pid, i, now_seconds(), false};
    }
    for (int w = 1; w < nranks && !stop && next < ntodo; w++) {
      while (busy[w] < wjobs && next < ntodo) {
        busy[w]++;
        t.running++;
        sweep_mpi_send_point(w, todo[next++]);
      }
    }
    bool any = false;
    for (long k = 0; k < jobs; k++) {
      if (slots[k].pid <= 0) continue;
      int ws;
      pid_t wp = waitpid(slots[k].pid, &ws, WNOHANG);
      if (wp != slots[k].pid) continue;
      sweep_result r;
      classify(s, slots[k].point, ws, now_seconds() - slots[k].t0, &r);
      record(s, slots[k].point, &r, nranks > 1 ? 0 : -1, &t, &shown);
      save_manifest(s, &meta);
      slots[k].pid = 0;
      any = true;
    }
    int w;
    sweep_result r;
    while (nranks > 1 && sweep_mpi_poll_result(&w, &r)) {
      if (w > 0 && w < nranks && busy[w] > 0 && r.point < plan->npoints) {
        busy[w]--;
        record(s, (size_t)r.point, &r, w, &t, &shown);
        save_manifest(s, &meta);
      }
      any = true;
    }
    if (t.running == 0 && (next >= ntodo || stop)) break;
    if (!any) {
      nap(20);
      if (now_seconds() - last_shown > 0.5) {
        show_progress(s, &t, t0, &shown);
        last_shown = now_seconds();
      }
    }
  }
  clear_progress(&shown);
  free(slots), free(busy), free(todo);

  /* points never started stay pending; the table has every done point */
  save_manifest(s, &meta);
  char *out = NULL;
  size_t rows = 0;
  /* No preamble: its sidecar would be sweep.json, the manifest, which already names the
   * case, the command and the version. */
  rc = fp_output_join(s->dir, "sweep.csv", &out, &err);
  if (rc == FP_OK) rc = fp_sweep_gather(plan, s->dir, o->table, NULL, out, &rows, &err);
  if (rc != FP_OK) fprintf(stderr, "fpentropy sweep: %s\n", err.message);
  size_t pending = plan->npoints - t.done - t.failed;
  if (!o->quiet)
    printf("sweep: %zu done (%zu earlier), %zu failed, %zu not run; %s (%zu rows), sweep.json\n", t.done,
           t.skipped, t.failed, pending, out ? out : "sweep.csv", rows);
  free(out);
  if (rc != FP_OK) return EXIT_FAILED;
  if (cli_interrupted) return EXIT_INTERRUPTED;
  return t.failed ? EXIT_FAILED : EXIT_OK;
}

int cli_sweep_main(int argc, char **argv)
{
  int rank = 0, nranks = 1;
  bool mpi = sweep_mpi_init(&argc, &argv, &rank, &nranks);
  sweep_opts o;
  int rc = parse(argc, argv, &o);
  fp_sweep_plan *plan = NULL;
  fp_case *base = NULL;
  char *dir = NULL;
  fp_error err;
  fp_error_clear(&err);
  /* Every rank does the same parsing and loading, so that all agree on the
   * plan and on whether there is anything to do. */
  if (rc == EXIT_OK && fp_sweep_plan_create(o.grids, o.ngrids, o.zip, &plan, &err) != FP_OK) {
    if (rank == 0) fprintf(stderr, "fpentropy sweep: %s\n", err.message);
    rc = EXIT_USAGE;
  }
  if (rc == EXIT_OK && fp_case_load(o.case_path, o.sets, o.nsets, &base, &err) != FP_OK) {
    if (rank == 0) fprintf(stderr, "fpentropy sweep: %s\n", err.message);
    rc = EXIT_USAGE;
  }
  if (rc == EXIT_OK && !o.output_dir && fp_output_join(base->output_dir, "sweep", &dir, &err) != FP_OK)
    rc = EXIT_FAILED;
  if (rc == EXIT_OK && o.list) {
    if (rank == 0)
      for (size_t i = 0; i < plan->npoints; i++) {
        printf("%s", plan->points[i].name);
        for (size_t a = 0; a < plan->naxes; a++) printf(" --set %s", plan->points[i].overrides[a]);
        putchar('\n');
      }
  } else if (rc == EXIT_OK) {
    sweep_ctx s = {.o = &o, .plan = plan, .dir = o.output_dir ? o.output_dir : dir, .parent = getpid()};
    ssize_t n = readlink("/proc/self/exe", s.exe, sizeof s.exe - 1);
    if (n <= 0) {
      fprintf(stderr, "fpentropy sweep: cannot find this program (/proc/self/exe): %s\n", strerror(errno));
      rc = EXIT_FAILED;
    } else {
      s.exe[n] = '\0';
      if (rank == 0) {
        s.lock = -1;
        rc = master(&s, nranks);
        if (s.lock >= 0) close(s.lock);
      }
      else
        worker_loop(&s, rank_jobs(&o, rank, nranks));
    }
    /* however rank 0 ended, its workers are waiting for a word */
    for (int w = 1; rank == 0 && w < nranks; w++) sweep_mpi_send_stop(w);
  }
  free(dir);
  fp_case_destroy(&base);
  fp_sweep_plan_destroy(&plan);
  if (mpi) sweep_mpi_finalize();
  return rank == 0 ? rc : EXIT_OK;
}
