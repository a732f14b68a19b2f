# Figures from an fpentropy output directory (python3 -m fpentropy.plot, tools/fpentropy-plot).
# SPDX-License-Identifier: GPL-3.0-or-later
"""fpentropy-plot: figures from an fpentropy output directory.

    python3 -m fpentropy.plot DIR [-o OUT_DIR] [--format png|pdf|svg] [--prefix NAME]
                       [--only run,compare,policy]

DIR may hold the output of `fpentropy run`, `compare` and `policy` (the latter two
also write the run files); every kind found is plotted.

run (balance.csv, snapshot_NNNN.dat):
  balance.FMT             KL divergence, the balance dKL/dt = -Sigma_tot + Q_hk
                          + boundary, the Sigma_tot split (if in the CSV), and the
                          residuals on a log axis; closed-form curves dashed.  With
                          `run --error-estimate`: a band of +- Q_err on each curve,
                          the Richardson curve Q_rich dashed (closed forms dotted),
                          and the estimated against the true error.
  density.FMT             1D: p, log(p/q), J_x and the entropy-production density
                          at each snapshot time.  2D: up to 6 snapshots side by
                          side, p as a colour map with the current J as arrows.
                          3D: the same on the mid-plane z slice.
  entropy_production.FMT  2D/3D: the local entropy-production density field.
compare (compare.csv, compare_rate.csv, compare_summary.csv):
  compare_curves.FMT      per estimator and N: the estimates' mean +- sd against
                          the PDE's KL, with zero marked and an early-time inset.
  compare_rate.FMT        the same for the rate dKL/dt.
  compare_rmse.FMT        RMSE against N (log-log), fitted slopes, N^-1/2 guide.
policy (policy_summary.csv, policy_NN.csv, oracle.csv, pareto.csv,
        policy_sampled.csv):
  policy_mismatch.FMT     per policy and the oracle: D(t) with the retrains.
  policy_retrains.FMT     cumulative retrains and cost over time.
  policy_pareto.FMT       mismatch integral against retrains: oracle frontier
                          and each policy.
  policy_sampled.FMT      (with policy_sampled.csv) cost ratio to the oracle and
                          retrains, exact-driven against sample-driven.

See tools/README-plot.md.  Exit status: 0 on success, 1 on any error.
"""
import argparse
import csv
import glob
import math
import os
import re
import sys
import warnings

try:
    import numpy as np
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.patches
    import matplotlib.ticker
    from matplotlib.lines import Line2D
except ImportError as exc:  # pragma: no cover - depends on the installation
    sys.exit(f"fpentropy-plot: error: {exc} (numpy and matplotlib are needed; "
             f"Debian: apt install python3-numpy python3-matplotlib)")

from .readers import dat_header  # noqa: E402

PROG = "fpentropy-plot"
MAX_FIELD_SNAPSHOTS = 6   # snapshots shown side by side in the 2D/3D figures
ARROWS = 20               # about ARROWS x ARROWS current arrows per panel


class PlotError(Exception):
    """A problem with the input that ends the program with a message."""


def warn(msg):
    print(f"{PROG}: warning: {msg}", file=sys.stderr)


# ---------------------------------------------------------------- reading ---

def sidecar_comments(csv_path):
    """The "comment" lines of the table's sidecar <stem>.json (a .partial table: none)."""
    import json
    stem = csv_path[:-4] if csv_path.endswith(".csv") else csv_path
    try:
        with open(stem + ".json") as f:
            meta = json.load(f)
        return [str(c) for c in meta.get("comment", [])] if isinstance(meta, dict) else []
    except (OSError, ValueError):
        return []


def read_balance(run_dir):
    """balance.csv -> (dict column -> float array, case name or None)."""
    path = os.path.join(run_dir, "balance.csv")
    if not os.path.isfile(path) and os.path.isfile(path + ".partial"):
        path += ".partial"  # a run that stopped early (or is still running) leaves this
        warn(f"{run_dir}: no balance.csv, plotting the rows in {path} (unfinished run)")
    if not os.path.isfile(path):
        raise PlotError(f"{run_dir}: not an fpentropy run directory (no balance.csv)")
    case, header, rows = None, None, []
    with open(path, newline="") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):
                m = re.match(r"#\s*case\s+([^;]+)", line)
                if m and case is None:
                    case = os.path.splitext(os.path.basename(m.group(1).strip()))[0]
                continue
            fields = next(csv.reader([line]))
            if header is None:
                header = [h.strip() for h in fields]
                continue
            if len(fields) != len(header):
                raise PlotError(f"{path}:{lineno}: {len(fields)} values, "
                                f"header has {len(header)} columns")
            try:
                rows.append([float(v) for v in fields])
            except ValueError as exc:
                raise PlotError(f"{path}:{lineno}: {exc}") from None
    if header is None or not rows:
        raise PlotError(f"{path}: no header or no data rows")
    for line in sidecar_comments(path):  # balance.json: "case PATH; versions; ..."
        m = re.match(r"\s*case\s+([^;]+)", line)
        if m and case is None:
            case = os.path.splitext(os.path.basename(m.group(1).strip()))[0]
    for needed in ("t", "kl", "dkl_dt", "sigma_tot", "q_hk"):
        if needed not in header:
            raise PlotError(f"{path}: column '{needed}' missing")
    data = np.array(rows, dtype=float)
    return {name: data[:, j] for j, name in enumerate(header)}, case


def read_summary(run_dir):
    """summary.txt 'key: value' lines -> dict of strings (empty if absent)."""
    out = {}
    try:
        with open(os.path.join(run_dir, "summary.txt")) as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and not line.startswith("#") and key not in out:
                    out[key.strip()] = value.strip()
    except OSError:
        warn(f"{run_dir}: no readable summary.txt")
    return out


def snapshot_list(run_dir):
    """[(index, t, path of snapshot_NNNN.dat)] for the .dat files that exist."""
    times = {}
    index_path = os.path.join(run_dir, "snapshots.csv")
    if os.path.isfile(index_path):
        with open(index_path, newline="") as f:
            lines = [line for line in f if line.strip() and not line.startswith("#")]
        for row in csv.DictReader(lines):
            try:
                times[int(row["index"])] = float(row["t"])
            except (KeyError, TypeError, ValueError):
                raise PlotError(f"{index_path}: expected columns index,t") from None
    snaps = []
    for path in sorted(glob.glob(os.path.join(run_dir, "snapshot_[0-9]*.dat"))):
        m = re.search(r"snapshot_(\d+)\.dat$", path)
        if m:
            idx = int(m.group(1))
            snaps.append((idx, times.get(idx), path))
    return snaps


def read_snapshot(path):
    """snapshot_NNNN.dat -> (dict column -> array, t from the header or None)."""
    names, t = dat_header(path)
    if not names or "p" not in names:
        raise PlotError("the first header line does not name the columns")
    with warnings.catch_warnings():  # an empty file is reported below, not by numpy
        warnings.simplefilter("ignore")
        values = np.loadtxt(path, comments="#", ndmin=2)
    if values.size == 0:
        raise PlotError("no data rows")
    if values.shape[1] != len(names):
        raise PlotError(f"{values.shape[1]} columns, the header names {len(names)}")
    return {n: values[:, j] for j, n in enumerate(names)}, t


def to_grid(snap, axes):
    """Scatter columns (one row per cell) -> (axis centre arrays, field getter).

    The field getter returns a name's values as an array indexed [k][j][i]
    (z, y, x), which holds whatever order the rows were written in."""
    centres = [np.unique(snap[a]) for a in axes]
    shape = tuple(len(c) for c in reversed(centres))
    if math.prod(shape) != len(snap["p"]):
        raise PlotError(f"snapshot is not a full tensor grid ({shape} for {len(snap['p'])} rows)")
    index = tuple(np.searchsorted(c, snap[a]) for a, c in reversed(list(zip(axes, centres))))

    def field(name):
        out = np.full(shape, np.nan)
        out[index] = snap[name]
        return out
    return centres, field


# ---------------------------------------------------------------- figures ---

def _plot_pair(ax, d, name, label, colour, sign=1.0, **kw):
    """Plot sign*d[name] and, dashed, sign*d[name + '_exact'] when present; with an error
    estimate (run --error-estimate) also the band +- |name_err| and, dashed, name_rich
    (the closed form is then dotted, so the two stay apart)."""
    if name + "_exact" in d:  # a translucent band, so the dashed curve shows on it
        kw = {"lw": 4.0, "alpha": 0.4, **kw}
    else:
        kw = {"lw": 2.0, **kw}
    if name in d:
        ax.plot(d["t"], sign * d[name], color=colour, label=label, **kw)
        if name + "_err" in d:  # +- one estimated discretisation error
            y, e = sign * d[name], np.abs(d[name + "_err"])
            ax.fill_between(d["t"], y - e, y + e, color=colour, alpha=0.25, lw=0)
    if name + "_rich" in d:
        ax.plot(d["t"], sign * d[name + "_rich"], color=colour, ls="--", lw=1.2, zorder=4)
    if name + "_exact" in d:  # labelled only when it stands alone
        ax.plot(d["t"], sign * d[name + "_exact"], color=colour,
                ls=":" if name + "_rich" in d else (0, (4, 3)), lw=1.0,
                zorder=3, label=None if name in d or not label else label + " (closed form)")


def _exact_legend(ax, d):
    handles, labels = ax.get_legend_handles_labels()
    rich = any(k.endswith("_rich") for k in d)
    if any(k.endswith("_exact") for k in d):
        handles.append(Line2D([], [], color="grey", ls=":" if rich else "--"))
        labels.append("closed form (dotted)" if rich else "closed form (dashed)")
    if rich:
        handles.append(Line2D([], [], color="grey", ls="--"))
        labels.append("Richardson extrapolation (dashed)")
        handles.append(matplotlib.patches.Patch(color="grey", alpha=0.25))
        labels.append("band: $\\pm$ estimated discretisation error")
    ax.legend(handles, labels, fontsize=8)


KL, DKL = r"$D_\mathrm{KL}$", r"$\mathrm{d}D_\mathrm{KL}/\mathrm{d}t$"
S_TOT, S_HK, S_NA = r"$\Sigma_\mathrm{tot}$", r"$\Sigma_\mathrm{hk}$", r"$\Sigma_\mathrm{na}$"
Q_HK = r"$Q_\mathrm{hk}$"


def _positive(v):
    """|v| with zeros as NaN, for a log axis."""
    v = np.abs(v)
    return np.where(v > 0, v, np.nan)


def figure_balance(d, summary, title, out):
    t = d["t"]
    has_split = "sigma_hk_hs" in d or "sigma_hk_exact" in d
    has_exact = "l1_error" in d or "kl_exact" in d or "kl_err" in d
    panels = 4 + has_split + has_exact
    nrows = (panels + 1) // 2
    fig, axs = plt.subplots(nrows, 2, figsize=(11, 3.6 * nrows),
                            constrained_layout=True, squeeze=False)
    axs = list(axs.flat)
    for ax in axs[panels:]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: entropy balance   {DKL} = $-${S_TOT} + {Q_HK} + boundary")

    ax = axs.pop(0)
    _plot_pair(ax, d, "kl", KL + r"$(p\,\|\,q_\mathrm{ref})$", "C0")
    ax.set(xlabel="t", ylabel=KL, title="Kullback-Leibler divergence")
    _exact_legend(ax, d)

    ax = axs.pop(0)
    _plot_pair(ax, d, "dkl_dt", DKL, "k", lw=5, alpha=0.3)
    _plot_pair(ax, d, "sigma_tot", "$-$" + S_TOT, "C3", sign=-1.0)
    _plot_pair(ax, d, "q_hk", Q_HK, "C2")
    if "boundary" in d and np.any(np.nan_to_num(d["boundary"]) != 0):
        ax.plot(t, d["boundary"], color="C4", lw=2, label="boundary")
    if "dkl_dt_fd" in d and np.any(np.isfinite(d["dkl_dt_fd"])):
        ax.plot(t, d["dkl_dt_fd"], "x", color="C1", ms=5,
                label=DKL + " from CVODE dense output")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="t", ylabel="rate", title="Balance terms")
    _exact_legend(ax, d)

    if has_split:
        ax = axs.pop(0)
        _plot_pair(ax, d, "sigma_tot", S_TOT, "C3", lw=5, alpha=0.3)
        if "sigma_hk_hs" in d:
            band = {"lw": 4, "alpha": 0.4} if "sigma_hk_exact" in d else {"lw": 2}
            ax.plot(t, d["sigma_hk_hs"], color="C2", label=S_HK + " (housekeeping)", **band)
        _plot_pair(ax, d, "sigma_hk", "" if "sigma_hk_hs" in d else S_HK, "C2")
        _plot_pair(ax, d, "sigma_na", S_NA + " (non-adiabatic)", "C0")
        if "sigma_hk_hs" not in d:
            ax.text(0.5, 0.6, "the run wrote no computed split:\nclosed form only",
                    transform=ax.transAxes, ha="center", va="top", fontsize=8)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set(xlabel="t", ylabel="rate", title=f"Split  {S_TOT} = {S_HK} + {S_NA}")
        _exact_legend(ax, d)

    ax = axs.pop(0)
    for name, label, colour in (("residual", "|residual|  (A.13 identity)", "C0"),
                                ("residual_a7", "|residual_a7|  (A.7 flux form)", "C1"),
                                ("split_residual", "|split_residual|", "C2")):
        if name in d:
            zeros = int(np.sum(d[name] == 0))
            if zeros:
                label += f"  [{zeros} exactly 0, not drawn]"
            ax.semilogy(t, _positive(d[name]), "o-", ms=3, color=colour, label=label)
    rel = [f"{key[len('max_relative_'):]}: {summary[key]}" for key in
           ("max_relative_residual_A13", "max_relative_residual_A7",
            "max_relative_split_residual") if key in summary]
    if rel:  # relative to the sum of the magnitudes of every face/cell term
        ax.text(0.98, 0.98, "summary.txt, max relative\n" + "\n".join(rel),
                transform=ax.transAxes, ha="right", va="top", fontsize=7,
                bbox={"fc": "white", "ec": "0.8", "alpha": 0.8})
    ax.set(xlabel="t", ylabel="absolute value", title="Balance residuals (round-off)")
    ax.legend(fontsize=7, loc="lower left")

    ax = axs.pop(0)  # two y axes, told apart by the colour of their labels
    if "mass" in d:
        ax.semilogy(t, _positive(d["mass"] - d["mass"][0]), "o-", ms=3, color="C0")
        ax.set_ylabel("|mass(t) $-$ mass(0)|", color="C0")
    if "min_p" in d:
        ax2 = ax.twinx()
        ax2.plot(t, d["min_p"], color="C3")
        ax2.axhline(0, color="C3", lw=0.5, ls=":")
        ax2.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.2g"))
        ax2.set_ylabel(r"min$_i\,p_i$", color="C3")
        negative = d["min_p"] < 0
        if np.any(negative):
            ax.text(0.5, 0.04, f"p < 0 somewhere at {int(np.sum(negative))} of {len(t)} "
                    f"outputs (lowest {np.min(d['min_p']):.2g})", transform=ax.transAxes,
                    ha="center", fontsize=8, color="C3")
    ax.set(xlabel="t", title="Mass conservation and positivity")

    if has_exact:
        ax = axs.pop(0)
        if "l1_error" in d:
            ax.semilogy(t, _positive(d["l1_error"]), color="C0",
                        label=r"$\|p - p_\mathrm{exact}\|_1$")
        for name, label, colour in (("kl", KL, "C1"), ("dkl_dt", DKL, "C3"),
                                    ("sigma_tot", S_TOT, "C4"), ("q_hk", Q_HK, "C2")):
            if name in d and name + "_exact" in d:
                ax.semilogy(t, _positive(d[name] - d[name + "_exact"]), color=colour,
                            label=f"|{label} $-$ exact|")
            if name + "_err" in d:  # the two-grid estimate, to compare with the truth
                ax.semilogy(t, _positive(d[name + "_err"]), "o", ms=3, mfc="none", color=colour,
                            label=f"|{name}_err| (estimate)")
            if name + "_rich" in d and name + "_exact" in d:
                ax.semilogy(t, _positive(d[name + "_rich"] - d[name + "_exact"]), "--",
                            color=colour, lw=1.0, label=f"|{name}_rich $-$ exact|")
        ax.set(xlabel="t", ylabel="error",
               title="Discretisation error" + (" against the closed form"
                                               if "kl_exact" in d else " (estimated)"))
        ax.legend(fontsize=6 if "kl_err" in d else 8, ncol=2 if "kl_err" in d else 1)

    fig.savefig(out)
    plt.close(fig)


def figure_density_1d(snaps, title, out, zoom=True):
    fig, axs = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True, sharex=True)
    fig.suptitle(f"{title}: snapshots")
    cmap = plt.get_cmap("viridis")
    lo, hi = np.inf, -np.inf
    x_min, x_max = min(s["x"].min() for _, s in snaps), max(s["x"].max() for _, s in snaps)
    for n, (t, s) in enumerate(snaps):
        colour = cmap(n / max(len(snaps) - 1, 1))
        order = np.argsort(s["x"])
        x, p = s["x"][order], s["p"][order]
        label = f"t = {t:g}" if t is not None else None
        # log(p/q) means little where p is round-off next to its maximum
        visible = p > 1e-8 * np.max(p)
        shown = x[p > 1e-4 * np.max(p)]
        if shown.size:
            lo, hi = min(lo, shown[0]), max(hi, shown[-1])
        axs[0, 0].plot(x, p, color=colour, label=label)
        for ax, name in ((axs[0, 1], "log_p_over_q"), (axs[1, 0], "J_x"),
                         (axs[1, 1], "entropy_production")):
            if name in s:
                v = s[name][order]
                ax.plot(x, np.where(visible, v, np.nan) if name == "log_p_over_q" else v,
                        color=colour, label=label)
    axs[0, 0].set(ylabel="$p(x, t)$", title="Density")
    axs[0, 1].set(ylabel=r"$\log(p / q_\mathrm{ref})$",
                  title=r"$\log(p / q_\mathrm{ref})$  (where $p > 10^{-8}\,\max\,p$)")
    axs[1, 0].set(xlabel="x", ylabel="$J_x$", title="Probability current")
    axs[1, 1].set(xlabel="x", ylabel=r"$\sigma(x)$",
                  title=r"Entropy-production density  $J^\top D^{-1} J / p$")
    if zoom and np.isfinite(lo) and hi > lo:
        pad = 0.1 * (hi - lo)
        axs[0, 0].set_xlim(max(lo - pad, x_min), min(hi + pad, x_max))
    for ax in axs.flat:
        ax.axhline(0, color="grey", lw=0.5)
    axs[0, 0].legend(fontsize=8)
    fig.savefig(out)
    plt.close(fig)


def _plane(s, axes):
    """(x centres, y centres, getter of a 2D field, slice note) for a 2D/3D snapshot."""
    centres, field = to_grid(s, axes)
    if len(axes) == 2:
        return centres[0], centres[1], field, ""
    z = centres[2]
    k = int(np.argmin(np.abs(z - 0.5 * (z[0] + z[-1]))))
    return centres[0], centres[1], lambda name: field(name)[k], f", z = {z[k]:.3g}"


def _zoom_box(planes, zoom):
    """Bounding box (x0, x1, y0, y1) of the cells where p > 1e-4 max p, padded."""
    x, y = planes[0][1], planes[0][2]
    full = (x[0], x[-1], y[0], y[-1])
    if not zoom:
        return full
    mask = np.zeros((len(y), len(x)), dtype=bool)
    for _, _, _, f, _ in planes:
        p = f("p")
        mask |= p > 1e-4 * np.nanmax(p)
    if not mask.any():
        return full
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    x0, x1, y0, y1 = x[cols[0]], x[cols[-1]], y[rows[0]], y[rows[-1]]
    pad = 0.1 * max(x1 - x0, y1 - y0, x[1] - x[0] if len(x) > 1 else 1.0)
    return (max(x0 - pad, x[0]), min(x1 + pad, x[-1]), max(y0 - pad, y[0]), min(y1 + pad, y[-1]))


def _field_figure(planes, name, cmap, arrows, suptitle, box, out):
    n = len(planes)
    ncols = min(n, 3)
    nrows = (n + ncols - 1) // ncols
    fig, axs = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.7 * nrows + 0.4),
                            constrained_layout=True, squeeze=False)
    fig.suptitle(suptitle)
    for ax in axs.flat[n:]:
        ax.set_visible(False)
    x0, x1, y0, y1 = box
    for ax, (t, x, y, f, note) in zip(axs.flat, planes):
        ix = np.flatnonzero((x >= x0) & (x <= x1))
        iy = np.flatnonzero((y >= y0) & (y <= y1))
        xs, ys = x[ix], y[iy]
        mesh = ax.pcolormesh(xs, ys, f(name)[np.ix_(iy, ix)], shading="nearest", cmap=cmap)
        fig.colorbar(mesh, ax=ax, shrink=0.9, format="%.2g")
        if arrows:
            sx, sy = max(1, -(-len(ix) // ARROWS)), max(1, -(-len(iy) // ARROWS))
            ax_, ay_ = ix[sx // 2::sx], iy[sy // 2::sy]
            jx, jy = f("J_x")[np.ix_(ay_, ax_)], f("J_y")[np.ix_(ay_, ax_)]
            mag = np.hypot(jx, jy)
            keep = mag > 0.05 * np.nanmax(mag)
            X, Y = np.meshgrid(x[ax_], y[ay_])
            ax.quiver(X[keep], Y[keep], jx[keep], jy[keep], color="white", edgecolor="black",
                      linewidth=0.3, pivot="mid", width=0.007)
        ax.set(xlabel="x", ylabel="y", aspect="equal", xlim=(x0, x1), ylim=(y0, y1),
               title=(f"t = {t:g}" if t is not None else "") + note)
    fig.savefig(out)
    plt.close(fig)


def figure_fields(snaps, axes, title, out_density, out_sigma, zoom=True):
    """Snapshots side by side: p with J arrows, and the entropy-production density."""
    if len(snaps) > MAX_FIELD_SNAPSHOTS:
        pick = np.unique(np.linspace(0, len(snaps) - 1, MAX_FIELD_SNAPSHOTS).round().astype(int))
        snaps = [snaps[i] for i in pick]
    planes = []
    for t, s in snaps:
        try:
            planes.append((t, *_plane(s, axes)))
        except PlotError as exc:
            warn(f"skipping the snapshot at t = {t}: {exc}")
    if not planes:
        raise PlotError("no snapshot holds a complete grid")
    box = _zoom_box(planes, zoom)
    where = "" if len(axes) == 2 else ", mid-plane slice in z"
    arrows = "J_x" in snaps[0][1] and "J_y" in snaps[0][1]
    _field_figure(planes, "p", "viridis", arrows,
                  f"{title}: density $p$" + (" with current $J$ (arrows)" if arrows else "") + where,
                  box, out_density)
    if "entropy_production" in snaps[0][1]:
        _field_figure(planes, "entropy_production", "inferno", False,
                      f"{title}: local entropy-production density{where}", box, out_sigma)


# ------------------------------------------------------- compare, policy ---

def read_table(path, numeric=(), text=(), optional=()):
    """A CSV file and its sidecar <stem>.json -> (columns, comments).

    columns maps every name in numeric and in optional (when the header has it) to a
    float array and every name in text to a list of str; other columns are ignored.
    comments holds the sidecar's "comment" lines (and any '#' lines, without the '#', of
    files written before the sidecars).  A missing required column, a row of
    the wrong length or a value that is not a number raises PlotError."""
    comments, header, rows = [], None, []
    try:
        with open(path, newline="") as f:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                if line.startswith("#"):
                    comments.append(line[1:].strip())
                    continue
                fields = next(csv.reader([line]))
                if header is None:
                    header = [h.strip() for h in fields]
                    missing = [c for c in (*numeric, *text) if c not in header]
                    if missing:
                        raise PlotError(f"{path}: column(s) {', '.join(missing)} missing "
                                        f"(the header is '{line}')")
                    continue
                if len(fields) != len(header):
                    raise PlotError(f"{path}:{lineno}: {len(fields)} values, "
                                    f"header has {len(header)} columns")
                rows.append((lineno, fields))
    except UnicodeDecodeError:
        raise PlotError(f"{path}: not a text file") from None
    except csv.Error as exc:
        raise PlotError(f"{path}: {exc}") from None
    if header is None or not rows:
        raise PlotError(f"{path}: no header or no data rows")
    comments += sidecar_comments(path)
    cols = {}
    for name in (*numeric, *(o for o in optional if o in header)):
        j, values = header.index(name), []
        for lineno, fields in rows:
            try:
                values.append(float(fields[j]))
            except ValueError:
                raise PlotError(f"{path}:{lineno}: {name} = '{fields[j]}' is not a "
                                f"number") from None
        cols[name] = np.array(values)
    for name in text:
        j = header.index(name)
        cols[name] = [fields[j].strip() for _, fields in rows]
    return cols, comments


def _comment_value(comments, pattern):
    """The float captured by pattern in the first comment line that matches, or None."""
    for line in comments:
        m = re.search(pattern, line)
        if m:
            try:
                return float(m.group(1))
            except ValueError:
                return None
    return None


def case_title(run_dir):
    """The case name from summary.txt or balance.json's 'case' line, else the directory."""
    for line in sidecar_comments(os.path.join(run_dir, "balance.csv")):
        m = re.match(r"\s*case\s+([^;\s]+)", line)
        if m:
            return os.path.splitext(os.path.basename(m.group(1)))[0]
    for name, pattern in (("summary.txt", r"^case:\s*(\S+)"),
                          ("balance.csv", r"^#\s*case\s+([^;\s]+)")):
        try:
            with open(os.path.join(run_dir, name)) as f:
                for _, line in zip(range(20), f):
                    m = re.match(pattern, line)
                    if m:
                        return os.path.splitext(os.path.basename(m.group(1)))[0]
        except (OSError, UnicodeDecodeError):
            pass
    return os.path.basename(os.path.normpath(run_dir))


def group_compare(cols):
    """compare.csv columns -> (estimators in file order, sorted N, {(estimator, N): series})

    Each series maps the numeric columns to arrays sorted by t."""
    groups = {}
    for i, key in enumerate(zip(cols["estimator"], cols["N"])):
        groups.setdefault(key, []).append(i)
    out = {}
    for key, idx in groups.items():
        idx = np.array(idx)
        idx = idx[np.argsort(cols["t"][idx], kind="stable")]
        out[key] = {k: v[idx] for k, v in cols.items() if isinstance(v, np.ndarray)}
    return list(dict.fromkeys(cols["estimator"])), sorted(set(cols["N"])), out


def _band(ax, g, colour, t_max=None):
    """An estimator's mean with a mean +- sd band, and the exact curve, on ax."""
    keep = np.ones(len(g["t"]), dtype=bool) if t_max is None else g["t"] <= t_max
    t = g["t"][keep]
    ax.fill_between(t, (g["mean"] - g["sd"])[keep], (g["mean"] + g["sd"])[keep],
                    color=colour, alpha=0.25, lw=0)
    ax.plot(t, g["mean"][keep], color=colour, lw=1.4)
    ax.plot(t, g["exact"][keep], color="k", lw=1.0, ls=(0, (4, 2)))
    ax.axhline(0, color="0.4", lw=0.7, ls=":")


def _emptiest(ax, g, boxes):
    """The box (axes fractions x0, y0, w, h) that the band of g covers least."""
    xy = []
    for y in (g["mean"] - g["sd"], g["mean"], g["mean"] + g["sd"], g["exact"]):
        xy.append(np.column_stack([g["t"], y]))
    pts = ax.transLimits.transform(np.vstack(xy))
    return min(boxes, key=lambda b: np.sum((pts[:, 0] >= b[0]) & (pts[:, 0] <= b[0] + b[2]) &
                                           (pts[:, 1] >= b[1]) & (pts[:, 1] <= b[1] + b[3])))


def _early_inset(ax, g, colour):
    """Zoom on the early times where the band reaches below 0, if that is a short stretch."""
    below = g["mean"] - g["sd"] < 0
    if "frac_negative" in g:
        below |= g["frac_negative"] > 0
    below = np.flatnonzero(below)
    t = g["t"]
    if below.size == 0 or t[-1] <= t[0]:
        return
    t_hi = t[0] + 1.3 * (t[below[-1]] - t[0])
    if t_hi <= t[0] or t_hi > t[0] + 0.5 * (t[-1] - t[0]):
        return  # nothing to zoom on, or the dip already fills the panel
    ax.get_xlim(), ax.get_ylim()  # settle the autoscaled limits before using transLimits
    box = _emptiest(ax, g, [(0.13, 0.50, 0.40, 0.42), (0.57, 0.10, 0.40, 0.42)])
    ins = ax.inset_axes(box)
    _band(ins, g, colour, t_max=t_hi)
    ins.set_xlim(t[0], t_hi)
    ins.tick_params(labelsize=6, length=2, pad=1)
    ins.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.2g"))
    ins.set_title(f"t $\\leq$ {t_hi:.2g}", fontsize=7, pad=2)
    ax.indicate_inset_zoom(ins, edgecolor="0.5", alpha=0.6)


def figure_compare_curves(estimators, sizes, groups, what, replicas, title, out, inset=False):
    """One panel per (estimator, N): mean +- sd of the estimates against the PDE's value."""
    nrows, ncols = len(estimators), len(sizes)
    fig = plt.figure(figsize=(1.0 + 3.8 * ncols, 1.3 + 2.3 * nrows), constrained_layout=True)
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[2.3] * nrows + [0.3])
    axs = np.empty((nrows, ncols), dtype=object)
    for i in range(nrows):
        for j in range(ncols):
            first = axs[0, 0] if i or j else None
            axs[i, j] = fig.add_subplot(grid[i, j], sharex=first, sharey=first)
    legend_ax = fig.add_subplot(grid[nrows, :])  # a strip under the panels for the legend
    legend_ax.axis("off")
    quantity = KL if what == "kl" else DKL
    fig.suptitle(f"{title}: sample estimates of {quantity} against the PDE", fontsize=11)
    for i, est in enumerate(estimators):
        colour = f"C{i % 10}"
        for j, n in enumerate(sizes):
            ax, g = axs[i, j], groups.get((est, n))
            ax.set_title(f"{est},  N = {n:g}", fontsize=8.5)
            if g is None:
                ax.text(0.5, 0.5, "no rows", transform=ax.transAxes, ha="center")
                continue
            _band(ax, g, colour)
            if what == "kl" and "frac_negative" in g:
                ax.text(0.97, 0.05, f"estimates < 0: {100 * np.mean(g['frac_negative']):.0f} %",
                        transform=ax.transAxes, ha="right", va="bottom", fontsize=7.5)
        axs[i, 0].set_ylabel(quantity)
    for ax in axs[-1]:
        ax.set_xlabel("t")
    spread = f"mean $\\pm$ sd over {replicas:g} replicas" if replicas else "mean $\\pm$ sd"
    handles = [Line2D([], [], color="k", ls=(0, (4, 2)),
                      label=("PDE kl (exact)" if what == "kl"
                             else "PDE kl, differenced like the estimates")),
               matplotlib.patches.Patch(color="0.5", alpha=0.35, label=spread),
               Line2D([], [], color="0.4", lw=0.7, ls=":", label="0")]
    for (i, j), ax in np.ndenumerate(axs):  # tick labels on the outer panels only
        ax.tick_params(labelbottom=(i == nrows - 1), labelleft=(j == 0))
    if inset:
        for i, est in enumerate(estimators):
            for j, n in enumerate(sizes):
                if (est, n) in groups:
                    _early_inset(axs[i, j], groups[(est, n)], f"C{i % 10}")
    legend_ax.legend(handles=handles, fontsize=8, loc="center", ncol=3)
    fig.savefig(out)
    plt.close(fig)


def _slope(n, y):
    """Least-squares slope of log y against log n (NaN with fewer than 2 usable points)."""
    ok = (n > 0) & (y > 0) & np.isfinite(y)
    if np.count_nonzero(ok) < 2 or np.ptp(np.log(n[ok])) == 0:
        return math.nan
    return float(np.polyfit(np.log(n[ok]), np.log(y[ok]), 1)[0])


def figure_compare_rmse(summary, title, out):
    """RMSE (and the rate's RMSE) against N on log-log axes, with an N^-1/2 guide."""
    estimators = list(dict.fromkeys(summary["estimator"]))
    cols = [("rmse", f"RMSE of {KL}", "slope")]
    if "rate_rmse" in summary:
        cols.append(("rate_rmse", f"RMSE of {DKL}", None))
    fig, axs = plt.subplots(1, len(cols), figsize=(5.2 * len(cols), 4.2 + 0.25 * len(estimators)),
                            constrained_layout=True, squeeze=False)
    fig.suptitle(f"{title}: estimator error against sample size "
                 r"(RMSE over the output times)", fontsize=11)
    names = np.array(summary["estimator"])
    all_n = np.unique(summary["N"])
    if len(all_n) == 1:
        warn(f"one sample size only (N = {all_n[0]:g}): no slopes in compare_rmse")
    for ax, (col, ylabel, slope_col) in zip(axs[0], cols):
        first = []
        for i, est in enumerate(estimators):
            rows = np.flatnonzero(names == est)
            rows = rows[np.argsort(summary["N"][rows])]
            n, y = summary["N"][rows], summary[col][rows]
            s = math.nan
            if slope_col in summary:  # the slope fpentropy fitted, the same on every row
                given = summary[slope_col][rows]
                s = given[np.isfinite(given)][0] if np.isfinite(given).any() else math.nan
            if not np.isfinite(s):
                s = _slope(n, y)
            label = est + ("  (slope n/a)" if not np.isfinite(s) else f"  (slope {s:.2f})")
            ax.loglog(n, y, "o-", color=f"C{i % 10}", ms=5, label=label)
            if y.size and y[0] > 0:
                first.append(y[0] * (n[0] / all_n[0]) ** 0.5)  # scaled back to the smallest N
        if len(all_n) > 1 and first:
            y0 = 1.35 * max(first)
            ax.loglog(all_n, y0 * (all_n / all_n[0]) ** -0.5, color="0.3", ls="--", lw=1,
                      label=r"reference $\propto N^{-1/2}$")
        if len(all_n) == 1:
            ax.set_xlim(all_n[0] / 2, all_n[0] * 2)
        ax.set_xticks(all_n, [f"{v:g}" for v in all_n])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2, 3, 5)))
        for axis_fmt in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
            axis_fmt(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set(xlabel="particles N", ylabel=ylabel)
        ax.grid(True, which="both", lw=0.3, alpha=0.5)
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                  title="estimator  (fitted slope d log RMSE / d log N)", title_fontsize=7.5)
    fig.savefig(out)
    plt.close(fig)


def read_policies(run_dir):
    """policy_summary.csv and the series it names -> list of policy dicts, comments.

    Each dict has name, oracle (bool), and when known n_retrains, mismatch_integral, cost
    and series (the policy_NN.csv / oracle.csv columns).  Without a summary the series
    files are found by name and labelled by their '# <spec>' line."""
    path = os.path.join(run_dir, "policy_summary.csv")
    entries, comments = [], []
    if os.path.isfile(path):
        cols, comments = read_table(path, numeric=("n_retrains", "mismatch_integral", "cost"),
                                    text=("policy", "file"))
        for k, (name, file) in enumerate(zip(cols["policy"], cols["file"])):
            entries.append({"name": name, "file": file, "oracle": name == "oracle",
                            **{c: cols[c][k] for c in ("n_retrains", "mismatch_integral",
                                                       "cost")}})
    else:
        warn(f"{run_dir}: no policy_summary.csv; policy names from the series files, "
             f"no policy points in the Pareto figure")
        files = sorted(glob.glob(os.path.join(run_dir, "policy_[0-9]*.csv")))
        files += [f for f in [os.path.join(run_dir, "oracle.csv")] if os.path.isfile(f)]
        for f in files:
            if re.search(r"policy_\d+\.csv$|oracle\.csv$", f):
                entries.append({"name": None, "file": os.path.basename(f),
                                "oracle": f.endswith("oracle.csv")})
    for e in entries:
        series_path = os.path.join(run_dir, e["file"])
        e["series"] = None
        if not os.path.isfile(series_path):
            warn(f"{series_path}: missing; '{e['name']}' left out of the series figures")
            continue
        e["series"], head = read_table(series_path, numeric=("t", "decision", "mismatch"),
                                       optional=("signal", "cumulative_cost"))
        if e["name"] is None:
            e["name"] = "oracle" if e["oracle"] else (head[0] if head else e["file"])
    return entries, comments


def _policy_colours(entries):
    """Colours in file order; the oracle black."""
    out, k = {}, 0
    for e in entries:
        if e["oracle"]:
            out[e["name"]] = "k"
        else:
            out[e["name"]] = f"C{k % 10}"
            k += 1
    return out


def _sawtooth(s):
    """(t, D) of the deployed model: before a retrain D rises to the value the policy saw
    (the 'signal', when it is the mismatch itself), then drops to 0."""
    t, d, dec = s["t"], s["mismatch"], s["decision"] != 0
    sig = s.get("signal")
    if sig is None or not np.allclose(sig[~dec], d[~dec], rtol=1e-9, atol=1e-300):
        return t, d, None  # the signal is something else; the line drops across a period
    x, y = [], []
    for tk, dk, sk, rk in zip(t, d, sig, dec):
        if rk:
            x.append(tk)
            y.append(sk)
        x.append(tk)
        y.append(dk)
    return np.array(x), np.array(y), sig[dec]


def figure_policy_mismatch(entries, stale, title, out):
    """One panel per policy: D(t) of the deployed model with the retrains marked."""
    entries = [e for e in entries if e["series"] is not None]
    colours = _policy_colours(entries)
    n = len(entries)
    fig, axs = plt.subplots(n, 1, figsize=(9, 1.2 + 1.6 * n), sharex=True, sharey=True,
                            squeeze=False, constrained_layout=True)
    stale_note = "" if stale is None else f"; dashed: stale threshold {stale:g}"
    fig.suptitle(f"{title}: mismatch D(t) = KL($p_t\\,\\|\\,p_{{\\mathrm{{last\\ retrain}}}}$) "
                 f"of the deployed model\ndotted lines and ticks: retrains{stale_note}",
                 fontsize=10.5)
    # One policy that hardly retrains (e.g. 'none') would flatten every other panel: the
    # shared scale ignores a maximum over 3 times the next one, and that panel says so.
    saw = {e["name"]: _sawtooth(e["series"]) for e in entries}
    peak = {name: float(np.nanmax(v[1], initial=0.0)) for name, v in saw.items()}
    ranked = sorted(peak.values(), reverse=True)
    top = ranked[0]
    if len(ranked) > 1 and ranked[1] > 0 and ranked[0] > 3 * ranked[1]:
        top = 1.5 * ranked[1]
    top = max(top, 0.0 if stale is None else stale)
    for ax, e in zip(axs[:, 0], entries):
        s, colour = e["series"], colours[e["name"]]
        x, y, peaks = saw[e["name"]]
        ax.plot(x, y, color=colour, lw=1.4)
        ax.fill_between(x, y, color=colour, alpha=0.12, lw=0)
        t_r = s["t"][s["decision"] != 0]
        for tr in t_r:
            ax.axvline(tr, color=colour, lw=0.9, ls=":")
        if peaks is not None and t_r.size:
            ax.plot(t_r, peaks, "v", color=colour, ms=5)
        if t_r.size:  # (an empty unclipped line would upset the layout)
            ax.plot(t_r, np.zeros_like(t_r), "|", color=colour, ms=10, mew=2, clip_on=False)
        if stale is not None:
            ax.axhline(stale, color="0.45", lw=0.8, ls="--")
        facts = [f"{len(t_r)} retrains"]
        if "mismatch_integral" in e:
            facts += [f"$\\int D\\,dt$ = {e['mismatch_integral']:.3g}", f"cost = {e['cost']:.3g}"]
        label = "oracle (cost-minimising schedule, in hindsight)" if e["oracle"] else e["name"]
        ax.set_title(f"{label}:   " + ",  ".join(facts), loc="left", fontsize=9, color=colour)
        ax.set_ylabel("D")
        if peak[e["name"]] > 1.1 * top:
            ax.text(0.99, 0.93, f"off scale: D reaches {peak[e['name']]:.3g}", ha="right",
                    va="top", transform=ax.transAxes, fontsize=8, color=colour,
                    bbox={"fc": "white", "ec": "none", "alpha": 0.8})
    axs[0, 0].set_ylim(0, 1.1 * top if top > 0 else 1.0)  # shared by every panel
    axs[-1, 0].set_xlabel("t")
    fig.savefig(out)
    plt.close(fig)


def figure_policy_retrains(entries, title, out):
    """Cumulative retrains (and cumulative cost, when written) over time per policy."""
    entries = [e for e in entries if e["series"] is not None]
    colours = _policy_colours(entries)
    has_cost = all("cumulative_cost" in e["series"] for e in entries)
    fig, axs = plt.subplots(1, 1 + has_cost, figsize=(5.2 * (1 + has_cost), 4.4),
                            constrained_layout=True, squeeze=False)
    fig.suptitle(f"{title}: retrains and cost over time", fontsize=11)
    styles = ["-", "--", "-.", (0, (1, 1)), (0, (5, 1, 1, 1, 1, 1))]
    for k, e in enumerate(sorted(entries, key=lambda e: e["oracle"], reverse=True)):
        s, colour = e["series"], colours[e["name"]]
        kw = ({"lw": 5, "alpha": 0.25, "zorder": 1} if e["oracle"] else
              {"lw": 1.6, "ls": styles[k % len(styles)]})
        count = np.cumsum(s["decision"] != 0)
        axs[0, 0].step(s["t"], count, where="post", color=colour,
                       label=f"{e['name']}  ({count[-1]})", **kw)
        if has_cost:
            axs[0, 1].plot(s["t"], s["cumulative_cost"], color=colour, **kw)
    axs[0, 0].yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axs[0, 0].set(xlabel="t", ylabel="retrains so far", title="Cumulative retrains")
    axs[0, 0].legend(fontsize=7.5, loc="upper left", title="policy (total retrains)",
                     title_fontsize=7.5)
    if has_cost:
        axs[0, 1].set(xlabel="t", ylabel=r"$c\,\#\mathrm{retrains} + \int D\,dt$ so far",
                      title="Cumulative cost")
    for ax in axs[0]:
        ax.grid(True, lw=0.3, alpha=0.5)
    fig.savefig(out)
    plt.close(fig)


def figure_policy_pareto(entries, pareto, c, title, out):
    """Mismatch integral against retrains: the oracle frontier and each policy."""
    fig, ax = plt.subplots(figsize=(7.5, 5.0), constrained_layout=True)
    fig.suptitle(f"{title}: retrains against accumulated mismatch", fontsize=11)
    if pareto is not None:
        pts = sorted({(n, m) for n, m in zip(pareto["n_retrains"], pareto["mismatch_integral"])})
        cs = pareto["c"]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color="0.25", ms=4, lw=1,
                label=f"oracle frontier (pareto.csv, c = {cs.min():.2g} to {cs.max():.2g})",
                zorder=2)
    oracle = next((e for e in entries if e["oracle"] and "cost" in e), None)
    if oracle is not None:
        ax.plot(oracle["n_retrains"], oracle["mismatch_integral"], "*", color="k", ms=16,
                zorder=3, label=f"oracle at c = {c:g}: cost {oracle['cost']:.3g}"
                if c is not None else f"oracle: cost {oracle['cost']:.3g}")
        if c is not None and c > 0:  # points below this line would cost less than the oracle
            floor = 0.5 * min([oracle["mismatch_integral"]] +
                              [e["mismatch_integral"] for e in entries if "cost" in e] +
                              ([] if pareto is None else list(pareto["mismatch_integral"])))
            if not floor > 0:
                floor = 1e-3 * oracle["cost"]
            n = np.linspace(0, (oracle["cost"] - floor) / c, 200)  # stop before the log axis
            ax.plot(n, oracle["cost"] - c * n, color="0.5", ls=":", lw=1,
                    label=f"equal cost: $c\\,n + \\int D\\,dt$ = {oracle['cost']:.3g}")
    markers = "osD^vPXh<>"
    policies = [e for e in entries if not e["oracle"] and "cost" in e]
    colours = _policy_colours(entries)
    for k, e in enumerate(policies):
        ax.plot(e["n_retrains"], e["mismatch_integral"], markers[k % len(markers)], ms=9,
                color=colours[e["name"]], mfc="none", mew=2, zorder=4,
                label=f"{e['name']}: cost {e['cost']:.3g}")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set(xlabel="number of retrains", ylabel=r"mismatch integral $\int D\,dt$")
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    ax.legend(fontsize=7.5, loc="upper right")
    fig.savefig(out)
    plt.close(fig)


def figure_policy_sampled(sampled, comments, oracle_retrains, title, out):
    """Per policy: exact-driven against sample-driven cost ratio to the oracle, and retrains."""
    names = sampled["policy"]
    y = np.arange(len(names))
    h = 0.38
    fig = plt.figure(figsize=(11, 1.9 + 0.75 * len(names)), constrained_layout=True)
    grid = fig.add_gridspec(2, 2, height_ratios=(0.75 * len(names) + 1.0, 0.25))
    axs = [fig.add_subplot(grid[0, 0])]
    axs.append(fig.add_subplot(grid[0, 1], sharey=axs[0]))
    plt.setp(axs[1].get_yticklabels(), visible=False)
    legend_ax = fig.add_subplot(grid[1, :])  # a strip under both panels for the legend
    legend_ax.axis("off")
    how = comments[0] if comments else "sample-driven"
    fig.suptitle(f"{title}: policies driven by sample estimates\n({how})", fontsize=10)
    panels = [(axs[0], sampled["exact_cost"] / sampled["oracle_cost"], "cost_ratio_oracle",
               "cost / oracle cost", 1.0, "oracle"),
              (axs[1], sampled["exact_retrains"], "retrains", "number of retrains",
               oracle_retrains, "oracle")]
    for ax, exact, col, xlabel, ref, ref_label in panels:
        mean, se = sampled[col], sampled[col + "_se"]
        ax.barh(y - h / 2, exact, h, color="0.7", label="driven by the exact D (PDE)")
        ax.barh(y + h / 2, mean, h, xerr=se, color="C0", capsize=3,
                error_kw={"lw": 1}, label="driven by estimates: mean $\\pm$ s.e.")
        top = np.nanmax(np.concatenate([exact, mean + se]))
        for yy, v in zip(y - h / 2, exact):
            ax.text(v + 0.01 * top, yy, f"{v:.3g}", va="center", fontsize=7)
        for yy, v, e in zip(y + h / 2, mean, se):
            ax.text(v + e + 0.01 * top, yy, f"{v:.3g} $\\pm$ {e:.2g}", va="center", fontsize=7)
        if ref is not None:
            ax.axvline(ref, color="k", ls="--", lw=1, label=ref_label)
        ax.set_xlim(0, 1.25 * top)
        ax.set_xlabel(xlabel)
        ax.grid(True, axis="x", lw=0.3, alpha=0.5)
    axs[0].set_yticks(y, names, fontsize=8)
    axs[0].invert_yaxis()
    legend_ax.legend(*axs[0].get_legend_handles_labels(), fontsize=8, loc="center", ncol=3)
    fig.savefig(out)
    plt.close(fig)


def plot_compare(run_dir, title, name):
    """The compare figures that the files in run_dir allow; returns the paths written."""
    written = []
    replicas = None
    for stem, csv_name, what in (("compare_curves", "compare.csv", "kl"),
                                 ("compare_rate", "compare_rate.csv", "rate")):
        path = os.path.join(run_dir, csv_name)
        if not os.path.isfile(path):
            warn(f"{path}: missing, {stem} figure skipped")
            continue
        cols, comments = read_table(path, numeric=("N", "t", "exact", "mean", "sd"),
                                    text=("estimator",), optional=("frac_negative",))
        replicas = _comment_value(comments, r"(\d+)\s+replicas")
        estimators, sizes, groups = group_compare(cols)
        figure_compare_curves(estimators, sizes, groups, what, replicas, title, name(stem),
                              inset=(what == "kl"))
        written.append(name(stem))
    path = os.path.join(run_dir, "compare_summary.csv")
    if os.path.isfile(path):
        summary, _ = read_table(path, numeric=("N", "rmse"), text=("estimator",),
                                optional=("rate_rmse", "slope"))
        figure_compare_rmse(summary, title, name("compare_rmse"))
        written.append(name("compare_rmse"))
    else:
        warn(f"{path}: missing, compare_rmse figure skipped")
    return written


def plot_policy(run_dir, title, name):
    """The policy figures that the files in run_dir allow; returns the paths written."""
    written = []
    entries, comments = read_policies(run_dir)
    c = _comment_value(comments, r"retrain cost c\s*=\s*([-+0-9.eE]+)")
    stale = _comment_value(comments, r"stale threshold\s*=\s*([-+0-9.eE]+)")
    if any(e["series"] is not None for e in entries):
        figure_policy_mismatch(entries, stale, title, name("policy_mismatch"))
        figure_policy_retrains(entries, title, name("policy_retrains"))
        written += [name("policy_mismatch"), name("policy_retrains")]
    else:
        warn(f"{run_dir}: no policy_NN.csv or oracle.csv series, "
             f"policy_mismatch and policy_retrains figures skipped")
    path = os.path.join(run_dir, "pareto.csv")
    pareto = None
    if os.path.isfile(path):
        pareto, _ = read_table(path, numeric=("c", "n_retrains", "mismatch_integral"))
    if pareto is not None or any("cost" in e for e in entries):
        if pareto is None:
            warn(f"{path}: missing, the Pareto figure shows no oracle frontier")
        figure_policy_pareto(entries, pareto, c, title, name("policy_pareto"))
        written.append(name("policy_pareto"))
    else:
        warn(f"{run_dir}: neither pareto.csv nor policy_summary.csv, "
             f"policy_pareto figure skipped")
    path = os.path.join(run_dir, "policy_sampled.csv")
    if os.path.isfile(path):  # only with `fpentropy policy --particles`; no warning otherwise
        sampled, s_comments = read_table(
            path, text=("policy",),
            numeric=("exact_retrains", "exact_cost", "oracle_cost", "retrains", "retrains_se",
                     "cost_ratio_oracle", "cost_ratio_oracle_se"))
        oracle = next((e for e in entries if e["oracle"] and "n_retrains" in e), None)
        figure_policy_sampled(sampled, s_comments, oracle["n_retrains"] if oracle else None,
                              title, name("policy_sampled"))
        written.append(name("policy_sampled"))
    return written


# ------------------------------------------------------------------- main ---

KINDS = {  # what each kind of output directory holds (any one file marks it)
    "run": ("balance.csv", "balance.csv.partial"),
    "compare": ("compare.csv", "compare_rate.csv", "compare_summary.csv"),
    "policy": ("policy_summary.csv", "oracle.csv", "pareto.csv", "policy_sampled.csv"),
}


def detect_kinds(run_dir):
    """The kinds of fpentropy output in run_dir, in KINDS order."""
    return [kind for kind, files in KINDS.items()
            if any(os.path.isfile(os.path.join(run_dir, f)) for f in files)]


def parse_only(text):
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(f"'{text}': expected a comma-separated list of "
                                         f"{', '.join(KINDS)}")
    return kinds


def plot_run(run_dir, name, zoom):
    """The balance and snapshot figures of an `fpentropy run` directory."""
    written = []
    balance, case = read_balance(run_dir)
    title = case or os.path.basename(os.path.normpath(run_dir))
    figure_balance(balance, read_summary(run_dir), title, name("balance"))
    written.append(name("balance"))

    snaps = []
    for idx, t, path in snapshot_list(run_dir):
        try:
            s, t_header = read_snapshot(path)
        except (PlotError, ValueError, OSError) as exc:
            warn(f"skipping {path}: {exc}")
            continue
        snaps.append((t if t is not None else t_header, s))
    if not snaps:
        warn(f"{run_dir}: no snapshot_NNNN.dat files, density figures skipped")
        return written
    axes = [a for a in ("x", "y", "z") if a in snaps[0][1]]
    if any([a for a in ("x", "y", "z") if a in s] != axes for _, s in snaps):
        raise PlotError("snapshots disagree on the dimension")
    if len(axes) == 1:
        figure_density_1d(snaps, title, name("density"), zoom=zoom)
        written.append(name("density"))
    else:
        figure_fields(snaps, axes, title, name("density"), name("entropy_production"),
                      zoom=zoom)
        written.append(name("density"))
        if "entropy_production" in snaps[0][1]:
            written.append(name("entropy_production"))
    return written


class Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 1 like every other error
        self.print_usage(sys.stderr)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        sys.exit(1)


def main(argv=None):
    ap = Parser(prog=PROG, description="Plot an fpentropy output directory: `run` "
                "(balance.csv, snapshots), `compare` (compare*.csv) and `policy` "
                "(policy_summary.csv, policy_NN.csv, oracle.csv, pareto.csv, "
                "policy_sampled.csv).  Every kind found is plotted.",
                epilog="See tools/README-plot.md (in the installed tree: share/doc/fpentropy).")
    ap.add_argument("run_dir", metavar="RUN_DIR",
                    help="directory written by `fpentropy run|compare|policy -o`")
    ap.add_argument("-o", "--out", metavar="OUT_DIR",
                    help="where the figures go (default: RUN_DIR); created if needed")
    ap.add_argument("--format", choices=("png", "pdf", "svg"), default="png",
                    help="figure file format (default: png)")
    ap.add_argument("--prefix", default="",
                    help="prepended to every figure name, e.g. 'ou1d_relax_'")
    ap.add_argument("--only", metavar="KINDS", type=parse_only,
                    help="plot only these kinds, comma-separated: run, compare, policy "
                    "(default: every kind found in RUN_DIR)")
    ap.add_argument("--full-domain", action="store_true",
                    help="show the whole box instead of zooming on where p > 1e-4 max p")
    ap.add_argument("--dpi", type=int, default=120, help="resolution of png output (default 120)")
    args = ap.parse_args(argv)

    try:
        if not os.path.exists(args.run_dir):
            raise PlotError(f"{args.run_dir}: no such directory")
        if not os.path.isdir(args.run_dir):
            raise PlotError(f"{args.run_dir}: not a directory (give the DIR of "
                            f"`fpentropy run|compare|policy CASE -o DIR`)")
        found = detect_kinds(args.run_dir)
        if not found:
            raise PlotError(f"{args.run_dir}: not an fpentropy output directory (no "
                            f"balance.csv, compare*.csv or policy_summary.csv)")
        kinds = found
        if args.only:
            missing = [k for k in args.only if k not in found]
            if missing:
                raise PlotError(f"{args.run_dir}: no {' or '.join(missing)} output (looked for "
                                f"{', '.join(f for k in missing for f in KINDS[k])})")
            kinds = [k for k in found if k in args.only]
        out_dir = args.out or args.run_dir
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as exc:
            raise PlotError(f"cannot create the output directory {out_dir}: "
                            f"{exc.strerror}") from None
        plt.rcParams["savefig.dpi"] = args.dpi

        def name(stem):
            return os.path.join(out_dir, f"{args.prefix}{stem}.{args.format}")

        written = []
        if "run" in kinds:
            written += plot_run(args.run_dir, name, zoom=not args.full_domain)
        title = case_title(args.run_dir)
        if "compare" in kinds:
            written += plot_compare(args.run_dir, title, name)
        if "policy" in kinds:
            written += plot_policy(args.run_dir, title, name)
        for w in written:
            print(w)
        return 0
    except (PlotError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
