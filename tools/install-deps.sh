#!/usr/bin/env bash
# Install the Debian 12 packages fpentropy needs to build, test and plot.
# Installs only what is missing; uses sudo when not run as root.
# SPDX-License-Identifier: GPL-3.0-or-later
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libsundials-dev libsuitesparse-dev libfftw3-dev libgsl-dev
  libinih-dev libcmocka-dev zlib1g-dev
  libopenmpi-dev openmpi-bin
  clang libclang-rt-14-dev
  python3 python3-numpy python3-matplotlib python3-pandas python3-pytest python3-vtk9
  python3-setuptools python3-pip python3-venv
  man-db groff-base
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
