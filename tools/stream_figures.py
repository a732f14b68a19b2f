#!/usr/bin/env python3
# fpentropy: figures of a labelled stream (paper 000 Figures 5.1-5.3) from `fpentropy stream` output.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Usage: tools/stream_figures.py DIR [--sweep SWEEPDIR]

Reads DIR/loss.csv and DIR/table.csv written by `fpentropy stream` and writes
  DIR/loss_over_time.png       log loss per period, seed mean (Figure 5.1)
  DIR/cumulative_retrains.png  cumulative retrains per period (Figure 5.2)
  DIR/pareto.png               average log loss against retrains (Figure 5.3);
                               with --sweep, the rows of SWEEPDIR/table.csv
                               (a run with many --policy specs) are drawn as
                               one curve per policy type.
Rows NAME@exact (the exact-signal run) are drawn dashed."""
import argparse
import csv
import os
import re
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def family(name):
    """The policy family of a sweep row: its leading letters ("cal7" -> "cal",
    "entropy_0.05" -> "entropy", "threshold:tau=0.1" -> "threshold")."""
    m = re.match(r"[A-Za-z]+", name.split("@")[0])
    return m.group(0) if m else name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--sweep")
    a = ap.parse_args()
    loss = read(os.path.join(a.dir, "loss.csv"))
    table = read(os.path.join(a.dir, "table.csv"))
    series = defaultdict(lambda: ([], [], []))
    for r in loss:
        s = series[r["policy"]]
        s[0].append(float(r["t"]))
        s[1].append(float(r["loss"]))
        s[2].append(float(r["cumulative_retrains"]))
    colours = {}
    for i, name in enumerate(n for n in series if "@" not in n):
        colours[name] = f"C{i}"

    for what, idx, fname, ylabel in [("loss", 1, "loss_over_time.png", "log loss (seed mean)"),
                                     ("retrains", 2, "cumulative_retrains.png", "cumulative retrains")]:
        fig, ax = plt.subplots(figsize=(7, 4))
        for name, s in series.items():
            base = name.split("@")[0]
            exact = "@exact" in name
            ax.plot(s[0], s[idx], "--" if exact else "-", color=colours.get(base, "k"), lw=1 if exact else 1.5,
                    label=name)
        ax.set_xlabel("day")
        ax.set_ylabel(ylabel)
        if what == "retrains":
            ax.set_yscale("symlog", linthresh=10)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        fig.savefig(os.path.join(a.dir, fname), dpi=120)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in table:
        exact = "@exact" in r["policy"]
        ax.errorbar(float(r["retrains"]), float(r["avg_log_loss"]), yerr=float(r["se_avg"]),
                    fmt="s" if exact else "o", mfc="none" if exact else None,
                    color=colours.get(r["policy"].split("@")[0], "k"), label=r["policy"])
    if a.sweep:
        curves = defaultdict(list)
        for r in read(os.path.join(a.sweep, "table.csv")):
            if "@exact" not in r["policy"]:
                curves[family(r["policy"])].append((float(r["retrains"]), float(r["avg_log_loss"])))
        for fam, pts in curves.items():
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], ".-", lw=0.8, alpha=0.7, label=f"sweep: {fam}")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("retrains")
    ax.set_ylabel("average log loss")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(a.dir, "pareto.png"), dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
