#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Grid convergence of the entropy-balance terms against the closed-form OU values.

For ou1d_relax, ou1d_moving_mean (1D) and ou2d_rotating (2D), at four resolutions (one
`fpentropy sweep` per case, its points run in parallel), measures
for each balance quantity x in kl, dkl_dt, sigma_tot, q_hk (and, where the closed form has
them, sigma_hk_hs and sigma_na) the error

    error = max over output times |x - x_exact|        (absolute)
    relative = error / max over output times |x_exact|

and the observed order log2(error ratio) between successive resolutions. A quantity whose
exact value is identically ~0 (q_hk and sigma_hk for the equilibrium ou1d_relax, whose
q_ref is the stationary density) has a round-off error and no order is required of it.

Also reports, per case and resolution, the largest |residual| and |residual_a7| (the
discrete A.13 and A.7 balances, which must hold to round-off), and runs the stationary
checks (ou2d_rotating to t = 8: sigma_hk_hs > 0 and close to the closed form, 0.5 at the
steady state; the gradient cases double_well_1d and ou1d_relax: sigma_hk_hs ~ 0).

Writes validation/results/balance_convergence.csv, balance_residuals.csv,
stationary_checks.csv and balance_convergence.png. Exit status 1 if an order between the two
finest grids is below 1.8 for a quantity with a nonzero exact value, a residual is not at
round-off, or a stationary check fails; 2 if a run fails.

    /usr/bin/python3 validation/balance_convergence.py [--fpentropy build/fpentropy] [--quick] [--jobs N]
"""
import csv
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from fpdata import order, read_summary, refinement_setup, run_case, run_sweep

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "validation" / "results"

MIN_ORDER = 1.8
# An exact value is "identically ~0" if its max |.| is below this times max |sigma_tot_exact|.
ZERO_EXACT = 1e-12
# Residuals must be below this times the scale max(|dkl_dt|, |sigma_tot|, |q_hk|) of the run.
RESIDUAL_REL_TOL = 1e-11
# Quantities compared: numerical column -> exact column.
QUANTITIES = [("kl", "kl_exact"), ("dkl_dt", "dkl_dt_exact"), ("sigma_tot", "sigma_tot_exact"),
              ("q_hk", "q_hk_exact"), ("sigma_hk_hs", "sigma_hk_exact"),
              ("sigma_na", "sigma_na_exact")]


# --------------------------------------------------------------------------- helpers





def cells_label(n, dim):
    return str(n) if dim == 1 else "x".join([str(n)] * dim)


# --------------------------------------------------------------------------- study
def main():
    args, exe, results, n1, n2, tol1, tol2 = refinement_setup(__doc__, RESULTS)
    studies = [("ou1d_relax", 1, n1, tol1), ("ou1d_moving_mean", 1, n1, tol1),
               ("ou2d_rotating", 2, n2, tol2)]
    solver = [f"solver.linear_solver={args.linear_solver}"]

    rows, resid_rows, stat_rows, failures, notes = [], [], [], [], []
    tmp = Path(tempfile.mkdtemp(prefix="fpval_bal_"))
    try:
        # ------------------------------------------------------------ refinement
        for case, dim, cells_list, (rtol, atol) in studies:
            prev = {}
            # the refinement of one case is one fpentropy sweep (its points run in parallel)
            sets = [f"time.rtol={rtol:g}", f"time.atol={atol:g}", "output.snapshots=0"] + solver
            try:
                points, table = run_sweep(exe, case, [f"domain.cells={','.join(map(str, cells_list))}"],
                                          tmp / case, sets, jobs=args.jobs)
            except RuntimeError as e:
                print(f"FAIL: run failed: {e}", file=sys.stderr)
                return 2
            for n, pt in zip(cells_list, points):
                bal = table[pt["name"]]
                summ = read_summary(pt["dir"] / "summary.txt")
                wall = pt["seconds"]
                print(f"  {case:18s} cells={cells_label(n, dim):>9s} "
                      f"({summ.get('linear_solver', '?')}, {wall:.1f} s)", flush=True)
                lo = float(summ["domain.lower"].split(",")[0])
                hi = float(summ["domain.upper"].split(",")[0])
                h = (hi - lo) / n
                scale_exact = float(np.max(np.abs(bal["sigma_tot_exact"])))
                for q, qx in QUANTITIES:
                    if q not in bal or qx not in bal:
                        continue
                    err = float(np.max(np.abs(bal[q] - bal[qx])))
                    mx = float(np.max(np.abs(bal[qx])))
                    zero = mx <= ZERO_EXACT * scale_exact
                    o = order(prev[q], err) if q in prev else None
                    prev[q] = err
                    rows.append(dict(case=case, dim=dim, cells=n, h=h, quantity=q, exact=qx,
                                     error=err,
                                     order=o, max_abs_exact=mx,
                                     relative=(err / mx) if not zero else float("nan"),
                                     exact_zero=zero))
                # balance residuals: round-off expected on every grid
                scale = max(float(np.max(np.abs(bal[c]))) for c in ("dkl_dt", "sigma_tot", "q_hk"))
                r13 = float(np.max(np.abs(bal["residual"])))
                r7 = float(np.max(np.abs(bal["residual_a7"])))
                ok = max(r13, r7) <= RESIDUAL_REL_TOL * scale
                resid_rows.append(dict(case=case, cells=cells_label(n, dim), residual=r13,
                                       residual_a7=r7, scale=scale,
                                       relative=max(r13, r7) / scale, pass_=ok,
                                       mass_drift=summ.get("max_relative_mass_drift", "")))
                if not ok:
                    failures.append(f"{case} {cells_label(n, dim)}: balance residual "
                                    f"{max(r13, r7):.2e} is not round-off "
                                    f"(> {RESIDUAL_REL_TOL:g} x {scale:.3g})")
            for q, _ in QUANTITIES:
                last = [r for r in rows if r["case"] == case and r["quantity"] == q]
                if not last:
                    continue
                last = last[-1]
                if last["exact_zero"]:
                    notes.append(f"{case}: {last['exact']} is identically ~0 "
                                 f"(max {last['max_abs_exact']:.1e}); its error "
                                 f"{last['error']:.1e} in {q} is round-off, no order required")
                elif not (last["order"] >= MIN_ORDER):
                    failures.append(f"{case}: {q} observed order between the two finest grids "
                                    f"is {last['order']:.3f} < {MIN_ORDER}")

        # ------------------------------------------------------------ stationary checks
        n_rot = 64 if args.quick else 128
        rtol, atol = tol2
        try:
            bal, _, wall = run_case(exe, "ou2d_rotating",
                                    [f"domain.cells={n_rot}", "time.end=8", f"time.rtol={rtol:g}",
                                     f"time.atol={atol:g}", "output.snapshots=0"] + solver,
                                    tmp / "rot_t8")
        except RuntimeError as e:
            print(f"FAIL: run failed: {e}", file=sys.stderr)
            return 2
        tag = f"ou2d_rotating {n_rot}x{n_rot} t=8"
        hs, hx = bal["sigma_hk_hs"], bal["sigma_hk_exact"]
        stat_rows.append((f"{tag}: min over t of sigma_hk_hs > 0", float(np.min(hs)), ">0", "",
                          bool(np.min(hs) > 0)))
        stat_rows.append((f"{tag}: sigma_hk_hs(8) vs sigma_hk_exact(8)", float(hs[-1]),
                          float(hx[-1]), 0.01 * abs(float(hx[-1])),
                          abs(hs[-1] - hx[-1]) <= 0.01 * abs(hx[-1])))
        stat_rows.append((f"{tag}: sigma_hk_hs(8) vs steady-state 2 w^2 = 0.5", float(hs[-1]),
                          0.5, 0.005, abs(hs[-1] - 0.5) <= 0.005))
        stat_rows.append((f"{tag}: max over t |sigma_hk_hs - sigma_hk_exact|",
                          float(np.max(np.abs(hs - hx))), 0.0, 0.01 * float(np.max(np.abs(hx))),
                          float(np.max(np.abs(hs - hx))) <= 0.01 * float(np.max(np.abs(hx)))))
        stat_rows.append((f"{tag}: sigma_na(8) (-> 0 as p -> p_ss)", float(bal["sigma_na"][-1]),
                          float(bal["sigma_na_exact"][-1]), 1e-4,
                          abs(bal["sigma_na"][-1] - bal["sigma_na_exact"][-1]) <= 1e-4))
        stat_rows.append((f"{tag}: sigma_tot(8) - sigma_hk_hs(8) - sigma_na(8) (split)",
                          float(bal["sigma_tot"][-1] - hs[-1] - bal["sigma_na"][-1]), 0.0, 1e-10,
                          abs(bal["sigma_tot"][-1] - hs[-1] - bal["sigma_na"][-1]) <= 1e-10))
        for case, n in (("double_well_1d", 300), ("ou1d_relax", 400)):
            try:
                bal, _, _ = run_case(exe, case, [f"domain.cells={n}", "output.snapshots=0"]
                                     + solver, tmp / f"{case}_grad")
            except RuntimeError as e:
                print(f"FAIL: run failed: {e}", file=sys.stderr)
                return 2
            st = float(np.max(np.abs(bal["sigma_tot"])))
            v = float(np.max(np.abs(bal["sigma_hk_hs"])))
            stat_rows.append((f"{case} {n} (gradient): max over t |sigma_hk_hs| / max sigma_tot",
                              v / st, 0.0, 1e-12, v / st <= 1e-12))
            stat_rows.append((f"{case} {n} (gradient): min over t sigma_hk_hs (>= 0 up to "
                              f"round-off)", float(np.min(bal["sigma_hk_hs"])), 0.0, 1e-12 * st,
                              float(np.min(bal["sigma_hk_hs"])) >= -1e-12 * st))
            sn = float(np.max(np.abs(bal["sigma_na"] - bal["sigma_tot"])))
            stat_rows.append((f"{case} {n} (gradient): max over t |sigma_na - sigma_tot| / max "
                              f"sigma_tot", sn / st, 0.0, 1e-12, sn / st <= 1e-12))
        for check, value, expected, tol, ok in stat_rows:
            if not ok:
                failures.append(f"stationary check failed: {check}: {value:.6g} "
                                f"(expected {expected}, tolerance {tol})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # ------------------------------------------------------------ output
    with open(results / "balance_convergence.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "cells", "quantity", "error", "order", "h", "max_abs_exact",
                    "relative_error", "exact_identically_zero"])
        for r in rows:
            w.writerow([r["case"], cells_label(r["cells"], r["dim"]), r["quantity"],
                        f"{r['error']:.6e}",
                        "" if r["order"] is None or r["exact_zero"] else f"{r['order']:.4f}",
                        f"{r['h']:.6g}", f"{r['max_abs_exact']:.6e}",
                        "" if r["exact_zero"] else f"{r['relative']:.6e}",
                        "yes" if r["exact_zero"] else "no"])
    with open(results / "balance_residuals.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "cells", "max_abs_residual", "max_abs_residual_a7", "scale",
                    "relative", "max_relative_mass_drift", "pass"])
        for r in resid_rows:
            w.writerow([r["case"], r["cells"], f"{r['residual']:.3e}", f"{r['residual_a7']:.3e}",
                        f"{r['scale']:.4g}", f"{r['relative']:.3e}", r["mass_drift"],
                        "yes" if r["pass_"] else "no"])
    with open(results / "stationary_checks.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["check", "value", "expected", "tolerance", "pass"])
        for check, value, expected, tol, ok in stat_rows:
            w.writerow([check, f"{value:.6e}", expected if isinstance(expected, str)
                        else f"{expected:.6g}", tol if isinstance(tol, str) else f"{tol:.3g}",
                        "yes" if ok else "no"])

    print()
    print("Balance terms: error = max_t |x - x_exact|, relative = error / max_t |x_exact|")
    print(f"{'case':18s} {'quantity':12s} {'cells':>9s} {'error':>10s} {'relative':>10s} "
          f"{'order':>7s}")
    for r in rows:
        o = "" if r["order"] is None else ("(0)" if r["exact_zero"] else f"{r['order']:.3f}")
        rel = "exact~0" if r["exact_zero"] else f"{r['relative']:.2e}"
        print(f"{r['case']:18s} {r['quantity']:12s} {cells_label(r['cells'], r['dim']):>9s} "
              f"{r['error']:10.3e} {rel:>10s} {o:>7s}")
    print()
    print("Balance residuals (must be round-off on every grid)")
    print(f"{'case':18s} {'cells':>9s} {'max|res A13|':>13s} {'max|res A7|':>12s} "
          f"{'scale':>8s} {'relative':>9s} {'mass drift':>10s}")
    for r in resid_rows:
        print(f"{r['case']:18s} {r['cells']:>9s} {r['residual']:13.2e} {r['residual_a7']:12.2e} "
              f"{r['scale']:8.3g} {r['relative']:9.1e} {r['mass_drift']:>10s}"
              + ("" if r["pass_"] else "  NOT ROUND-OFF"))
    print()
    print("Stationary checks")
    for check, value, expected, tol, ok in stat_rows:
        print(f"  {'ok  ' if ok else 'FAIL'} {check}: {value:.6g} (expected {expected}"
              + (f" +- {tol:.2g})" if not isinstance(tol, str) else ")"))
    if notes:
        print()
        for n in notes:
            print(f"note: {n}")

    if not args.no_plot:
        plot(rows, results / "balance_convergence.png")
    print(f"\nwrote {results}/balance_convergence.csv, balance_residuals.csv, "
          "stationary_checks.csv" + ("" if args.no_plot else ", balance_convergence.png"))
    if failures:
        for msg in failures:
            print(f"FAIL: {msg}")
        return 1
    print(f"PASS: orders >= {MIN_ORDER} for all quantities with a nonzero exact value, residuals "
          "at round-off, stationary checks passed")
    return 0


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    cases = list(dict.fromkeys(r["case"] for r in rows))
    fig, axes = plt.subplots(1, len(cases), figsize=(5 * len(cases), 4.4), squeeze=False)
    for ax, case in zip(axes[0], cases):
        qs = list(dict.fromkeys(r["quantity"] for r in rows if r["case"] == case))
        for i, q in enumerate(qs):
            rs = [r for r in rows if r["case"] == case and r["quantity"] == q]
            h = np.array([r["h"] for r in rs])
            e = np.array([max(r["error"], 1e-300) for r in rs])
            zero = rs[-1]["exact_zero"]
            ax.loglog(h, e, "x:" if zero else "o-", color=f"C{i}",
                      label=f"{q}" + (" (exact = 0)" if zero else ""))
        # slope-2 guide through the finest kl point
        rs = [r for r in rows if r["case"] == case and r["quantity"] == "kl"]
        h = np.array([r["h"] for r in rs])
        ax.loglog(h, rs[-1]["error"] * (h / h[-1]) ** 2, "k--", lw=0.8, label="slope 2")
        ax.set_title(case)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("cell width h")
        ax.set_ylabel("max_t |x - x_exact|")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
