#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Full-tensor diffusion: grid convergence, positivity and the discrete identities.

Three Ornstein-Uhlenbeck cases with off-diagonal D, each at four resolutions:
  ou2d_tensor_equilibrium  hidden equilibrium (drift D grad log q, J_ss = 0)   32..256 cells^2
  ou2d_tensor_correlated   correlated-noise steady state (J_ss != 0)             32..256 cells^2
  ou3d_tensor              3D, q_ref = N(0, I) not stationary                    16..48 cells^3
Every run is `fpentropy verify` (which also writes balance.csv and summary.txt), once with
the case's q_ref and once with `reference.density = stationary`. Asserted at every grid:
  - min p >= 0 (monotone scheme);
  - verify PASS (both references);
  - A.7, A.13 and split residuals <= 1e-12 relative (to the summed magnitude of the terms);
and between the two finest grids an observed order >= 1.9 for kl, dkl_dt, sigma_tot, q_hk,
sigma_hk_hs, sigma_na against the closed forms (src/balance/gaussian.c), error = max over
the output times of |x - x_exact|. A quantity whose exact value is identically 0 (q_hk and
sigma_hk_hs of the equilibrium case) must instead stay at round-off (<= 1e-10 of sigma_tot).

Cost: each case is also run at its finest grid with the off-diagonal entries of D set to 0
(the diagonal scheme, same drift), and the wall-time and right-hand-side-time ratios are
reported (one run each; timings on a shared machine are noisy).

Writes validation/results/tensor_convergence.csv, tensor_checks.csv, tensor_cost.csv and
tensor_convergence.png. Exit status 1 if an assertion fails, 2 if a run fails.

    /usr/bin/python3 validation/tensor_convergence.py [--fpentropy build/fpentropy] [--quick]
"""
import argparse
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fpdata import find_exe, read_balance, read_summary, write_csv  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "validation" / "results"

MIN_ORDER = 1.9
RESIDUAL_TOL = 1e-12
ZERO_EXACT = 1e-12          # exact value identically 0: max |x_exact| below this x max sigma_tot
ZERO_NUMERIC = 1e-10        # ... then the computed value must stay below this x max sigma_tot
RTOL, ATOL = 1e-8, 1e-13    # time error far below the space error
QUANTITIES = [("kl", "kl_exact"), ("dkl_dt", "dkl_dt_exact"), ("sigma_tot", "sigma_tot_exact"),
              ("q_hk", "q_hk_exact"), ("sigma_hk_hs", "sigma_hk_exact"),
              ("sigma_na", "sigma_na_exact")]
OFF_DIAGONAL = {2: ["dynamics.diffusion_xy=0"],
                3: ["dynamics.diffusion_xy=0", "dynamics.diffusion_xz=0", "dynamics.diffusion_yz=0"]}


def verify(exe, case, sets, out):
    """fpentropy verify; returns (passed, report text, balance, summary, wall seconds)."""
    cmd = [str(exe), "verify", str(ROOT / "cases" / f"{case}.ini"), "-o", str(out), "-q"]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(cmd)}\n  exit status {proc.returncode}\n  {proc.stderr.strip()}")
    return (proc.returncode == 0, proc.stdout, read_balance(Path(out) / "balance.csv"),
            read_summary(Path(out) / "summary.txt"), wall)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fpentropy", help="path to the fpentropy binary (default: build/fpentropy)")
    ap.add_argument("--quick", action="store_true", help="three coarser resolutions (smoke run)")
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args()
    exe = find_exe(args.fpentropy)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    n2 = [32, 64, 128] if args.quick else [32, 64, 128, 256]
    n3 = [16, 24, 32] if args.quick else [16, 24, 32, 48]
    studies = [("ou2d_tensor_equilibrium", 2, n2), ("ou2d_tensor_correlated", 2, n2),
               ("ou3d_tensor", 3, n3)]
    base = [f"time.rtol={RTOL:g}", f"time.atol={ATOL:g}", "output.snapshots=0", "output.split=on"]

    rows, checks, cost, failures = [], [], [], []
    tmp = Path(tempfile.mkdtemp(prefix="fpval_tensor_"))
    try:
        for case, dim, cells in studies:
            prev = {}
            for n in cells:
                label = "x".join([str(n)] * dim)
                sets = base + [f"domain.cells={n}"]
                try:
                    ok, report, bal, summ, wall = verify(exe, case, sets, tmp / f"{case}_{n}")
                    ok_s, report_s, _, summ_s, wall_s = verify(
                        exe, case, sets + ["reference.density=stationary"], tmp / f"{case}_{n}_s")
                except RuntimeError as e:
                    print(f"FAIL: run failed: {e}", file=sys.stderr)
                    return 2
                minp = min(float(summ["min_density"]), float(summ_s["min_density"]))
                res = max(float(s[k]) for s in (summ, summ_s) for k in
                          ("max_relative_residual_A13", "max_relative_residual_A7",
                           "max_relative_split_residual"))
                checks.append(dict(case=case, cells=label, min_p=minp, max_residual=res,
                                   verify=ok, verify_stationary=ok_s, wall_s=wall + wall_s,
                                   mass_drift=max(float(summ["max_relative_mass_drift"]),
                                                  float(summ_s["max_relative_mass_drift"]))))
                print(f"  {case:24s} {label:>9s}: min p {minp:.2e}, residuals {res:.1e}, verify "
                      f"{'PASS' if ok else 'FAIL'} / stationary {'PASS' if ok_s else 'FAIL'} "
                      f"({wall + wall_s:.1f} s)", flush=True)
                if minp < 0.0:
                    failures.append(f"{case} {label}: min p = {minp:.3e} < 0")
                if res > RESIDUAL_TOL:
                    failures.append(f"{case} {label}: residual {res:.2e} > {RESIDUAL_TOL:g}")
                for good, rep, what in ((ok, report, "q_ref of the case"),
                                        (ok_s, report_s, "reference.density = stationary")):
                    if not good:
                        failures.append(f"{case} {label}: verify FAIL ({what}):\n"
                                        + "\n".join(l for l in rep.splitlines() if l.startswith("FAIL")))
                scale = float(np.max(np.abs(bal["sigma_tot_exact"])))
                for q, qx in QUANTITIES:
                    err = float(np.max(np.abs(bal[q] - bal[qx])))
                    mx = float(np.max(np.abs(bal[qx])))
                    zero = mx <= ZERO_EXACT * scale
                    o = (math.log(prev[q][0] / err) / math.log(n / prev[q][1])
                         if q in prev and err > 0 and prev[q][0] > 0 else float("nan"))
                    prev[q] = (err, n)
                    rows.append(dict(case=case, dim=dim, cells=n, quantity=q, error=err,
                                     relative=err / mx if not zero else float("nan"),
                                     order=o, exact_zero=zero))
                    if zero and err > ZERO_NUMERIC * scale:
                        failures.append(f"{case} {label}: {q} has exact value 0 but error {err:.2e}")
            for q, _ in QUANTITIES:
                last = [r for r in rows if r["case"] == case and r["quantity"] == q][-1]
                if not last["exact_zero"] and not (last["order"] >= MIN_ORDER):
                    failures.append(f"{case}: observed order of {q} between the two finest grids "
                                    f"is {last['order']:.3f} < {MIN_ORDER}")
            # cost against the diagonal scheme at the finest grid (same drift, D_ij = 0 for i != j)
            n = cells[-1]
            # CVODE for both: its statistics (right-hand sides, J v) measure the work
            sets = base + [f"domain.cells={n}", "output.split=off", "time.integrator=cvode"]
            timing = {}
            for scheme, extra in (("tensor", []), ("diagonal", OFF_DIAGONAL[dim])):
                out = tmp / f"{case}_{n}_{scheme}"
                cmd = [str(exe), "run", str(ROOT / "cases" / f"{case}.ini"), "-o", str(out), "-q"]
                for s in sets + extra:
                    cmd += ["--set", s]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    print(f"FAIL: run failed: {' '.join(cmd)}\n{proc.stderr}", file=sys.stderr)
                    return 2
                s = read_summary(out / "summary.txt")
                timing[scheme] = s
            t, d = timing["tensor"], timing["diagonal"]
            row = dict(case=case, cells="x".join([str(n)] * dim),
                       tensor_wall=float(t["wall_seconds"]), diagonal_wall=float(d["wall_seconds"]),
                       tensor_step_s=float(t["step_seconds"]), diagonal_step_s=float(d["step_seconds"]),
                       tensor_steps=int(t["steps"]), diagonal_steps=int(d["steps"]),
                       tensor_rhs=int(t["rhs_evals"]) + int(t["jtimes_evals"]),
                       diagonal_rhs=int(d["rhs_evals"]) + int(d["jtimes_evals"]))
            row["step_time_ratio"] = row["tensor_step_s"] / row["diagonal_step_s"]
            row["time_per_operator_apply_ratio"] = ((row["tensor_step_s"] / row["tensor_rhs"]) /
                                                    (row["diagonal_step_s"] / row["diagonal_rhs"]))
            cost.append(row)
            print(f"  cost at {row['cells']}: stepping {row['tensor_step_s']:.2f} s (tensor) vs "
                  f"{row['diagonal_step_s']:.2f} s (diagonal): x{row['step_time_ratio']:.2f}; per "
                  f"operator application x{row['time_per_operator_apply_ratio']:.2f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    write_csv(results / "tensor_convergence.csv", rows,
              "validation/tensor_convergence.py: error = max over outputs |x - x_exact|; "
              "order = log(e_coarse/e_fine)/log(n_fine/n_coarse)")
    write_csv(results / "tensor_checks.csv", checks,
              "validation/tensor_convergence.py: per grid, both references (case q_ref and "
              "stationary); residuals relative to the summed magnitude of the terms")
    write_csv(results / "tensor_cost.csv", cost,
              "validation/tensor_convergence.py: finest grid, full tensor vs the same case with "
              "D_ij = 0 (i != j); one run each on a shared machine: noisy")

    print("\ncase                      quantity      error at the two finest grids     order")
    for case, _, _ in studies:
        for q, _ in QUANTITIES:
            r = [x for x in rows if x["case"] == case and x["quantity"] == q]
            tag = "  (exact 0)" if r[-1]["exact_zero"] else ""
            print(f"{case:25s} {q:12s}  {r[-2]['error']:.3e} -> {r[-1]['error']:.3e}      "
                  f"{r[-1]['order']:.3f}{tag}")

    if not args.no_plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, len(studies), figsize=(5 * len(studies), 4.2))
        for ax, (case, dim, cells) in zip(axes, studies):
            for q, _ in QUANTITIES:
                r = [x for x in rows if x["case"] == case and x["quantity"] == q]
                if r[-1]["exact_zero"]:
                    continue
                ax.loglog([x["cells"] for x in r], [x["error"] for x in r], "o-", label=q)
            c = np.array(cells, float)
            ref = [x for x in rows if x["case"] == case and x["quantity"] == "kl"][0]["error"]
            ax.loglog(c, ref * (c[0] / c) ** 2, "k--", lw=0.8, label="order 2")
            ax.set_title(case)
            ax.set_xlabel("cells per axis")
            ax.set_ylabel("max |x - x_exact|")
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(results / "tensor_convergence.png", dpi=110)

    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    print("\nall assertions hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
