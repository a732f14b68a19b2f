#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of `fpentropy sweep`: speed-up of --jobs 2 over --jobs 1, and the cost per point.

  1. speed-up: a 16-point sweep of ou1d_relax (domain.cells = 1000 ... 2500, rtol 1e-10,
     snapshots off; a few tenths of a second per point) run with --jobs 1 and with --jobs 2;
     speed-up = wall(--jobs 1) / wall(--jobs 2).
  2. overhead per point: 16 trivial points (20 cells, t_end 1e-3, 2 outputs, no snapshots)
     run by `fpentropy sweep --jobs 1` against the same 16 runs started one after another by
     this script (subprocess, as the validation loops did before); overhead per point =
     (wall(sweep) - wall(loop)) / 16: validating every point's case, the manifest rewritten
     after every point, the log files, and gathering sweep.csv.

Each measurement is repeated --repeat times (default 3) and the fastest kept; the CPU seconds
(user + system of the sweep and its points) of that run are reported with it, and CPU / wall of
the --jobs 2 run says how many cores' worth the sweep actually got on a shared machine. Writes
tools/results/bench_sweep.csv and prints a summary. Timings on a shared machine are noisy:
compare the ratios within one run, and look at the load average printed with them.

    /usr/bin/python3 tools/bench_sweep.py [--fpentropy build/fpentropy] [--repeat 3]
"""
import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "cases" / "ou1d_relax.ini"
NPOINTS = 16


CPU = []  # CPU seconds (user + system) of the last timed command and its children


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd):
    c0 = children_cpu()
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    CPU.append(children_cpu() - c0)
    if p.returncode != 0:
        sys.exit(f"ERROR: {' '.join(map(str, cmd))}: exit {p.returncode}\n{p.stderr}")
    return wall


def best(n, fn):
    """Fastest of n runs: (wall seconds, CPU seconds of that run)."""
    runs = []
    for _ in range(n):
        del CPU[:]
        runs.append((fn(), sum(CPU)))
    return min(runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fpentropy", default=str(ROOT / "build" / "fpentropy"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--results", default=str(ROOT / "tools" / "results" / "bench_sweep.csv"))
    a = ap.parse_args()
    exe = Path(a.fpentropy).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="fp_bench_sweep_"))
    try:
        heavy = ["--grid", f"domain.cells=1000:2500:{NPOINTS}", "--set", "time.rtol=1e-10",
                 "--set", "time.atol=1e-16", "--set", "output.snapshots=0", "-q"]

        def sweep_heavy(jobs):
            out = tmp / f"heavy_j{jobs}"
            shutil.rmtree(out, ignore_errors=True)
            return timed([exe, "sweep", CASE, "-o", out, "--jobs", str(jobs), *heavy])

        load0 = os.getloadavg()[0]
        t1, c1 = best(a.repeat, lambda: sweep_heavy(1))
        t2, c2 = best(a.repeat, lambda: sweep_heavy(2))
        trivial = ["--set", "time.end=1e-3", "--set", "time.outputs=2", "--set", "output.snapshots=0"]
        cells = [20 + k for k in range(NPOINTS)]

        def sweep_trivial():
            out = tmp / "trivial"
            shutil.rmtree(out, ignore_errors=True)
            return timed([exe, "sweep", CASE, "-o", out, "--jobs", "1", "-q", *trivial,
                          "--grid", "domain.cells=" + ",".join(map(str, cells))])

        def loop_trivial():
            t0 = time.perf_counter()
            for n in cells:
                out = tmp / f"loop_{n}"
                shutil.rmtree(out, ignore_errors=True)
                timed([exe, "run", CASE, "-o", out, "-q", *trivial, "--set", f"domain.cells={n}"])
            return time.perf_counter() - t0

        ts, _ = best(a.repeat, sweep_trivial)
        tl, _ = best(a.repeat, loop_trivial)
        load1 = os.getloadavg()[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    speedup = t1 / t2
    overhead = (ts - tl) / NPOINTS
    rows = [("points", NPOINTS), ("cores", os.cpu_count()),
            ("load_average_before", f"{load0:.2f}"), ("load_average_after", f"{load1:.2f}"),
            ("heavy_jobs1_seconds", f"{t1:.3f}"), ("heavy_jobs2_seconds", f"{t2:.3f}"),
            ("speedup_jobs2", f"{speedup:.3f}"),
            ("heavy_jobs1_cpu_seconds", f"{c1:.3f}"), ("heavy_jobs2_cpu_seconds", f"{c2:.3f}"),
            ("cores_used_jobs1", f"{c1 / t1:.3f}"), ("cores_used_jobs2", f"{c2 / t2:.3f}"),
            ("trivial_sweep_seconds", f"{ts:.3f}"), ("trivial_loop_seconds", f"{tl:.3f}"),
            ("sweep_seconds_per_trivial_point", f"{ts / NPOINTS:.4f}"),
            ("overhead_seconds_per_point", f"{overhead:.4f}")]
    Path(a.results).parent.mkdir(parents=True, exist_ok=True)
    with open(a.results, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["quantity", "value"])
        w.writerows(rows)
    print(f"{NPOINTS}-point sweep of ou1d_relax (cells 1000..2500, rtol 1e-10), best of {a.repeat}:")
    print(f"  --jobs 1: {t1:.2f} s   --jobs 2: {t2:.2f} s   speed-up {speedup:.2f}x "
          f"on {os.cpu_count()} cores (load average {load0:.1f} -> {load1:.1f})")
    print(f"  CPU seconds {c1:.2f} and {c2:.2f}: the sweep got {c1 / t1:.2f} cores' worth of CPU "
          f"with --jobs 1 and {c2 / t2:.2f} with --jobs 2 (on an idle machine: 1 and 2)")
    print(f"{NPOINTS} trivial points: sweep --jobs 1 {ts:.3f} s, plain loop of runs {tl:.3f} s: "
          f"{ts / NPOINTS * 1000:.1f} ms per point, overhead {overhead * 1000:.1f} ms per point")
    print(f"wrote {a.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
