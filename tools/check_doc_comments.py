#!/usr/bin/env python3
# Every public function in include/fpentropy/ must have a doc comment right above it.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Usage: check_doc_comments.py INCLUDE_DIR

A declaration counts as documented when the nearest non-blank line above it (or above the
group of declarations it belongs to, with no blank line between them) ends a comment.
Prints every undocumented function as file:line: name and exits 1 if there is any."""
import re
import sys
from pathlib import Path

DECL = re.compile(r"^(?:static inline\s+)?[A-Za-z_][\w\s\*]*?\b(fp_\w+)\s*\(")


def undocumented(path):
    lines = path.read_text().splitlines()
    missing = []
    for i, ln in enumerate(lines):
        if ln.startswith((" ", "\t", "#", "/", "*", "}", "typedef")) or "(" not in ln:
            continue
        m = DECL.match(ln)
        if not m:
            continue
        j = i - 1
        # walk up over the other declarations of the same group (no blank line between)
        while j >= 0 and lines[j].strip() and not lines[j].rstrip().endswith("*/"):
            if lines[j].startswith((" ", "\t")) or DECL.match(lines[j]):
                j -= 1
                continue
            break
        if j < 0 or not lines[j].rstrip().endswith("*/"):
            missing.append(f"{path}:{i + 1}: {m.group(1)}")
    return missing


def main():
    root = Path(sys.argv[1])
    missing = [m for h in sorted(root.rglob("*.h")) for m in undocumented(h)]
    for m in missing:
        print(m)
    print(f"{len(missing)} undocumented public functions")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
