#!/usr/bin/env python3
# fpentropy integration test: `fpentropy debt-study` on a reduced --reps run:
# usage errors, the output formats, the no-shift sanity facts (calendar loss
# 20 c_churn exactly in every cell, silent filters) and resumption.
# SPDX-License-Identifier: GPL-3.0-or-later
import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile

FAILS = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILS.append(what)


def run(exe, args):
    return subprocess.run([exe, "debt-study"] + args, capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fpentropy", required=True)
    exe = ap.parse_args().fpentropy
    tmp = tempfile.mkdtemp(prefix="fp_debt_cli_")
    try:
        r = run(exe, ["--help"])
        check(r.returncode == 0 and "--block" in r.stdout, "--help exits 0 and lists --block")
        check(run(exe, ["--reps", "4"]).returncode == 2, "no -o: exit 2")
        check(run(exe, ["--block", "nope", "-o", tmp]).returncode == 2, "bad --block: exit 2")
        check(run(exe, ["--reps", "1", "-o", tmp]).returncode == 2, "--reps 1: exit 2")
        out = os.path.join(tmp, "study")
        r = run(exe, ["--reps", "6", "--block", "main", "--threads", "2", "-q", "--trace",
                      "abrupt,0.05,1,0", "-o", out])
        check(r.returncode == 0, f"reduced main block runs (exit {r.returncode}: {r.stderr.strip()})")
        with open(os.path.join(out, "cells.csv")) as f:
            rows = list(csv.DictReader(f))
        need = ("block,family,p_shift,kappa,policy,mean_loss,se_loss,ratio_to_calendar,se_ratio,"
                "ratio_q025,ratio_q975,mean_retrains,mean_delay").split(",")
        check(all(k in rows[0] for k in need), "cells.csv has the issue's columns")
        check(len(rows) == 96 * 5, f"96 cells x 5 policies ({len(rows)} rows)")
        cal = [r for r in rows if r["family"] == "none" and r["policy"] == "calendar"]
        exact = all(float(r["mean_loss"]) == 20 * (float(r["kappa"]) / (1 + float(r["kappa"])))
                    and float(r["se_loss"]) == 0.0 and float(r["mean_retrains"]) == 20.0 for r in cal)
        check(len(cal) == 24 and exact, "no-shift calendar loss = 20 c_churn exactly, 20 retrains, in all 24 cells")
        silent = [r for r in rows if r["family"] == "none" and r["policy"] in ("debt", "proxy")]
        check(all(float(r["mean_loss"]) == 0.0 and float(r["mean_retrains"]) == 0.0 for r in silent),
              "no-shift: debt and proxy filters never retrain (48 rows)")
        with open(os.path.join(out, "wins.csv")) as f:
            wins = list(csv.DictReader(f))
        check(list(wins[0].keys()) == ["block", "family", "comparison", "wins", "cells"],
              "wins.csv columns")
        none_cal = [w for w in wins if w["family"] == "none" and w["comparison"] == "calendar"]
        check(none_cal and none_cal[0]["wins"] == "24", "no-shift: debt beats calendar in 24 of 24")
        with open(os.path.join(out, "trace.csv")) as f:
            trace = list(csv.DictReader(f))
        calt = [int(t["t"]) for t in trace if t["policy"] == "calendar" and t["executed"] == "1"]
        check(calt == list(range(10, 201, 10)), "trace: calendar retrains at 10, 20, ..., 200")
        before = open(os.path.join(out, "cells.csv")).read()
        os.remove(os.path.join(out, "cells.csv"))
        for name in os.listdir(os.path.join(out, "checkpoints")):
            if name.startswith("main_gradual"):
                os.remove(os.path.join(out, "checkpoints", name))
        r = run(exe, ["--reps", "6", "--block", "main", "--threads", "1", "-q", "-o", out])
        after = open(os.path.join(out, "cells.csv")).read()
        check(r.returncode == 0 and before == after,
              "resumed on 1 thread (72 cells from checkpoints, 24 recomputed): identical cells.csv")
        summary = open(os.path.join(out, "summary.txt")).read()
        check("72 resumed" in summary and "seed: 2026" in summary, "summary.txt records seed and resumption")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(FAILS)} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
