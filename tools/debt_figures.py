#!/usr/bin/python3
# fpentropy: figures of the learning-debt study (`fpentropy debt-study` output).
# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures of the learning-debt study: debt/calendar ratio heat maps per family (paper Figure 1),
the kappa = 1 abrupt head-to-head (Figure 2), the Spearman correlations of the diagnostics with
the KL signal (Figure 3) and one path's decision diagram (Appendix Figure 8).

    tools/debt_figures.py DIR [-o OUTDIR]

DIR holds cells.csv (and trace.csv from --trace for the path diagram); figures go to OUTDIR,
default DIR/figures.
"""
import argparse
import csv
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

P = [0.02, 0.05, 0.10, 0.20]
K = [0.1, 0.25, 0.5, 1, 2, 4]


def num(x):
    return float("nan") if x in ("NA", "") else float(x)


def load(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def cell(rows, block, fam, p, k, pol):
    for r in rows:
        if (r["block"] == block and r["family"] == fam and math.isclose(float(r["p_shift"]), p)
                and math.isclose(float(r["kappa"]), k) and r["policy"] == pol):
            return r
    return None


def heatmaps(rows, out):
    fams = ["abrupt", "variance", "gradual"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), constrained_layout=True)
    norm = LogNorm(vmin=0.2, vmax=5)
    for ax, fam in zip(axes, fams):
        z = [[num(cell(rows, "main", fam, p, k, "debt")["ratio_to_calendar"]) for k in K] for p in P]
        im = ax.imshow(z, cmap="RdBu_r", norm=norm, origin="lower", aspect="auto")
        for i in range(len(P)):
            for j in range(len(K)):
                ax.text(j, i, f"{z[i][j]:.2f}", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(K)), [str(k) for k in K])
        ax.set_yticks(range(len(P)), [str(p) for p in P])
        ax.set_xlabel("kappa = c_churn / c_wait")
        ax.set_ylabel("p_shift")
        ax.set_title(f"{fam}: debt / calendar-10 loss")
    fig.colorbar(im, ax=axes, label="ratio of mean excess losses (log scale)")
    fig.savefig(os.path.join(out, "debt_ratio_heatmaps.png"), dpi=120)
    plt.close(fig)


def head_to_head(rows, out):
    pols = ["debt", "proxy", "calendar", "cusum", "alarm"]
    fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
    w = 0.16
    for j, pol in enumerate(pols):
        m = [num(cell(rows, "main", "abrupt", p, 1, pol)["mean_loss"]) for p in P]
        se = [num(cell(rows, "main", "abrupt", p, 1, pol)["se_loss"]) for p in P]
        ax.bar([i + (j - 2) * w for i in range(len(P))], m, w, yerr=se, label=pol, capsize=2)
    ax.set_xticks(range(len(P)), [str(p) for p in P])
    ax.set_xlabel("p_shift")
    ax.set_ylabel("mean excess loss (200 periods)")
    ax.set_title("abrupt shifts, kappa = 1: mean loss +- 1 s.e.")
    ax.legend(ncol=5, fontsize=8)
    fig.savefig(os.path.join(out, "debt_kappa1_abrupt.png"), dpi=120)
    plt.close(fig)


def decision_diagram(trace, out):
    by = {}
    for r in trace:
        by.setdefault(r["policy"], []).append(r)
    t = [int(r["t"]) for r in by["debt"]]
    onset = int(by["debt"][0]["onset"])
    fig, axes = plt.subplots(3, 1, figsize=(10, 7), sharex=True, constrained_layout=True)
    axes[0].plot(t, [math.sqrt(num(r["D"])) for r in by["debt"]], label="sqrt KL(S || Q_debt)")
    axes[0].plot(t, [num(r["beta"]) for r in by["debt"]], label="true beta_t", color="gray")
    axes[0].set_ylabel("signal")
    axes[0].legend(fontsize=8)
    for pol, col in (("debt", "C0"), ("proxy", "C1")):
        axes[1].plot(t, [num(r["statistic"]) for r in by[pol]], color=col, label=f"rho ({pol})")
    axes[1].plot(t, [num(r["threshold"]) for r in by["debt"]], "k--", lw=1, label="kappa/(1+kappa)")
    axes[1].set_ylabel("stale probability")
    axes[1].legend(fontsize=8)
    for i, pol in enumerate(["debt", "proxy", "calendar", "cusum", "alarm"]):
        ts = [int(r["t"]) for r in by[pol] if r["executed"] == "1"]
        axes[2].plot(ts, [i] * len(ts), "|", ms=14, color=f"C{i}")
    axes[2].set_yticks(range(5), ["debt", "proxy", "calendar", "cusum", "alarm"])
    axes[2].set_xlabel("period t")
    axes[2].set_title("retrains (the losses at T: " + ", ".join(
        f"{p} {num(by[p][-1]['cumulative_loss']):.2f}" for p in ["debt", "proxy", "calendar", "cusum", "alarm"]) + ")",
        fontsize=9)
    for ax in axes:
        if onset:
            ax.axvline(onset, color="red", ls=":", lw=1)
    axes[0].set_title(f"one abrupt path (onset at t = {onset}, red)")
    fig.savefig(os.path.join(out, "debt_single_path.png"), dpi=120)
    plt.close(fig)


def spearman(rows, out):
    """Mean Spearman correlation of the KL signal with d and with g (paper's Figure 3)."""
    fams = ["abrupt", "gradual", "variance"]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True, constrained_layout=True)
    for ax, fam in zip(axes, fams):
        for col, lab in (("spearman_d", "parameter divergence d"), ("spearman_g", "score gap g")):
            lo = [min(num(cell(rows, "main", fam, p, k, "debt")[col]) for k in K) for p in P]
            hi = [max(num(cell(rows, "main", fam, p, k, "debt")[col]) for k in K) for p in P]
            mid = [0.5 * (a + b) for a, b in zip(lo, hi)]
            ax.errorbar(P, mid, yerr=[[m - a for m, a in zip(mid, lo)], [b - m for m, b in zip(mid, hi)]],
                        marker="o", capsize=3, label=lab)
        ax.set_xscale("log")
        ax.set_xticks(P, [str(p) for p in P])
        ax.set_xlabel("p_shift")
        ax.set_title(fam)
    axes[0].set_ylabel("Spearman with KL (range over kappa)")
    axes[0].legend(fontsize=8)
    fig.savefig(os.path.join(out, "debt_spearman.png"), dpi=120)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("-o", "--out")
    a = ap.parse_args()
    out = a.out or os.path.join(a.dir, "figures")
    os.makedirs(out, exist_ok=True)
    rows = load(os.path.join(a.dir, "cells.csv"))
    heatmaps(rows, out)
    head_to_head(rows, out)
    spearman(rows, out)
    tr = os.path.join(a.dir, "trace.csv")
    if os.path.exists(tr):
        decision_diagram(load(tr), out)
    print(f"figures in {out}")


if __name__ == "__main__":
    main()
