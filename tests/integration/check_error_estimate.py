#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Integration check of `--error-estimate` (run by ctest as cli.error_estimate).

Through the command line, on ou1d_relax (and absorbing_1d for the columns left out):
  - balance.csv gains Q_err and Q_rich for every estimated column, and nothing for t,
    min_p, the residuals or the closed forms;
  - the coarse-grid bookkeeping: a separate `fpentropy run` on half the cells with the
    tolerances the summary reports gives Q_2h, and Q_err = (Q_h - Q_2h)/3,
    Q_rich = (4 Q_h - Q_2h)/3 to 1e-13 relative;
  - the case's own columns are those of a plain run, bit for bit;
  - summary.txt reports the cost and the coarse grid; verify prints error bars;
  - bad values and indivisible grids are usage errors (exit 2).

    check_error_estimate.py --fpentropy BIN --cases DIR
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

failures = []
ESTIMATED = ["mass", "kl", "dkl_dt", "flux_form", "dkl_dt_fd", "sigma_tot", "q_hk", "boundary",
             "sigma_hk_hs", "sigma_na"]


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def read_balance(path):
    with open(path) as f:
        rows = list(csv.reader(line for line in f if not line.startswith("#")))
    header = rows[0]
    return header, {h: [float(r[j]) for r in rows[1:]] for j, h in enumerate(header)}


def read_summary(path):
    out = {}
    with open(path) as f:
        for line in f:
            if ": " in line and not line.startswith("#"):
                k, v = line.split(": ", 1)
                out.setdefault(k.strip(), v.strip())
    return out


def close(a, b, rel=1e-13, abs_=1e-16):
    return abs(a - b) <= abs_ + rel * max(abs(a), abs(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fpentropy", required=True)
    ap.add_argument("--cases", required=True)
    a = ap.parse_args()
    exe, relax = a.fpentropy, os.path.join(a.cases, "ou1d_relax.ini")
    tmp = tempfile.mkdtemp(prefix="fp_errest_")
    common = ["-q", "--set", "output.snapshots=0", "--set", "time.end=1"]

    code, _, err = run([exe, "run", relax, "-o", f"{tmp}/est", "--error-estimate"] + common)
    check(code == 0, f"run --error-estimate exits 0 (got {code}: {err.strip()})")
    header, est = read_balance(f"{tmp}/est/balance.csv")
    summ = read_summary(f"{tmp}/est/summary.txt")
    for q in ESTIMATED:
        check(q + "_err" in header and q + "_rich" in header, f"columns {q}_err, {q}_rich present")
    for q in ["t", "min_p", "residual", "residual_a7", "split_residual", "kl_exact", "l1_error"]:
        check(q + "_err" not in header, f"no column {q}_err")
    check(summ.get("error_estimate_cells") == "400 200",
          f"summary: error_estimate_cells = 400 200 (got {summ.get('error_estimate_cells')})")
    cost = summ.get("error_estimate_cost", "nan").split()[0]
    check(float(cost) > 1.0, f"summary: error_estimate_cost {cost} > 1")

    # the coarse grid, run on its own with the tolerances the summary reports
    rtol, atol = summ["error_estimate_coarse_rtol"], summ["error_estimate_coarse_atol"]
    check(close(float(rtol), 1e-9, 1e-12), f"coarse rtol {rtol} = rtol / 10")
    code, _, err = run([exe, "run", relax, "-o", f"{tmp}/coarse", "--set", "domain.cells=200",
                        "--set", f"time.rtol={rtol}", "--set", f"time.atol={atol}"] + common)
    check(code == 0, f"separate coarse run exits 0 ({err.strip()})")
    _, coarse = read_balance(f"{tmp}/coarse/balance.csv")
    check(coarse["t"] == est["t"], "same output times on both grids")
    for q in ESTIMATED:
        bad = [k for k in range(len(est["t"]))
               if not (close(est[q + "_err"][k], (est[q][k] - coarse[q][k]) / 3)
                       and close(est[q + "_rich"][k], (4 * est[q][k] - coarse[q][k]) / 3))]
        check(not bad, f"{q}_err = ({q}_h - {q}_2h)/3 and {q}_rich = (4 {q}_h - {q}_2h)/3 at "
              f"every output (1e-13 relative){'' if not bad else f'; not at rows {bad}'}")

    # the case's own columns are untouched by the estimate
    code, _, _ = run([exe, "run", relax, "-o", f"{tmp}/plain"] + common)
    ph, plain = read_balance(f"{tmp}/plain/balance.csv")
    check(all(plain[h] == est[h] for h in ph), "built-in columns identical to a plain run")

    # verify reports error bars; the closed form lies within them
    code, out, _ = run([exe, "verify", relax, "-o", f"{tmp}/verify", "--error-estimate=verify"]
                       + common)
    check(code == 0 and "PASS  closed form kl" in out and "INFO  error bars" in out,
          f"verify --error-estimate=verify: exit {code}, closed-form lines with error bars")

    # absorbing walls: sigma_tot and boundary are not estimated, and the summary says why
    code, _, _ = run([exe, "run", os.path.join(a.cases, "absorbing_1d.ini"), "-o", f"{tmp}/abs",
                      "--error-estimate"] + common)
    header, _ = read_balance(f"{tmp}/abs/balance.csv")
    summ = read_summary(f"{tmp}/abs/summary.txt")
    check(code == 0 and "kl_err" in header and "sigma_tot_err" not in header
          and "boundary_err" not in header and "ln N" in summ.get("error_estimate_not_estimated", ""),
          "absorbing_1d: no sigma_tot_err / boundary_err, reason in summary.txt")

    # verify mode on the absorbing case: orders per time in summary.txt, q_hk flagged (first
    # order at the wall: docs/error-estimate.md)
    code, _, _ = run([exe, "run", os.path.join(a.cases, "absorbing_1d.ini"), "-o", f"{tmp}/absv",
                      "--error-estimate=verify"] + common)
    with open(f"{tmp}/absv/summary.txt") as f:
        text = f.read()
    qhk = [ln for ln in text.splitlines() if ln.startswith("error_order q_hk:")]
    rows = [ln for ln in text.splitlines() if ln.startswith("error_orders ")]
    _, absv = read_balance(f"{tmp}/absv/balance.csv")
    check(code == 0 and len(rows) == len(absv["t"]) and qhk and "UNRELIABLE" in qhk[0]
          and abs(float(qhk[0].split("median ")[1].split(",")[0]) - 1.0) < 0.1,
          f"absorbing_1d verify mode: {len(rows)} error_orders rows ({len(absv['t'])} outputs), "
          f"q_hk flagged at order ~1 ({qhk[0] if qhk else 'missing'})")

    # usage errors
    code, _, err = run([exe, "run", relax, "-o", f"{tmp}/bad", "--error-estimate=maybe"] + common)
    check(code == 2 and "expected on, verify or off" in err, f"--error-estimate=maybe: exit {code}")
    code, _, err = run([exe, "run", relax, "-o", f"{tmp}/odd", "--error-estimate=verify",
                        "--set", "domain.cells=402"] + common)
    check(code == 2 and "divisible by 4" in err, f"402 cells with verify: exit {code} ({err.strip()})")
    code, _, err = run([exe, "check", relax, "--set", "output.error_estimate=yes"])
    check(code == 2 and "error_estimate" in err, f"output.error_estimate=yes rejected: exit {code}")

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
