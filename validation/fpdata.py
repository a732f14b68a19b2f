# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers of the validation studies and benchmarks: reading fpentropy's output files,
finding the binary, running a case, observed orders."""
import csv
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def read_balance(path):
    """balance.csv -> dict column -> numpy array (comment lines start with '#')."""
    with open(path) as f:
        lines = [ln for ln in f if not ln.startswith("#") and ln.strip()]
    rows = list(csv.reader(lines))
    header, data = rows[0], rows[1:]
    return {name: np.array([float(r[j]) for r in data]) for j, name in enumerate(header)}


def read_summary(path):
    """summary.txt 'key: value' lines and the '# resolved case' 'sec.key = value' lines."""
    out = {}
    with open(path) as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if ln.startswith("#") or not ln.strip():
                continue
            if " = " in ln and ":" not in ln.split(" = ")[0]:
                key, val = ln.split(" = ", 1)
                out[key.strip()] = val.split("#", 1)[0].strip()
            elif ": " in ln:
                key, val = ln.split(": ", 1)
                out[key.strip()] = val.strip()
    return out


def read_csv(path):
    """A CSV table with '#' comment lines -> list of dicts."""
    with open(path) as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


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
