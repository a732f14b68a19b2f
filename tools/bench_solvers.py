#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Work-precision benchmark of fpentropy's linear-solver choices on the OU closed forms.

Runs ou2d_rotating (64^2 .. 512^2) and ou3d_tensor (32^3 .. 96^3) for each linear-solver
choice and time tolerance rtol in {1e-4, 1e-6, 1e-8} (atol = rtol * 1e-6), snapshots off:

    2D: klu; gmres + fft preconditioner (also at 384^2, to locate the cheapest grid that
        reaches the reference error); gmres without preconditioner (64^2 and 128^2 only)
    3D: gmres + fft; gmres without preconditioner (32^3 only); klu (16^3 and 24^3 added,
        up to 48^3; a (case, solver) series stops at the first run that times out or takes
        more than --max-seconds / 2, since tighter and larger runs only take longer)

For each run it records wall time (summary.txt wall_seconds and the process wall time),
the final and maximum L1 error of p against the closed form (l1_error column), steps,
rhs_evals, linear_iters, jacobian_evals, prec_setups, and writes

    tools/results/bench_solvers.csv          one row per run
    tools/results/bench_exponents.csv        fitted exponent x of wall time ~ cells^x per
                                             (case, solver, rtol)
    tools/results/work_precision.png         error vs time

and prints the table, the exponents and the comparison with the reference point (the
fastest Python peer: 5.6 s for 256^2 rotating OU to t = 1 at L1 error 1.6e-4): our time for
the cheapest configuration with L1 error <= 1.6e-4 at t = 1, on any grid.

Runs use OMP_NUM_THREADS=1 unless --threads says otherwise (on small machines the OpenMP
threads make timings noisy). Fast runs are repeated (--repeat, --repeat-below) and the
fastest repeat is kept.

    /usr/bin/python3 tools/bench_solvers.py [--fpentropy build/fpentropy] [--quick]
"""
import argparse
import csv
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "validation"))
from fpdata import find_exe, read_balance, read_summary  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "tools" / "results"

REF_SECONDS = 5.6
REF_L1 = 1.6e-4
REF_CASE = "ou2d_rotating"

# CVODE with each linear solver (pinned: `auto` may take the exponential integrator), and
# the Krylov exponential integrator (issue 11)
SOLVERS = {
    "klu": ["solver.linear_solver=klu", "time.integrator=cvode"],
    "gmres+fft": ["solver.linear_solver=gmres", "solver.preconditioner=fft",
                  "time.integrator=cvode"],
    "gmres+none": ["solver.linear_solver=gmres", "solver.preconditioner=none",
                   "time.integrator=cvode"],
    "exponential": ["time.integrator=exponential"],
}


def plan(quick):
    """List of (case, dim, cells, solver) in run order (small to large)."""
    s2 = [64, 128, 256, 512]
    s3 = [32, 48, 64, 96]
    if quick:
        s2, s3 = s2[:-1], s3[:-1]
    runs = []
    for n in sorted(s2 + [384]) if 512 in s2 else s2:
        # 384^2 (gmres+fft only) locates the cheapest grid that reaches the reference error
        if n != 384:
            runs.append(("ou2d_rotating", 2, n, "klu"))
        runs.append(("ou2d_rotating", 2, n, "gmres+fft"))
        if n <= 128:
            runs.append(("ou2d_rotating", 2, n, "gmres+none"))
        if n <= 256:
            runs.append(("ou2d_rotating", 2, n, "exponential"))
    for n in [16, 24] + s3:
        if n >= 32:
            runs.append(("ou3d_tensor", 3, n, "gmres+fft"))
        if n == 32:
            runs.append(("ou3d_tensor", 3, n, "gmres+none"))
        if n <= 48:
            runs.append(("ou3d_tensor", 3, n, "klu"))
    return runs


# --------------------------------------------------------------------------- helpers


def run_once(exe, case, sets, out, timeout, env):
    """Returns (status, process seconds, balance or None, summary or None, message)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(exe), "run", str(ROOT / "cases" / f"{case}.ini"), "-o", str(out), "-q"]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "timeout", time.perf_counter() - t0, None, None, f"killed after {timeout:g} s"
    wall = time.perf_counter() - t0
    if proc.returncode < 0:
        # killed by a signal from outside (e.g. the machine's memory guard), not by the tool
        name = signal.Signals(-proc.returncode).name
        return (f"killed({name})", wall, None, None,
                err.strip().splitlines()[-1] if err.strip() else "no message from the tool")
    if proc.returncode != 0:
        return (f"exit{proc.returncode}", wall, None, None,
                err.strip().splitlines()[-1] if err.strip() else "")
    return "ok", wall, read_balance(out / "balance.csv"), read_summary(out / "summary.txt"), ""


def fit_exponent(cells, seconds):
    if len(cells) < 2:
        return float("nan")
    x, y = np.log(np.asarray(cells, float)), np.log(np.asarray(seconds, float))
    return float(np.polyfit(x, y, 1)[0])



def ffloat(s, default=float("nan")):
    try:
        return float(s)
    except (TypeError, ValueError):
        return default


# --------------------------------------------------------------------------- benchmark
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fpentropy", help="path to the fpentropy binary "
                    "(default: <repo>/build/fpentropy)")
    ap.add_argument("--quick", action="store_true", help="drop the largest size of each case")
    ap.add_argument("--rtols", default="1e-4,1e-6,1e-8", help="comma-separated rtol values")
    ap.add_argument("--max-seconds", type=float, default=600.0,
                    help="kill a run after this many seconds; larger sizes and tighter "
                    "tolerances of the same (case, solver) are then skipped (default 600)")
    ap.add_argument("--threads", default="1",
                    help="OMP_NUM_THREADS for the runs ('inherit' keeps the environment)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="repeat runs faster than --repeat-below seconds this many times and "
                    "keep the fastest (default 3)")
    ap.add_argument("--repeat-below", type=float, default=10.0)
    ap.add_argument("--only", default="", help="run only cases whose name contains this")
    ap.add_argument("--results", default=str(RESULTS), help="output folder")
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args()
    exe = find_exe(args.fpentropy)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    rtols = [float(v) for v in args.rtols.split(",")]
    env = dict(os.environ)
    if args.threads != "inherit":
        env["OMP_NUM_THREADS"] = args.threads

    print(f"fpentropy: {exe}; OMP_NUM_THREADS={env.get('OMP_NUM_THREADS', '(unset)')}; "
          f"cpus: {os.cpu_count()}; max {args.max_seconds:g} s per run", flush=True)
    rows = []
    blocked = {}  # (case, solver) -> (cells, rtol) of the first timeout
    tmp = Path(tempfile.mkdtemp(prefix="fpbench_"))
    csv_path = results / "bench_solvers.csv"
    fields = ["case", "cells", "ncells", "solver", "rtol", "atol", "status", "wall_seconds",
              "process_seconds", "setup_seconds", "step_seconds", "output_seconds", "repeats",
              "l1_final", "l1_max", "steps", "rhs_evals",
              "linear_iters", "jacobian_evals", "prec_setups", "linear_setups",
              "nonlinear_iters", "linear_conv_fails", "min_density", "linear_solver_reported",
              "note"]
    try:
        for case, dim, n, solver in plan(args.quick):
            if args.only and args.only not in case:
                continue
            for rtol in rtols:
                atol = rtol * 1e-6
                label = "x".join([str(n)] * dim)
                row = dict(case=case, cells=label, ncells=n ** dim, solver=solver, rtol=rtol,
                           atol=atol, note="")
                b = blocked.get((case, solver))
                if b and (n > b[0] or (n == b[0] and rtol <= b[1])):
                    row.update(status="skipped",
                               note=f"a run at {b[0]}^{dim} timed out, was killed or took "
                                    f"over max-seconds/2")
                    rows.append(row)
                    print(f"  {case:14s} {label:>11s} {solver:10s} rtol={rtol:<6g} skipped "
                          f"({row['note']})", flush=True)
                    continue
                sets = [f"domain.cells={n}", f"time.rtol={rtol:g}", f"time.atol={atol:g}",
                        "output.snapshots=0"] + SOLVERS[solver]
                out = tmp / "run"
                status, proc_s, bal, summ, msg = run_once(exe, case, sets, out,
                                                           args.max_seconds, env)
                walls, procs, phases = [], [], []
                if status == "ok":
                    walls.append(ffloat(summ.get("wall_seconds")))
                    procs.append(proc_s)
                    phases.append(summ)
                    while len(walls) < args.repeat and proc_s < args.repeat_below:
                        st2, p2, _, s2, _ = run_once(exe, case, sets, tmp / "rep",
                                                     args.max_seconds, env)
                        if st2 != "ok":
                            break
                        walls.append(ffloat(s2.get("wall_seconds")))
                        procs.append(p2)
                        phases.append(s2)
                    fastest = phases[int(np.argmin(walls))]  # phase times of the fastest repeat
                row["status"] = status
                row["process_seconds"] = min(procs) if procs else proc_s
                if status == "timeout" or status.startswith("killed"):
                    blocked[(case, solver)] = (n, rtol)
                elif status == "ok" and proc_s > args.max_seconds / 2 and rtol != rtols[-1]:
                    # a tighter tolerance or a larger grid would run past --max-seconds
                    blocked[(case, solver)] = (n, rtol * 0.999)
                    msg = (f"took {proc_s:.0f} s > max-seconds/2: tighter rtol and larger "
                           "sizes skipped")
                elif status == "ok" and proc_s > args.max_seconds / 2:
                    blocked[(case, solver)] = (n, 0.0)
                if status == "ok":
                    l1 = bal.get("l1_error")
                    row.update(
                        wall_seconds=min(walls), repeats=len(walls),
                        l1_final=float(l1[-1]) if l1 is not None else float("nan"),
                        l1_max=float(np.max(l1)) if l1 is not None else float("nan"),
                        min_density=ffloat(summ.get("min_density")),
                        setup_seconds=ffloat(fastest.get("setup_seconds")),
                        step_seconds=ffloat(fastest.get("step_seconds")),
                        output_seconds=ffloat(fastest.get("output_seconds")),
                        linear_solver_reported=summ.get("linear_solver", ""))
                    for k in ("steps", "rhs_evals", "linear_iters", "jacobian_evals",
                              "prec_setups", "linear_setups", "nonlinear_iters",
                              "linear_conv_fails"):
                        row[k] = int(ffloat(summ.get(k), 0))
                    print(f"  {case:14s} {label:>11s} {solver:10s} rtol={rtol:<6g} "
                          f"wall {row['wall_seconds']:8.3f} s (proc {row['process_seconds']:7.2f}"
                          f", x{len(walls)}) L1 final {row['l1_final']:.3e} max "
                          f"{row['l1_max']:.3e} steps {row['steps']} rhs {row['rhs_evals']} "
                          f"lin {row['linear_iters']} jac {row['jacobian_evals']} "
                          f"prec {row['prec_setups']}", flush=True)
                else:
                    print(f"  {case:14s} {label:>11s} {solver:10s} rtol={rtol:<6g} {status} "
                          f"after {proc_s:.1f} s {msg}", flush=True)
                row["note"] = msg
                rows.append(row)
                write_csv(csv_path, fields, rows)  # keep partial results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_csv(csv_path, fields, rows)
    report(rows, rtols, results, args)
    if not args.no_plot:
        plot(rows, results / "work_precision.png")
    bad = [r for r in rows if r["status"].startswith("exit")]
    for r in bad:
        print(f"FAIL: {r['case']} {r['cells']} {r['solver']} rtol {r['rtol']:g}: "
              f"{r['status']} {r['note']}")
    lost = [r for r in rows if r["status"] not in ("ok",) and not r["status"].startswith("exit")]
    if lost:
        print(f"note: {len(lost)} runs did not complete (timeout, killed from outside, or "
              "skipped after one of those); see the status column")
    return 1 if bad else 0


def write_csv(path, fields, rows):
    def fmt(v):
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:.6g}"
        return "" if v is None else str(v)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for r in rows:
            w.writerow([fmt(r.get(k)) for k in fields])


def report(rows, rtols, results, args):
    ok = [r for r in rows if r["status"] == "ok"]
    print()
    print("Benchmark (wall = summary wall_seconds, fastest repeat; L1 = error of p vs closed form)")
    hdr = (f"{'case':14s} {'cells':>11s} {'solver':10s} {'rtol':>6s} {'wall s':>8s} "
           f"{'proc s':>7s} {'L1 final':>9s} {'L1 max':>9s} {'steps':>6s} {'rhs':>6s} "
           f"{'lin it':>7s} {'jac':>4s} {'prec':>5s} status")
    print(hdr)
    for r in rows:
        if r["status"] == "ok":
            print(f"{r['case']:14s} {r['cells']:>11s} {r['solver']:10s} {r['rtol']:6.0e} "
                  f"{r['wall_seconds']:8.3f} {r['process_seconds']:7.2f} {r['l1_final']:9.2e} "
                  f"{r['l1_max']:9.2e} {r['steps']:6d} {r['rhs_evals']:6d} "
                  f"{r['linear_iters']:7d} {r['jacobian_evals']:4d} {r['prec_setups']:5d} ok")
        else:
            print(f"{r['case']:14s} {r['cells']:>11s} {r['solver']:10s} {r['rtol']:6.0e} "
                  f"{'':>8s} {r.get('process_seconds', float('nan')):7.1f} {'':>9s} {'':>9s} "
                  f"{'':>6s} {'':>6s} {'':>7s} {'':>4s} {'':>5s} {r['status']} {r['note']}")

    # growth exponents
    print()
    print("Cost growth: least-squares slope x of log(wall) vs log(cells), wall ~ cells^x")
    print(f"{'case':14s} {'solver':10s} {'rtol':>6s} {'x (wall)':>9s} {'x (proc)':>9s} "
          f"{'points':>6s}  sizes")
    exps = []
    for case in dict.fromkeys(r["case"] for r in rows):
        for solver in dict.fromkeys(r["solver"] for r in rows if r["case"] == case):
            for rtol in rtols:
                rs = [r for r in ok if r["case"] == case and r["solver"] == solver
                      and r["rtol"] == rtol]
                if len(rs) < 2:
                    continue
                x = fit_exponent([r["ncells"] for r in rs], [r["wall_seconds"] for r in rs])
                xp = fit_exponent([r["ncells"] for r in rs], [r["process_seconds"] for r in rs])
                sizes = ",".join(r["cells"].split("x")[0] for r in rs)
                exps.append(dict(case=case, solver=solver, rtol=rtol, exponent=x,
                                 exponent_process=xp, points=len(rs), sizes=sizes))
                print(f"{case:14s} {solver:10s} {rtol:6.0e} {x:9.2f} {xp:9.2f} {len(rs):6d}  "
                      f"{sizes}")
    with open(results / "bench_exponents.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "solver", "rtol", "exponent", "exponent_process", "points", "sizes"])
        for e in exps:
            w.writerow([e["case"], e["solver"], f"{e['rtol']:g}", f"{e['exponent']:.3f}",
                        f"{e['exponent_process']:.3f}", e["points"], e["sizes"]])

    # reference point
    print()
    print(f"Reference: fastest Python peer, {REF_CASE} 256x256 to t = 1, L1 error {REF_L1:g} in "
          f"{REF_SECONDS} s")
    lines = []
    for crit, key in (("final-time L1 <= 1.6e-4", "l1_final"),
                      ("max-over-t L1 <= 1.6e-4", "l1_max")):
        cand = [r for r in ok if r["case"] == REF_CASE and r[key] <= REF_L1]
        if not cand:
            msg = f"  {crit}: no configuration reached it"
            print(msg)
            lines.append(msg)
            continue
        for tkey, tname in (("process_seconds", "process wall"), ("wall_seconds",
                                                                  "summary wall_seconds")):
            best = min(cand, key=lambda r: r[tkey])
            msg = (f"  {crit}, by {tname}: {best['cells']} {best['solver']} rtol "
                   f"{best['rtol']:g}: {best[tkey]:.3f} s at L1 final {best['l1_final']:.2e} "
                   f"(max {best['l1_max']:.2e}) -> speedup {REF_SECONDS / best[tkey]:.1f}x")
            print(msg)
            lines.append(msg)
    at256 = [r for r in ok if r["case"] == REF_CASE and r["cells"] == "256x256"]
    if at256:
        best = min(at256, key=lambda r: r["process_seconds"])
        msg = (f"  fastest 256x256 run (any error): {best['solver']} rtol {best['rtol']:g}: "
               f"{best['process_seconds']:.3f} s, L1 final {best['l1_final']:.2e} -> "
               f"{REF_SECONDS / best['process_seconds']:.1f}x")
        print(msg)
        lines.append(msg)
    with open(results / "bench_reference.txt", "w") as f:
        f.write(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', args.threads)} "
                f"threads={args.threads} cpus={os.cpu_count()}\n")
        f.write("\n".join(lines) + "\n")


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ok = [r for r in rows if r["status"] == "ok"]
    cases = list(dict.fromkeys(r["case"] for r in ok))
    fig, axes = plt.subplots(1, len(cases), figsize=(6.5 * len(cases), 5), squeeze=False)
    markers = {1e-4: "o", 1e-6: "s", 1e-8: "^"}
    for ax, case in zip(axes[0], cases):
        solvers = list(dict.fromkeys(r["solver"] for r in ok if r["case"] == case))
        for i, solver in enumerate(solvers):
            rs = [r for r in ok if r["case"] == case and r["solver"] == solver]
            for rtol in sorted({r["rtol"] for r in rs}, reverse=True):
                pts = sorted((r for r in rs if r["rtol"] == rtol), key=lambda r: r["ncells"])
                ax.loglog([r["process_seconds"] for r in pts], [r["l1_final"] for r in pts],
                          "-" + markers.get(rtol, "x"), color=f"C{i}",
                          alpha=0.9 if rtol == 1e-6 else 0.55,
                          label=f"{solver} rtol {rtol:g}")
                for r in pts:
                    ax.annotate(r["cells"].split("x")[0], (r["process_seconds"], r["l1_final"]),
                                fontsize=6, xytext=(2, 2), textcoords="offset points")
        if case == REF_CASE:
            ax.plot([REF_SECONDS], [REF_L1], "k*", ms=12, label="Python peer (256^2)")
        ax.set_title(f"{case}: final-time L1 error vs process wall time")
        ax.set_xlabel("wall time [s]")
        ax.set_ylabel("L1 error of p at t = 1")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
