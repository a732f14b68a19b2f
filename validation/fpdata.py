# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers of the validation studies and benchmarks: reading fpentropy's output files,
finding the binary, running a case, observed orders."""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# The readers live in the fpentropy Python package (python/fpentropy); an installed copy of
# it would do as well, but the one beside these scripts matches the binary they drive.
sys.path.insert(0, str(ROOT / "python"))
import fpentropy  # noqa: E402


def read_balance(path):
    """balance.csv -> dict column -> numpy array (fpentropy.read_balance without pandas)."""
    return dict(fpentropy.read_balance(path, frame=False))


def read_summary(path):
    """summary.txt 'key: value' lines and the '# resolved case' 'sec.key = value' lines."""
    return fpentropy.read_summary(path)


def read_csv(path):
    """A CSV table -> list of dicts of str (leading '#' lines of older files skipped)."""
    with open(path) as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def write_csv(path, rows, comment=None):
    """rows (list of dicts with the same keys) -> a CSV table; comment: a leading '#' line."""
    with open(path, "w", newline="") as f:
        if comment:
            f.write(f"# {comment}\n")
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def run_case(exe, case, sets, out):
    """fpentropy run cases/<case>.ini -o out --set ...; returns (balance, summary, wall seconds).
    Raises RuntimeError with the command and its message on failure."""
    cmd = [str(exe), "run", str(ROOT / "cases" / f"{case}.ini"), "-o", str(out), "-q"]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n  exit status {proc.returncode}\n  "
                           + proc.stderr.strip().replace("\n", "\n  "))
    return read_balance(Path(out) / "balance.csv"), read_summary(Path(out) / "summary.txt"), wall


def run_sweep(exe, case, grids, out, sets=(), zip_=False, jobs=None, command="run"):
    """fpentropy sweep cases/<case>.ini --grid G ... --set S ... -o out -q [--zip] [--jobs N].
    Returns (points, table): points is the manifest's list of points in plan order (dicts with
    name, params, status, error, seconds) each with "dir" (its Path) added; table maps a point's
    name to its rows of sweep.csv as dict column -> numpy array (parameter columns included).
    Raises RuntimeError with the command and its message if the sweep or any point fails."""
    cmd = [str(exe), "sweep", str(ROOT / "cases" / f"{case}.ini"), "-o", str(out), "-q",
           "--command", command]
    for g in grids:
        cmd += ["--grid", g]
    for s in sets:
        cmd += ["--set", s]
    if zip_:
        cmd.append("--zip")
    if jobs:
        cmd += ["--jobs", str(jobs)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n  exit status {proc.returncode}\n  "
                           + proc.stderr.strip().replace("\n", "\n  "))
    with open(Path(out) / "sweep.json") as f:
        points = json.load(f)["points"]
    for p in points:
        p["dir"] = Path(out) / p["name"]
    rows = read_csv(Path(out) / "sweep.csv")
    table = {}
    for p in points:
        mine = [r for r in rows if r["point"] == p["name"]]
        table[p["name"]] = {k: np.array([float(r[k]) if r[k] != "" else float("nan") for r in mine])
                            if k != "point" and all(_is_number(r[k]) for r in mine) else
                            [r[k] for r in mine] for k in (mine[0].keys() if mine else [])}
    return points, table


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return text == ""


def order(e_coarse, e_fine):
    """Observed order between two grids with halved spacing."""
    if e_coarse > 0 and e_fine > 0:
        return math.log2(e_coarse / e_fine)
    return float("nan")


def find_exe(arg):
    """The fpentropy binary: the given path, else build/fpentropy."""
    exe = Path(arg) if arg else ROOT / "build" / "fpentropy"
    if not exe.is_file() or not os.access(exe, os.X_OK):
        sys.exit(f"ERROR: fpentropy binary not found at {exe} (use --fpentropy PATH)")
    return exe.resolve()


def refinement_setup(doc, results_default):
    """The command line shared by the two convergence studies, and their refinement plan.
    Returns (args, exe, results folder, 1D cell counts, 2D cell counts, 1D tolerances,
    2D tolerances)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--fpentropy", help="path to the fpentropy binary "
                    "(default: <repo>/build/fpentropy)")
    ap.add_argument("--quick", action="store_true",
                    help="three resolutions per case, coarser (for ctest)")
    ap.add_argument("--linear-solver", default="auto",
                    help="solver.linear_solver for all runs (default: auto)")
    ap.add_argument("--results", default=str(results_default), help="output folder")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--jobs", type=int, default=None,
                    help="runs at once in each fpentropy sweep (default: the cores)")
    args = ap.parse_args()
    exe = find_exe(args.fpentropy)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    n1 = [100, 200, 400] if args.quick else [100, 200, 400, 800]
    n2 = [32, 64, 128] if args.quick else [32, 64, 128, 256]
    # time tolerances tight enough that the time error is far below the space error
    return args, exe, results, n1, n2, (1e-9, 1e-15), (1e-8, 1e-13)
