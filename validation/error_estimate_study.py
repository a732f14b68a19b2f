#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Does the two-grid error estimate (`[output] error_estimate`) tell the truth?

For every shipped case with closed forms (the linear-Gaussian ones: ou1d_relax,
ou1d_moving_mean, ou2d_rotating; ou3d_tensor is reported separately below), runs
`fpentropy run --error-estimate=verify` (grids N, N/2, N/4; time tolerances tight, so
that the time error is far below the space error) and, for every balance column Q with
a closed form (kl, dkl_dt, sigma_tot, q_hk, sigma_hk_hs, sigma_na), compares

    true error      |Q_h - Q_exact|        (fine grid N)
    estimate        |Q_err| = |Q_h - Q_2h| / 3
    Richardson      |Q_rich - Q_exact|,    Q_rich = (4 Q_h - Q_2h) / 3

and asserts
  (1) true / estimate in [0.5, 2] at every output time where the true error is above
      the floor of errors that do not depend on h (FLOOR_REL = 1e-8 x the column group's
      scale: max |kl_exact| for kl, the largest exact rate for the rates; see FLOOR_REL);
  (2) max_t |Q_rich - Q_exact| <= max_t |Q_h - Q_exact| / 10;
  (3) the three-grid observed order is 2 +- 0.5 at >= 90 % of the outputs above noise, so
      `verify` rarely flags a good estimate (the flag is conservative: it also fires where
      only the N/4 grid is outside the asymptotic range; the false alarms are listed).
Columns whose closed form is identically ~0 (q_hk, sigma_hk in ou1d_relax; sigma_hk in
ou1d_moving_mean) have an error at round-off: they are listed, nothing is asserted.

Also (asserted):
  - ou3d_tensor (full tensor D, 40^3, the shipped grid): the estimate is NOT asymptotic
    there (the N/2 = 20^3 grid under-resolves the initial width); `verify` flags it:
    some column has observed order outside 2 +- 0.5 at some output time;
  - absorbing_1d: the columns with the wall's half-cell flux (q_hk) converge at first
    order, and verify flags them; sigma_tot and boundary are not estimated;
  - double_well_1d, ring_1d (no closed form): observed orders 2 +- 0.5 at >= 90 % of the
    outputs above noise for kl, dkl_dt, sigma_tot;
  - the extrapolated curve from N and N/2 beats the plain curve at 2N (1D cases, and 2D
    unless --quick): max_t |Q_rich - Q_exact| < max_t |Q_2N - Q_exact| for kl, sigma_tot;
    the wall times of both are reported (not asserted: the machine is shared).
Cost of error_estimate = on (reported, not asserted): wall time of `run --error-estimate`
over a plain run of the same case, both measured here, for ou2d_rotating and ou3d_tensor.

Writes validation/results/error_estimate_study.csv, error_estimate_orders.csv,
error_estimate_cost.csv and error_estimate_study.png. Exit 1 when an assertion fails, 2
when a run fails.

    /usr/bin/python3 validation/error_estimate_study.py [--fpentropy build/fpentropy] [--quick]
"""
import argparse
import csv
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fpdata import ROOT, find_exe, read_balance, read_summary

RESULTS = ROOT / "validation" / "results"
# True errors below this x scale are not discretisation error: round-off, the time error of
# the fine run, and the truncation of the free-space closed forms at the walls (ou2d_rotating
# at t = 0: |kl - kl_exact| = 3.9e-9 = 1.5e-9 of max kl, while the grid-dependent part is
# 5e-11: the midpoint rule is spectrally accurate for the initial Gaussian). No refinement
# sees an error that does not depend on h.
FLOOR_REL = 1e-8
RATIO_LO, RATIO_HI = 0.5, 2.0
RICH_GAIN = 10.0
ORDER_TOL = 0.5
ZERO_EXACT = 1e-12        # closed form identically ~0 (relative to the group scale)
PAIRS = [("kl", "kl_exact"), ("dkl_dt", "dkl_dt_exact"), ("sigma_tot", "sigma_tot_exact"),
         ("q_hk", "q_hk_exact"), ("sigma_hk_hs", "sigma_hk_exact"),
         ("sigma_na", "sigma_na_exact")]
TIGHT_1D = ["time.rtol=1e-9", "time.atol=1e-15"]
TIGHT_2D = ["time.rtol=1e-8", "time.atol=1e-14"]


def run(exe, case, sets, out, extra=()):
    cmd = [str(exe), "run", str(ROOT / "cases" / f"{case}.ini"), "-o", str(out), "-q",
           "--set", "output.snapshots=0"] + list(extra)
    for s in sets:
        cmd += ["--set", s]
    import subprocess
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    return read_balance(Path(out) / "balance.csv"), Path(out) / "summary.txt", wall


def read_orders(summary_path):
    """summary.txt 'error_orders t v1 v2 ...' lines -> (names, list of rows of strings)."""
    names, rows = None, []
    with open(summary_path) as f:
        for ln in f:
            if ln.startswith("# error_orders t"):
                names = ln.split()[3:]
            elif ln.startswith("error_orders "):
                rows.append(ln.split()[1:])
    return names, rows


def order_stats(summary_path, column):
    """(number of outputs above noise, number flagged, list of orders) for one column."""
    names, rows = read_orders(summary_path)
    j = names.index(column) + 1
    orders, flagged, above = [], 0, 0
    for r in rows:
        v = r[j]
        if v == "-":
            continue
        above += 1
        if v.endswith("*"):
            flagged += 1
            v = v[:-1]
        orders.append(float(v))
    return above, flagged, orders


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fpentropy", help="path to the fpentropy binary")
    ap.add_argument("--quick", action="store_true", help="no 2N run in 2D (256^2)")
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args()
    exe = find_exe(args.fpentropy)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    # 64^2 (with 32^2 and 16^2 for the order) is not yet asymptotic for this case: the
    # estimate is flagged there (observed orders 1.5-2.4), as it should be
    n2d = 128
    studies = [("ou1d_relax", 400, TIGHT_1D), ("ou1d_moving_mean", 440, TIGHT_1D),
               ("ou2d_rotating", n2d, TIGHT_2D)]
    rows, order_rows, cost_rows, failures, notes, curves = [], [], [], [], [], {}
    tmp = Path(tempfile.mkdtemp(prefix="fpval_errest_"))
    try:
        for case, n, tight in studies:
            sets = [f"domain.cells={n}"] + tight
            try:
                bal, summ, wall = run(exe, case, sets, tmp / case, ["--error-estimate=verify"])
            except RuntimeError as e:
                print(f"FAIL: run failed: {e}", file=sys.stderr)
                return 2
            print(f"  {case:18s} N={n} verify estimate ({wall:.1f} s)", flush=True)
            curves[case] = bal
            if case == "ou2d_rotating":  # the floor: an h-independent error at t = 0
                e0 = abs(bal["kl"][0] - bal["kl_exact"][0]) / float(np.max(bal["kl_exact"]))
                est0 = abs(bal["kl_err"][0]) / float(np.max(bal["kl_exact"]))
                notes.append(f"ou2d_rotating t=0: |kl - exact| = {e0:.2e}, |kl_err| = {est0:.2e} "
                             "of max kl (domain truncation, not seen by refinement)")
                if not (1e-10 < e0 < FLOOR_REL and est0 < 0.1 * e0):
                    failures.append(f"ou2d_rotating t=0: expected an h-independent kl error "
                                    f"between 1e-10 and {FLOOR_REL:g} of max kl with an estimate "
                                    f"< 1/10 of it; got {e0:.2e} and {est0:.2e}")
            rate_scale = max(float(np.max(np.abs(bal[x]))) for q, x in PAIRS
                             if q != "kl" and x in bal)
            for q, qx in PAIRS:
                if q not in bal or qx not in bal:
                    continue
                scale = float(np.max(np.abs(bal[qx]))) if q == "kl" else rate_scale
                true = np.abs(bal[q] - bal[qx])
                est = np.abs(bal[q + "_err"])
                rich = np.abs(bal[q + "_rich"] - bal[qx])
                zero = float(np.max(np.abs(bal[qx]))) <= ZERO_EXACT * scale
                above = true > FLOOR_REL * scale
                ratio = np.where(above & (est > 0), true / np.where(est > 0, est, 1.0), np.nan)
                if not np.any(above & (est == 0)):
                    pass
                else:
                    failures.append(f"{case} {q}: estimate exactly 0 where the error is not")
                lo = float(np.nanmin(ratio)) if np.any(above) else float("nan")
                hi = float(np.nanmax(ratio)) if np.any(above) else float("nan")
                gain = float(np.max(true)) / max(float(np.max(rich)), 1e-300)
                a_above, a_flag, a_orders = order_stats(summ, q)
                rows.append(dict(case=case, cells=n, column=q, max_true=float(np.max(true)),
                                 max_estimate=float(np.max(est)), ratio_min=lo, ratio_max=hi,
                                 outputs_above_floor=int(np.sum(above)), outputs=len(true),
                                 max_rich=float(np.max(rich)), gain=gain, exact_zero=zero,
                                 order_median=float(np.median(a_orders)) if a_orders else float("nan"),
                                 flagged=a_flag, orders_above_noise=a_above))
                if zero:
                    notes.append(f"{case} {q}: closed form identically ~0, error "
                                 f"{float(np.max(true)):.1e} is round-off; nothing asserted")
                    continue
                if np.any(above) and not (lo >= RATIO_LO and hi <= RATIO_HI):
                    failures.append(f"{case} {q}: true/estimate in [{lo:.3f}, {hi:.3f}], not "
                                    f"within [{RATIO_LO}, {RATIO_HI}]")
                if not gain >= RICH_GAIN:
                    failures.append(f"{case} {q}: Richardson error {float(np.max(rich)):.2e} only "
                                    f"{gain:.1f}x below the error {float(np.max(true)):.2e} "
                                    f"(< {RICH_GAIN}x)")
                if a_flag > 0.1 * a_above:
                    failures.append(f"{case} {q}: observed order flagged at {a_flag} of {a_above} "
                                    "outputs (> 10 %)")
                elif a_flag:
                    notes.append(f"{case} {q}: observed order flagged at {a_flag} of {a_above} "
                                 f"outputs although true/estimate is in [{lo:.2f}, {hi:.2f}] "
                                 "(a false alarm of the conservative flag)")
            # the extrapolated curve against the plain curve at 2N
            if not (args.quick and case == "ou2d_rotating"):
                try:
                    bal2, _, wall2 = run(exe, case, [f"domain.cells={2 * n}"] + tight,
                                         tmp / f"{case}_2N")
                    _, _, wall_on = run(exe, case, sets, tmp / f"{case}_on", ["--error-estimate"])
                except RuntimeError as e:
                    print(f"FAIL: run failed: {e}", file=sys.stderr)
                    return 2
                for q in ("kl", "sigma_tot"):
                    e_rich = float(np.max(np.abs(bal[q + "_rich"] - bal[q + "_exact"])))
                    e_2n = float(np.max(np.abs(bal2[q] - bal2[q + "_exact"])))
                    cost_rows.append(dict(case=case, what=f"{q}: N,N/2 Richardson vs plain 2N",
                                          error_a=e_rich, error_b=e_2n, seconds_a=wall_on,
                                          seconds_b=wall2))
                    if not e_rich < e_2n:
                        failures.append(f"{case} {q}: Richardson from N, N/2 ({e_rich:.2e}) is not "
                                        f"more accurate than the plain 2N curve ({e_2n:.2e})")

        # ------------------------------------------------ flagged cases
        for case, sets, expect_flag, cols in (
                ("ou3d_tensor", ["time.rtol=1e-7", "time.atol=1e-13"], True, None),
                ("absorbing_1d", [], True, ["q_hk"]),
                ("double_well_1d", [], False, ["kl", "dkl_dt", "sigma_tot"]),
                ("ring_1d", [], False, ["kl", "dkl_dt", "sigma_tot"])):
            try:
                bal, summ, wall = run(exe, case, sets, tmp / case, ["--error-estimate=verify"])
            except RuntimeError as e:
                print(f"FAIL: run failed: {e}", file=sys.stderr)
                return 2
            print(f"  {case:18s} verify estimate ({wall:.1f} s)", flush=True)
            names, _ = read_orders(summ)
            any_flag = False
            for q in names:
                a_above, a_flag, a_orders = order_stats(summ, q)
                med = float(np.median(a_orders)) if a_orders else float("nan")
                order_rows.append(dict(case=case, column=q, above_noise=a_above, flagged=a_flag,
                                       median=med,
                                       lo=min(a_orders) if a_orders else float("nan"),
                                       hi=max(a_orders) if a_orders else float("nan")))
                any_flag |= a_flag > 0
                if cols and q in cols:
                    if expect_flag and a_flag == 0:
                        failures.append(f"{case} {q}: expected the estimate to be flagged")
                    if not expect_flag and a_above and a_flag > 0.1 * a_above:
                        failures.append(f"{case} {q}: flagged at {a_flag} of {a_above} outputs "
                                        "(> 10 %)")
            if expect_flag and cols is None and not any_flag:
                failures.append(f"{case}: expected some column to be flagged (not asymptotic)")
            if case == "absorbing_1d":
                hdr = set(bal)
                if "sigma_tot_err" in hdr or "boundary_err" in hdr:
                    failures.append("absorbing_1d: sigma_tot / boundary must not be estimated")
            if case == "ou3d_tensor":
                outside = []
                for q, qx in PAIRS:
                    if q in bal and qx in bal:
                        true = np.abs(bal[q] - bal[qx])
                        est = np.abs(bal[q + "_err"])
                        rows.append(dict(case=case, cells=40, column=q,
                                         max_true=float(np.max(true)),
                                         max_estimate=float(np.max(est)),
                                         ratio_min=float(np.min(true / np.maximum(est, 1e-300))),
                                         ratio_max=float(np.max(true / np.maximum(est, 1e-300))),
                                         outputs_above_floor=len(true), outputs=len(true),
                                         max_rich=float(np.max(np.abs(bal[q + "_rich"] - bal[qx]))),
                                         gain=float("nan"), exact_zero=False,
                                         order_median=float("nan"), flagged=-1,
                                         orders_above_noise=-1))
                        if not (rows[-1]["ratio_min"] >= RATIO_LO
                                and rows[-1]["ratio_max"] <= RATIO_HI):
                            outside.append(q)
                if not outside:
                    failures.append("ou3d_tensor 40^3: expected the (flagged) estimate to be off "
                                    "by more than 2x somewhere; it is not: update the docs")

        # ------------------------------------------------ cost of error_estimate = on
        for case, sets in (("ou2d_rotating", [f"domain.cells={n2d}"]),
                           ("ou3d_tensor", [])):
            try:
                _, _, w_plain = run(exe, case, sets, tmp / f"{case}_plain")
                _, s_on, w_on = run(exe, case, sets, tmp / f"{case}_cost", ["--error-estimate"])
            except RuntimeError as e:
                print(f"FAIL: run failed: {e}", file=sys.stderr)
                return 2
            summ = read_summary(s_on)
            # work model: 1 + 2^-d x (coarse steps / fine steps), per-step cost ~ cells
            fine_steps = int(summ["steps"])
            coarse_steps = int(summ["error_estimate_seconds"].split("s, ")[1].split(" steps")[0])
            d = 2 if case.startswith("ou2d") else 3
            predicted = 1.0 + 2.0 ** -d * coarse_steps / fine_steps
            cost_rows.append(dict(case=case, what="error_estimate=on / plain run (wall)",
                                  error_a=float("nan"), error_b=float("nan"), seconds_a=w_on,
                                  seconds_b=w_plain,
                                  reported=summ.get("error_estimate_cost", "").split(" ")[0]
                                  + f"; steps {fine_steps} fine, {coarse_steps} coarse "
                                  f"(rtol/10): predicted {predicted:.3f}"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # ------------------------------------------------ output
    with open(results / "error_estimate_study.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "cells_per_axis", "column", "max_true_error", "max_estimate",
                    "true_over_estimate_min", "true_over_estimate_max", "outputs_above_floor",
                    "outputs", "max_richardson_error", "richardson_gain", "exact_identically_zero",
                    "observed_order_median", "order_flagged", "orders_above_noise"])
        for r in rows:
            w.writerow([r["case"], r["cells"], r["column"], f"{r['max_true']:.4e}",
                        f"{r['max_estimate']:.4e}", f"{r['ratio_min']:.4f}",
                        f"{r['ratio_max']:.4f}", r["outputs_above_floor"], r["outputs"],
                        f"{r['max_rich']:.4e}", f"{r['gain']:.1f}",
                        "yes" if r["exact_zero"] else "no", f"{r['order_median']:.3f}",
                        r["flagged"], r["orders_above_noise"]])
    with open(results / "error_estimate_orders.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "column", "outputs_above_noise", "flagged", "order_median",
                    "order_min", "order_max"])
        for r in order_rows:
            w.writerow([r["case"], r["column"], r["above_noise"], r["flagged"],
                        f"{r['median']:.3f}", f"{r['lo']:.3f}", f"{r['hi']:.3f}"])
    with open(results / "error_estimate_cost.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "comparison", "error_a", "error_b", "seconds_a", "seconds_b",
                    "ratio_a_over_b", "summary_cost"])
        for r in cost_rows:
            w.writerow([r["case"], r["what"], f"{r['error_a']:.3e}", f"{r['error_b']:.3e}",
                        f"{r['seconds_a']:.2f}", f"{r['seconds_b']:.2f}",
                        f"{r['seconds_a'] / r['seconds_b']:.2f}", r.get("reported", "")])

    print()
    print("Closed-form columns: true error |Q_h - exact| against the estimate |Q_err|")
    print(f"{'case':17s} {'column':12s} {'max true':>10s} {'max est':>10s} {'true/est':>15s} "
          f"{'max rich':>10s} {'gain':>8s} {'order':>6s} {'flag':>5s}")
    for r in rows:
        print(f"{r['case']:17s} {r['column']:12s} {r['max_true']:10.2e} {r['max_estimate']:10.2e} "
              f"[{r['ratio_min']:5.2f}, {r['ratio_max']:5.2f}] {r['max_rich']:10.2e} "
              f"{r['gain']:8.1f} {r['order_median']:6.2f} {r['flagged']:5d}"
              + ("  (exact ~0)" if r["exact_zero"] else ""))
    print()
    print("Observed orders (3 grids) on the cases without closed forms and the flagged ones")
    for r in order_rows:
        print(f"  {r['case']:15s} {r['column']:12s} median {r['median']:6.3f} "
              f"[{r['lo']:6.3f}, {r['hi']:6.3f}]  flagged {r['flagged']} of {r['above_noise']}")
    print()
    print("Cost and accuracy against refinement (wall seconds, shared machine: noisy)")
    for r in cost_rows:
        print(f"  {r['case']:15s} {r['what']:40s} errors {r['error_a']:.2e} vs {r['error_b']:.2e}"
              f"  seconds {r['seconds_a']:.2f} vs {r['seconds_b']:.2f} "
              f"(ratio {r['seconds_a'] / r['seconds_b']:.2f})"
              + (f"  summary: {r['reported']}" if r.get("reported") else ""))
    for n_ in notes:
        print(f"note: {n_}")
    if not args.no_plot:
        plot(curves, results / "error_estimate_study.png")
    if failures:
        for m in failures:
            print(f"FAIL: {m}")
        return 1
    print(f"PASS: true/estimate in [{RATIO_LO}, {RATIO_HI}] above the floor, Richardson >= "
          f"{RICH_GAIN}x better, orders 2 +- {ORDER_TOL}, flags where expected")
    return 0


def plot(curves, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 4.2), squeeze=False)
    for ax, (case, b) in zip(axes[0], curves.items()):
        for i, q in enumerate(("kl", "sigma_tot", "q_hk")):
            if q + "_exact" not in b or np.max(np.abs(b[q + "_exact"])) < 1e-12:
                continue
            t = b["t"]
            pos = lambda v: np.where(v > 0, v, np.nan)
            ax.semilogy(t, pos(np.abs(b[q] - b[q + "_exact"])), "-", color=f"C{i}",
                        label=f"|{q} - exact|")
            ax.semilogy(t, pos(np.abs(b[q + "_err"])), "o", ms=3, color=f"C{i}",
                        label=f"|{q}_err| (estimate)")
            ax.semilogy(t, pos(np.abs(b[q + "_rich"] - b[q + "_exact"])), "--", color=f"C{i}",
                        label=f"|{q}_rich - exact|")
        ax.set(title=case, xlabel="t", ylabel="error")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
