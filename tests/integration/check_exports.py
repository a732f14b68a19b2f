#!/usr/bin/env python3
# The shared library exports exactly the FP_API declarations of include/fpentropy/.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Usage: check_exports.py LIBRARY INCLUDE_DIR

Every function or variable declared FP_API in the public headers must be exported by the
shared library (nm -D), and no other fp_ symbol may be: private helpers stay hidden."""
import re
import subprocess
import sys
from pathlib import Path


def main():
    lib, include = sys.argv[1], Path(sys.argv[2])
    public = set()
    for h in include.rglob("*.h"):
        for m in re.finditer(r"^FP_API\b[^;(]*?\b(fp_\w+)\s*[(;]", h.read_text(), re.M):
            public.add(m.group(1))
    out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True,
                         check=True).stdout
    exported = {ln.split()[-1] for ln in out.splitlines() if ln.split()[-1].startswith("fp_")}
    missing = sorted(public - exported)
    extra = sorted(exported - public)
    for name in missing:
        print(f"FAIL declared FP_API but not exported: {name}")
    for name in extra:
        print(f"FAIL exported but not public: {name}")
    print(f"{len(public)} public symbols, {len(exported)} exported fp_ symbols")
    return 1 if missing or extra or not public else 0


if __name__ == "__main__":
    sys.exit(main())
