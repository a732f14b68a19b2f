#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Grid convergence of the density against the closed-form Ornstein-Uhlenbeck solution.

Runs ou1d_relax and ou1d_moving_mean (1D) and ou2d_rotating (2D) at four resolutions (one
`fpentropy sweep` per case, its points run in parallel) with
time tolerances tight enough that the time error is well below the space error (this is
checked: the finest run is repeated at 10x tighter tolerances and the two densities are
compared directly), reads the l1_error column of balance.csv (L1 distance of the grid
density to the exact Gaussian at the cell centres) and reports

    l1_error        max over the output times
    l1_error_final  at the final time
    order           log2 of the error ratio between successive resolutions

Also runs the one-line study `fpentropy sweep cases/ou2d_rotating.ini --grid
domain.cells=32,64,128,256` (the case's own tolerances) and checks that it reproduces the
ou2d_rotating rows (l1_error within 1e-2 relative, orders within 0.01).

Writes validation/results/ou_convergence.csv, ou_convergence_time_check.csv,
ou_convergence_sweep_check.csv and ou_convergence.png. Exit status 1 if an observed order between the two finest grids is
below 1.8 or the time error is not well below the space error; 2 if a run fails.

    /usr/bin/python3 validation/ou_convergence.py [--fpentropy build/fpentropy] [--quick] [--jobs N]
"""
import csv
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from fpdata import order, read_summary, refinement_setup, run_sweep

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "validation" / "results"

MIN_ORDER = 1.8
# The time error of the finest run must be below this fraction of its space error.
MAX_TIME_TO_SPACE = 0.1
# The one-line sweep at the case's own tolerances (time.rtol = auto, whose time error is at most
# 5 % of the space error: tests/unit/test_tolerance.c) must match the study's ou2d_rotating rows
# to this relative error in l1_error and this difference in observed order.
ONELINER_REL = 1e-2
ONELINER_ORDER = 0.01


# --------------------------------------------------------------------------- helpers


def read_dat(path):
    """A .dat snapshot: returns the p column."""
    with open(path) as f:
        names = f.readline().lstrip("#").split()
    data = np.loadtxt(path, comments="#", ndmin=2)
    return data[:, names.index("p")]


def axis_length(summary):
    lo = [float(v) for v in summary["domain.lower"].split(",")]
    hi = [float(v) for v in summary["domain.upper"].split(",")]
    return hi[0] - lo[0], len(lo)




# --------------------------------------------------------------------------- study
def main():
    args, exe, results, n1, n2, tol1, tol2 = refinement_setup(__doc__, RESULTS)
    studies = [("ou1d_relax", n1, tol1), ("ou1d_moving_mean", n1, tol1),
               ("ou2d_rotating", n2, tol2)]

    rows, checks, failures, oneliner = [], [], [], []
    tmp_root = Path(tempfile.mkdtemp(prefix="fpval_conv_"))
    try:
        for case, cells_list, (rtol, atol) in studies:
            # One sweep per case (fpentropy sweep --zip): the refinement, then the finest grid
            # again at 10x tighter tolerances; the two finest runs keep 5 density snapshots
            # for the time-error check.
            nref = len(cells_list)
            zipped = [("domain.cells", cells_list + cells_list[-1:]),
                      ("output.snapshots", [0] * (nref - 1) + [5, 5]),
                      ("time.rtol", [f"{rtol:g}"] * nref + [f"{rtol / 10:g}"]),
                      ("time.atol", [f"{atol:g}"] * nref + [f"{atol / 10:g}"])]
            grids = [f"{k}={','.join(str(v) for v in vals)}" for k, vals in zipped]
            sets = ["output.snapshot_format=dat", f"solver.linear_solver={args.linear_solver}"]
            try:
                points, table = run_sweep(exe, case, grids, tmp_root / case, sets, zip_=True,
                                          jobs=args.jobs)
            except RuntimeError as e:
                print(f"FAIL: run failed: {e}", file=sys.stderr)
                return 2
            errs, errs_final = [], []
            for k, n in enumerate(cells_list):
                finest = k == nref - 1
                pt = points[k]
                bal, out = table[pt["name"]], pt["dir"]
                summ = read_summary(out / "summary.txt")
                wall = pt["seconds"]
                if "l1_error" not in bal:
                    print(f"FAIL: {case}: balance.csv has no l1_error column", file=sys.stderr)
                    return 2
                length, dim = axis_length(summ)
                h = length / n
                e_max = float(np.max(bal["l1_error"]))
                e_fin = float(bal["l1_error"][-1])
                o_max = order(errs[-1], e_max) if errs else None
                o_fin = order(errs_final[-1], e_fin) if errs_final else None
                errs.append(e_max)
                errs_final.append(e_fin)
                rows.append(dict(case=case, dim=dim, cells=n, h=h, l1_error=e_max, order=o_max,
                                 l1_error_final=e_fin, order_final=o_fin,
                                 wall_seconds=float(summ.get("wall_seconds", "nan")),
                                 steps=int(summ.get("steps", "0")),
                                 linear_solver=summ.get("linear_solver", "")))
                print(f"  {case:18s} cells={n:4d}{'^' + str(dim) if dim > 1 else '  '} "
                      f"l1(max t)={e_max:.3e} l1(final)={e_fin:.3e} "
                      f"({summ.get('linear_solver', '?')}, {wall:.1f} s)", flush=True)
                if finest:
                    # Time-error check: same grid, 10x tighter tolerances, compare densities.
                    tout = points[nref]["dir"]
                    vol = h ** dim
                    snaps = sorted(out.glob("snapshot_*.dat"))
                    terr = 0.0
                    for s in snaps:
                        pa = read_dat(s)
                        pb = read_dat(tout / s.name)
                        terr = max(terr, float(np.sum(np.abs(pa - pb)) * vol))
                    ratio = terr / e_max if e_max > 0 else float("inf")
                    ok = ratio < MAX_TIME_TO_SPACE and len(snaps) == 5
                    checks.append(dict(case=case, cells=n, rtol=rtol, atol=atol,
                                       time_error_l1=terr, space_error_l1=e_max,
                                       ratio=ratio, limit=MAX_TIME_TO_SPACE, pass_=ok))
                    if not ok:
                        failures.append(f"{case}: time error {terr:.2e} is not below "
                                        f"{MAX_TIME_TO_SPACE} x space error {e_max:.2e} "
                                        f"({len(snaps)} snapshots compared)")
            for label, o in (("max over t", rows[-1]["order"]),
                             ("final time", rows[-1]["order_final"])):
                if not (o >= MIN_ORDER):
                    failures.append(f"{case}: observed order ({label}) between the two finest "
                                    f"grids is {o:.3f} < {MIN_ORDER}")
        # The one-line refinement study of docs/sweeps.md, at the case file's own tolerances
        # (rtol 1e-6): fpentropy sweep cases/ou2d_rotating.ini --grid domain.cells=32,64,...
        # must reproduce the table above (time error far below space error at either rtol).
        try:
            points, table = run_sweep(exe, "ou2d_rotating", ["domain.cells=" + ",".join(map(str, n2))],
                                      tmp_root / "oneliner", jobs=args.jobs)
        except RuntimeError as e:
            print(f"FAIL: run failed: {e}", file=sys.stderr)
            return 2
        study = [r for r in rows if r["case"] == "ou2d_rotating"]
        prev = None
        for n, pt, r in zip(n2, points, study):
            e = float(np.max(table[pt["name"]]["l1_error"]))
            o = order(prev, e) if prev else None
            rel = abs(e - r["l1_error"]) / r["l1_error"]
            do = abs(o - r["order"]) if o is not None else 0.0
            ok = rel <= ONELINER_REL and do <= ONELINER_ORDER
            oneliner.append(dict(cells=n, l1_error=e, study=r["l1_error"], rel=rel, order=o,
                                 order_study=r["order"], pass_=ok))
            if not ok:
                failures.append(f"one-line sweep, cells={n}: l1 {e:.4e} vs study {r['l1_error']:.4e} "
                                f"(rel {rel:.1e} > {ONELINER_REL}) or order off by {do:.4f}")
            prev = e
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)

    fmt = lambda v: "" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))
    with open(results / "ou_convergence.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "cells", "h", "l1_error", "order", "l1_error_final", "order_final",
                    "wall_seconds", "steps", "linear_solver"])
        for r in rows:
            cells = f"{r['cells']}" if r["dim"] == 1 else "x".join([str(r["cells"])] * r["dim"])
            w.writerow([r["case"], cells, f"{r['h']:.6g}", f"{r['l1_error']:.6e}",
                        fmt(r["order"]), f"{r['l1_error_final']:.6e}", fmt(r["order_final"]),
                        f"{r['wall_seconds']:.3f}", r["steps"], r["linear_solver"]])
    with open(results / "ou_convergence_time_check.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "cells", "rtol", "atol", "time_error_l1", "space_error_l1",
                    "ratio", "limit", "pass"])
        for c in checks:
            w.writerow([c["case"], c["cells"], f"{c['rtol']:g}", f"{c['atol']:g}",
                        f"{c['time_error_l1']:.3e}", f"{c['space_error_l1']:.3e}",
                        f"{c['ratio']:.3e}", c["limit"], "yes" if c["pass_"] else "no"])

    print()
    print("Density L1 error against the closed form (order = log2 of successive error ratios)")
    print(f"{'case':18s} {'cells':>9s} {'h':>9s} {'L1 max_t':>11s} {'order':>6s} "
          f"{'L1 final':>11s} {'order':>6s} {'wall s':>7s}")
    for r in rows:
        cells = str(r["cells"]) if r["dim"] == 1 else "x".join([str(r["cells"])] * r["dim"])
        print(f"{r['case']:18s} {cells:>9s} {r['h']:9.4g} {r['l1_error']:11.3e} "
              f"{fmt(r['order']):>6s} {r['l1_error_final']:11.3e} {fmt(r['order_final']):>6s} "
              f"{r['wall_seconds']:7.2f}")
    print()
    print("Time-error check on the finest grid (L1 distance of p at rtol vs rtol/10, max over "
          "5 snapshots)")
    for c in checks:
        print(f"  {c['case']:18s} rtol={c['rtol']:g}: time error {c['time_error_l1']:.2e}, "
              f"space error {c['space_error_l1']:.2e}, ratio {c['ratio']:.1e} "
              f"(limit {c['limit']}) {'ok' if c['pass_'] else 'TOO LARGE'}")

    print()
    print("One-line sweep (fpentropy sweep cases/ou2d_rotating.ini --grid domain.cells=...) at the "
          "case's rtol against the study")
    with open(results / "ou_convergence_sweep_check.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["cells", "l1_error_sweep", "l1_error_study", "relative_difference",
                    "order_sweep", "order_study", "pass"])
        for c in oneliner:
            w.writerow([f"{c['cells']}x{c['cells']}", f"{c['l1_error']:.6e}", f"{c['study']:.6e}",
                        f"{c['rel']:.2e}", fmt(c["order"]), fmt(c["order_study"]),
                        "yes" if c["pass_"] else "no"])
            print(f"  {c['cells']:4d}^2 l1 {c['l1_error']:.4e} (study {c['study']:.4e}, rel "
                  f"{c['rel']:.1e}) order {fmt(c['order']) or '-':>6s} (study "
                  f"{fmt(c['order_study']) or '-'}) {'ok' if c['pass_'] else 'DIFFERS'}")
    if not args.no_plot:
        plot(rows, results / "ou_convergence.png")
    print(f"\nwrote {results / 'ou_convergence.csv'}, ou_convergence_time_check.csv"
          + ("" if args.no_plot else ", ou_convergence.png"))
    if failures:
        for msg in failures:
            print(f"FAIL: {msg}")
        return 1
    print(f"PASS: all observed orders between the two finest grids >= {MIN_ORDER}")
    return 0


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    cases = list(dict.fromkeys(r["case"] for r in rows))
    for i, case in enumerate(cases):
        rs = [r for r in rows if r["case"] == case]
        h = np.array([r["h"] for r in rs])
        e = np.array([r["l1_error"] for r in rs])
        ef = np.array([r["l1_error_final"] for r in rs])
        c = f"C{i}"
        ax.loglog(h, e, "o-", color=c, label=f"{case} (max over t)")
        ax.loglog(h, ef, "s--", color=c, alpha=0.6, label=f"{case} (final t)")
        ref = e[-1] * (h / h[-1]) ** 2
        ax.loglog(h, ref, ":", color="k", lw=0.8, label="slope 2" if i == 0 else None)
    ax.set_xlabel("cell width h")
    ax.set_ylabel("L1 error of p vs closed form")
    ax.set_title("Spatial convergence of the FV scheme (OU closed forms)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
