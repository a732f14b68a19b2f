#!/usr/bin/env python3
# fpentropy integration test: `fpentropy stream` on a shipped case (the paper-000 Section 5 stream).
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run `fpentropy stream CASE` with a few seeds and check what it writes:
table.csv has the paper's five rows (and their @exact twins) with the daily and
weekly retrain counts 199 and 28 on 200 days, loss.csv has one row per policy
and period, pe_matrix.csv is T x T with the exact daily loss pe[d-1][d] equal
to the @exact daily row of loss.csv; a bad policy spec exits with status 2."""
import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fpentropy", required=True)
    ap.add_argument("case")
    ap.add_argument("--set", action="append", default=[])
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as out:
        cmd = [a.fpentropy, "stream", a.case, "--seeds", "2", "-q", "-o", out]
        for s in a.set:
            cmd += ["--set", s]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"exit {r.returncode}: {r.stderr}")
        rows = {row["policy"]: row for row in csv.DictReader(open(os.path.join(out, "table.csv")))}
        for name in ["none", "daily", "weekly", "performance", "entropy"]:
            for label in [name, name + "@exact"]:
                if label not in rows:
                    fail(f"table.csv has no row {label}: {list(rows)}")
        for label, count in [("none", 0), ("daily", 199), ("weekly", 28)]:
            for suffix in ["", "@exact"]:
                row = rows[label + suffix]
                if float(row["retrains"]) != count or float(row["se_retrains"]) != 0:
                    fail(f"{label}{suffix}: {row['retrains']} retrains, expected {count}")
        # retraining daily beats never retraining on this drifting stream
        if not float(rows["daily"]["avg_log_loss"]) < float(rows["none"]["avg_log_loss"]):
            fail("daily is not below none")
        loss = list(csv.DictReader(open(os.path.join(out, "loss.csv"))))
        if len(loss) != 10 * 199:
            fail(f"loss.csv has {len(loss)} rows, expected {10 * 199}")
        pe = [line.split(",") for line in open(os.path.join(out, "pe_matrix.csv")) if not line.startswith(("#", "t,"))]
        T = len(pe)
        if T != 200 or any(len(row) != T + 1 for row in pe):
            fail(f"pe_matrix.csv is not 200 x 200 (+ t column): {T} rows")
        daily = {int(r["period"]): float(r["loss"]) for r in loss if r["policy"] == "daily@exact"}
        for d in (1, 100, 199):
            if not math.isclose(daily[d], float(pe[d - 1][d + 1]), rel_tol=1e-9):
                fail(f"daily@exact loss at {d} is {daily[d]}, pe[{d-1}][{d}] = {pe[d - 1][d + 1]}")
        bad = subprocess.run([a.fpentropy, "stream", a.case, "--policy", "threshold:tau=-1", "-q", "-o", out],
                             capture_output=True, text=True)
        if bad.returncode != 2 or "tau" not in bad.stderr:
            fail(f"a bad policy: exit {bad.returncode}, stderr {bad.stderr!r}")
    print("PASS")


if __name__ == "__main__":
    main()
