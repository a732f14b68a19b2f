#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Integration checks of `fpentropy sweep` (run by ctest, label integration).

  check_sweep.py --fpentropy BIN parallel CASE   --jobs 2 table == --jobs 1 table byte for
                                                 byte; rows == the points' own runs
  check_sweep.py --fpentropy BIN resume CASE     kill -9 halfway, then SIGINT halfway:
                                                 reruns run only the rest, same table
  check_sweep.py --fpentropy BIN failing CASE    a failing and an invalid point are
                                                 reported and the others finish
  check_sweep.py --fpentropy BIN mpi CASE --mpiexec MPIEXEC
                                                 2-rank table == single-process table
                                                 (exit 77, skipped, without MPIEXEC)
"""
import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

failures = []
SKIP = 77
# A cheap 1D case at four resolutions: 41 output rows per point.
GRID = ["--grid", "domain.cells=50,100,150,200"]
FAST = ["--set", "output.snapshots=0"]


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def sweep(exe, case, out, *args, env=None):
    cmd = [exe, "sweep", case, "-o", out, *FAST, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return p.returncode, p.stdout, p.stderr


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def manifest(out):
    return json.loads(read(os.path.join(out, "sweep.json")))


def table_rows(path):
    with open(path) as f:
        return list(csv.reader(line for line in f if not line.startswith("#")))


def reference(exe, case, tmp):
    """The serial sweep everything else is compared with."""
    out = os.path.join(tmp, "serial")
    rc, so, se = sweep(exe, case, out, *GRID, "--jobs", "1")
    check(rc == 0, f"serial sweep exits 0 (got {rc}: {se.strip()})")
    return out


def cmd_parallel(exe, case, tmp):
    ser = reference(exe, case, tmp)
    par = os.path.join(tmp, "parallel")
    rc, so, se = sweep(exe, case, par, *GRID, "--jobs", "2")
    check(rc == 0, f"--jobs 2 sweep exits 0 (got {rc})")
    a, b = read(os.path.join(ser, "sweep.csv"), "rb"), read(os.path.join(par, "sweep.csv"), "rb")
    check(a == b, f"--jobs 2 and --jobs 1 tables are byte-identical ({len(a)} bytes)")
    rows = table_rows(os.path.join(ser, "sweep.csv"))
    header, data = rows[0], rows[1:]
    check(header[:2] == ["point", "domain.cells"], f"parameters come first: {header[:3]}")
    check(len(data) == 4 * 41, f"one row per point and output time: {len(data)} == 4 x 41")
    # Independent: a plain `fpentropy run` of one point gives the same rows, field by field.
    own = os.path.join(tmp, "own100")
    p = subprocess.run([exe, "run", case, "-o", own, "-q", "--set", "output.snapshots=0",
                        "--set", "domain.cells=100"], capture_output=True, text=True)
    check(p.returncode == 0, "a plain run of the point cells=100 succeeds")
    plain = table_rows(os.path.join(own, "balance.csv"))
    mine = [r[2:] for r in data if r[0] == "cells=100"]
    check(plain[0] == header[2:], "the table's columns are balance.csv's columns")
    check(mine == plain[1:], f"the rows of cells=100 equal its plain run ({len(mine)} rows)")
    check(all(r[1] == r[0].split("=")[1] for r in data), "the parameter column holds the point's value")
    m = manifest(par)
    check([pt["status"] for pt in m["points"]] == ["done"] * 4, "the manifest says done 4 times")
    check(len(m["case_hash"]) == 16 and m["command"] == "run", "the manifest has a case hash and command")


def start(exe, case, out, args):
    return subprocess.Popen([exe, "sweep", case, "-o", out, *FAST, *args, "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_done(out, n, proc, limit=120):
    """Wait until the manifest says at least n points are done."""
    t0 = time.time()
    while time.time() - t0 < limit and proc.poll() is None:
        try:
            if sum(pt["status"] == "done" for pt in manifest(out)["points"]) >= n:
                return True
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    return False


def stamps(out, names):
    st = {}
    for n in names:
        s = os.stat(os.path.join(out, n, "balance.csv"))
        st[n] = (s.st_ino, s.st_mtime_ns)
    return st


def cmd_resume(exe, case, tmp):
    # Points slow enough to stop a sweep between them: 8 points of ~0.1-0.5 s.
    grid = ["--grid", "domain.cells=400,800,1200,1600", "--grid", "constants.k=1,2",
            "--set", "time.rtol=1e-10", "--set", "time.atol=1e-16", "--jobs", "1"]
    ref = os.path.join(tmp, "ref")
    p = subprocess.run([exe, "sweep", case, "-o", ref, *FAST, *grid, "-q"], capture_output=True, text=True)
    check(p.returncode == 0, f"uninterrupted sweep exits 0 ({p.stderr.strip()})")
    expect = read(os.path.join(ref, "sweep.csv"), "rb")

    for how in ("kill", "sigint"):
        out = os.path.join(tmp, how)
        proc = start(exe, case, out, grid)
        reached = wait_done(out, 3, proc)
        check(reached, f"{how}: the sweep got 3 points done")
        if how == "kill":
            proc.kill()                      # the parent dies at once; its points are told,
            proc.wait()                      # and the rerun waits for them (directory lock)
        else:
            proc.send_signal(signal.SIGINT)  # finishes cleanly: manifest and table of the done
            _, err = proc.communicate(timeout=120)
            check(proc.returncode == 130, f"sigint: exit status 130 (got {proc.returncode})")
            part = table_rows(os.path.join(out, "sweep.csv"))
            ndone = sum(pt["status"] == "done" for pt in manifest(out)["points"])
            check(len(part) - 1 == ndone * 41,
                  f"sigint: the table holds the {ndone} done points ({len(part) - 1} rows)")
        m = manifest(out)
        done = [pt["name"] for pt in m["points"] if pt["status"] == "done"]
        check(3 <= len(done) < 8, f"{how}: {len(done)} of 8 points done before the stop")
        before = stamps(out, done)
        p = subprocess.run([exe, "sweep", case, "-o", out, *FAST, *grid], capture_output=True, text=True)
        check(p.returncode == 0, f"{how}: the rerun exits 0 ({p.stderr.strip()})")
        ran = [ln.split()[1] for ln in p.stdout.splitlines() if ln.startswith("done ")]
        check(sorted(ran) == sorted(set(pt["name"] for pt in m["points"]) - set(done)),
              f"{how}: the rerun ran exactly the {8 - len(done)} points not done ({ran})")
        check(f"{len(done)} done earlier" in p.stdout, f"{how}: the rerun says {len(done)} done earlier")
        check(stamps(out, done) == before, f"{how}: the done points' files were not touched")
        check(read(os.path.join(out, "sweep.csv"), "rb") == expect,
              f"{how}: the resumed table equals the uninterrupted one byte for byte")
    # A third invocation runs nothing; another fixed argument is refused without --restart.
    out = os.path.join(tmp, "kill")
    p = subprocess.run([exe, "sweep", case, "-o", out, *FAST, *grid], capture_output=True, text=True)
    check(p.returncode == 0 and "8 done earlier, 0 to run" in p.stdout, "a finished sweep runs nothing")
    p = subprocess.run([exe, "sweep", case, "-o", out, *FAST, *grid, "--set", "time.end=1"],
                       capture_output=True, text=True)
    check(p.returncode == 2 and "--restart" in p.stderr,
          f"other fixed arguments are refused (exit {p.returncode}): {p.stderr.strip()}")


def cmd_failing(exe, case, tmp):
    out = os.path.join(tmp, "failing")
    # CVODE (the exponential integrator never meets max_steps = 3)
    args = ["--grid", "domain.cells=0,50,100", "--grid", "time.max_steps=3,5000", "--jobs", "2",
            "--set", "time.integrator=cvode"]
    rc, so, se = sweep(exe, case, out, *args)
    check(rc == 1, f"a sweep with failing points exits 1 (got {rc})")
    m = {pt["name"]: pt for pt in manifest(out)["points"]}
    check(len(m) == 6, "6 points in the manifest")
    for n in ("cells=50_max_steps=5000", "cells=100_max_steps=5000"):
        check(m[n]["status"] == "done", f"{n} is done despite the failures")
    for n in ("cells=50_max_steps=3", "cells=100_max_steps=3"):
        check(m[n]["status"] == "failed" and m[n]["exit_code"] == 1
              and "CV_TOO_MUCH_WORK" in m[n]["error"],
              f"{n} failed with the solver's message: {m[n]['error'][:90]}")
        check(f"point {n} failed" in se, f"{n} is reported on stderr")
    for n in ("cells=0_max_steps=3", "cells=0_max_steps=5000"):
        check(m[n]["status"] == "failed" and m[n]["exit_code"] == 2
              and "[domain] cells" in m[n]["error"], f"{n} is invalid: {m[n]['error'][:80]}")
    rows = table_rows(os.path.join(out, "sweep.csv"))[1:]
    check(sorted(set(r[0] for r in rows)) == ["cells=100_max_steps=5000", "cells=50_max_steps=5000"]
          and len(rows) == 2 * 41, f"the table holds the two done points only ({len(rows)} rows)")
    # A rerun tries the failed points again and skips the done ones.
    rc, so, se = sweep(exe, case, out, *args)
    check(rc == 1 and "2 done earlier, 2 to run" in so, f"the rerun retries the failed points: {so.splitlines()[0]}")


def cmd_mpi(exe, case, tmp, mpiexec):
    if not mpiexec:
        print("SKIP: built without MPI (FP_MPI off)")
        sys.exit(SKIP)
    ser = reference(exe, case, tmp)
    out = os.path.join(tmp, "mpi")
    # Open MPI keeps what MPI_Init allocates until exit: in a -DFP_SANITIZE=ON build LeakSanitizer
    # would fail every rank for it (the other sweep tests keep leak detection on).
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1",
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
    # --jobs 2: every rank runs two points at once (rank 1 as an MPI worker with two slots)
    cmd = [mpiexec, "--oversubscribe", "-n", "2", exe, "sweep", case, "-o", out, *FAST, *GRID,
           "--jobs", "2"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    check(p.returncode == 0, f"mpirun -n 2 sweep exits 0 (got {p.returncode}: {p.stderr.strip()[-300:]})")
    check("1 MPI worker ranks with 2 jobs each" in p.stdout, "rank 0 knows its worker and its jobs")
    ranks = sorted(set(ln.split("rank ")[-1].rstrip(")") for ln in p.stdout.splitlines()
                       if ln.startswith("done ")))
    check("1" in ranks, f"rank 1 ran points (ranks that ran: {ranks})")
    a, b = read(os.path.join(ser, "sweep.csv"), "rb"), read(os.path.join(out, "sweep.csv"), "rb")
    check(a == b, f"the 2-rank table equals the single-process table byte for byte ({len(b)} bytes)")
    # A point failing on a worker rank comes back with its error; the others finish.
    out = os.path.join(tmp, "mpi_failing")
    cmd = [mpiexec, "--oversubscribe", "-n", "2", exe, "sweep", case, "-o", out, *FAST,
           "--grid", "domain.cells=50,100", "--grid", "time.max_steps=3,5000", "--jobs", "0",
           "--set", "time.integrator=cvode"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    m = {pt["name"]: pt for pt in manifest(out)["points"]}
    check(p.returncode == 1, f"mpirun sweep with failing points exits 1 (got {p.returncode})")
    check(all(m[f"cells={n}_max_steps=3"]["status"] == "failed"
              and "CV_TOO_MUCH_WORK" in m[f"cells={n}_max_steps=3"]["error"] for n in (50, 100)),
          "the failing points (run by rank 1: --jobs 0 keeps rank 0 to the books) carry the error")
    check(all(m[f"cells={n}_max_steps=5000"]["status"] == "done" for n in (50, 100)),
          "the other points are done")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fpentropy", required=True)
    ap.add_argument("--mpiexec", default="")
    ap.add_argument("what", choices=["parallel", "resume", "failing", "mpi"])
    ap.add_argument("case")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fp_sweep_")
    try:
        if a.what == "mpi":
            cmd_mpi(a.fpentropy, a.case, tmp, a.mpiexec)
        else:
            {"parallel": cmd_parallel, "resume": cmd_resume, "failing": cmd_failing}[a.what](
                a.fpentropy, a.case, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
