#!/usr/bin/env python3
# fpentropy integration test: `fpentropy policy --objective loss --alpha-sweep` (paper 001 on pe).
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the loss objective with an alpha sweep on a labelled case and check the outputs: the
oracle has zero regret and the smallest cost at every alpha, every AUC is at least the
oracle's, costs of alpha-independent policies are linear in alpha (C = C_0 + alpha n), and
--alpha-sweep without --objective loss is a usage error (exit 2)."""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
from collections import defaultdict


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fpentropy", required=True)
    ap.add_argument("case")
    a = ap.parse_args()
    pols = ["none", "calendar:k=7", "threshold:tau=0.05", "performance:margin=0.05", "upf"]
    with tempfile.TemporaryDirectory() as out:
        cmd = [a.fpentropy, "policy", a.case, "--objective", "loss", "--cost", "0.05", "--alpha-sweep", "0.4:9",
               "-q", "-o", out]
        for p in pols:
            cmd += ["--policy", p]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"exit {r.returncode}: {r.stderr}")
        summ = {x["policy"]: x for x in rows(os.path.join(out, "loss_summary.csv"))}
        if float(summ["oracle"]["regret"]) != 0:
            fail("oracle regret is not 0")
        for p in pols:
            if float(summ[p]["regret"]) < -1e-9:
                fail(f"{p} beats the oracle")
        sweep = defaultdict(dict)
        for x in rows(os.path.join(out, "alpha_sweep.csv")):
            sweep[float(x["alpha"])][x["policy"]] = (float(x["cost"]), int(x["retrains"]))
        for alpha, byp in sweep.items():
            o = byp["oracle"][0]
            if any(c < o - 1e-9 for c, _ in byp.values()):
                fail(f"a policy beats the oracle at alpha {alpha}")
        alphas = sorted(sweep)
        for p in pols[:4]:  # these do not depend on alpha: C = C_0 + alpha n
            c0, n = sweep[alphas[0]][p]
            for al in alphas:
                if abs(sweep[al][p][0] - (c0 + al * n)) > 1e-9:
                    fail(f"{p}: cost at alpha {al} is not C_0 + alpha n")
        auc = {x["policy"]: float(x["auc_over_oracle"]) for x in rows(os.path.join(out, "auc.csv"))}
        if auc["oracle"] != 1.0 or any(v < 1.0 - 1e-12 for v in auc.values()):
            fail(f"AUC ratios: {auc}")
        for name in ("pe_matrix.csv", "kl_matrix.csv"):
            if not os.path.exists(os.path.join(out, name)):
                fail(f"no {name}")
        bad = subprocess.run([a.fpentropy, "policy", a.case, "--alpha-sweep", "1", "-q", "-o", out],
                             capture_output=True, text=True)
        if bad.returncode != 2:
            fail(f"--alpha-sweep without --objective loss: exit {bad.returncode}")
    print("PASS")


if __name__ == "__main__":
    main()
