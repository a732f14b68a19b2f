#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to ground-truth divergence curves:
# install what is missing, build, run the default case, plot it.
# SPDX-License-Identifier: GPL-3.0-or-later
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
case_file="${1:-cases/ou1d_relax.ini}"
name="$(basename "$case_file" .ini)"

tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFP_WERROR=ON
cmake --build build -j"$(nproc)"
build/fpentropy run "$case_file" -o "out/$name"
/usr/bin/python3 tools/fpentropy-plot "out/$name"
echo "quickstart: curves in out/$name/balance.csv, figures in out/$name/*.png"
