#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Retraining policies: exact-driven and sample-driven against the oracle (issue 5's study).

On ou1d_moving_mean (drifting data) and a 2D case (ou2d_rotating with q_ref = the initial
density, so the mismatch grows as the density relaxes away from it):
  1. `fpentropy calibrate` fits the debt filter's emissions under a frozen deployment;
  2. `fpentropy policy` runs calendar, threshold, alarm, CUSUM and the debt filter on the
     exact mismatch series, the oracle (dynamic programming over K) and its Pareto curve,
     and the same policies driven by the WKV estimate from N particles over R replicas.

Writes validation/results/policy_study.csv (case, policy, exact retrains and cost, regret,
sample-driven cost ratio to the exact run and to the oracle with standard errors, delays,
extra and missed retrains) and the figures policy_<case>_*.png (through tools/fpentropy-plot).

    /usr/bin/python3 validation/policy_study.py [--fpentropy build/fpentropy] [--quick]
"""
import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from fpdata import read_csv
import docs_claims

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "validation" / "results"

POLICIES = ["calendar:k=2", "calendar:k=5", "calendar:k=10", "threshold:tau=0.05", "threshold:tau=0.1",
            "threshold:tau=0.2", "alarm:q=0.9", "cusum:h=0.2", "cusum:h=0.5", "cusum:h=1"]
CASES = [("ou1d_moving_mean", 0.1, []),
         ("ou2d_rotating", 0.1, ["reference.density=initial", "domain.cells=64", "time.end=2", "time.outputs=41"])]



def run(cmd):
    print("running:", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stderr, file=sys.stderr)
        sys.exit(2)
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fpentropy", default=str(ROOT / "build" / "fpentropy"))
    ap.add_argument("--particles", type=int, default=2000)
    ap.add_argument("--replicas", type=int, default=20)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    particles, replicas = (500, 4) if a.quick else (a.particles, a.replicas)
    table = []
    calibration = []
    for case, cost, sets in CASES:
        out = Path(tempfile.mkdtemp(prefix=f"fppol_{case}_"))
        base = [str(ROOT / "cases" / f"{case}.ini"), "-o", str(out), "-q", "--set", "output.snapshots=0"]
        for s in sets:
            base += ["--set", s]
        run([a.fpentropy, "calibrate"] + base)
        cal = {}
        with open(out / "debt_calibration.txt") as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    k, v = (x.strip() for x in line.split("=", 1))
                    cal[k] = v
        calibration.append({"case": case, "n0": cal["n0"], "n1": cal["n1"], "fallback0": cal["fallback0"],
                            "fallback1": cal["fallback1"]})
        specs = POLICIES + [f"debt:kappa=1,calibration={out}/debt_calibration.txt"]
        cmd = [a.fpentropy, "policy"] + base + ["--cost", str(cost), "--particles", str(particles),
                                                "--replicas", str(replicas)]
        for sp in specs:
            cmd += ["--policy", sp]
        print(run(cmd))
        exact = {r["policy"]: r for r in read_csv(out / "policy_summary.csv")}
        sampled = {r["policy"]: r for r in read_csv(out / "policy_sampled.csv")}
        oracle = exact["oracle"]
        for name, r in exact.items():
            row = {"case": case, "policy": name if not name.startswith("debt") else "debt (calibrated)",
                   "retrains": int(r["n_retrains"]), "cost": float(r["cost"]), "regret": float(r["regret"]),
                   "excess_loss": float(r["excess_loss"])}
            s = sampled.get(name)
            if s:
                for key in ["retrains", "cost_ratio_exact", "cost_ratio_oracle", "delay", "extra", "missed"]:
                    row[f"sampled_{key}"] = float(s[key])
                    row[f"sampled_{key}_se"] = float(s[key + "_se"])
            table.append(row)
        shutil.copy(out / "pareto.csv", RESULTS / f"policy_{case}_pareto.csv")
        plot = subprocess.run(["/usr/bin/python3", str(ROOT / "tools" / "fpentropy-plot"), str(out), "-o", str(RESULTS),
                               "--prefix", f"policy_{case}_"], capture_output=True, text=True)
        if plot.returncode != 0:
            print("plot failed:", plot.stderr.strip(), file=sys.stderr)
        print(f"oracle for {case}: {oracle['n_retrains']} retrains, cost {float(oracle['cost']):.4f}")
        shutil.rmtree(out, ignore_errors=True)
    fields = sorted({k for r in table for k in r}, key=lambda k: list(table[0].keys()).index(k) if k in table[0] else 99)
    with open(RESULTS / "policy_study.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(table)
    with open(RESULTS / "policy_calibration.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(calibration[0].keys()))
        w.writeheader()
        w.writerows(calibration)
    print(f"wrote {RESULTS / 'policy_study.csv'}")
    if a.quick:
        return 0  # the claims are about the full study's particles and replicas
    claims = docs_claims.Claims()
    docs_claims.check_policies(table, calibration, claims)
    print(f"{len(claims.failed)} claim(s) of docs/policies.md failed" if claims.failed else "docs/policies.md: all claims hold")
    return 1 if claims.failed else 0


if __name__ == "__main__":
    sys.exit(main())
