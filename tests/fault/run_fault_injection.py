#!/usr/bin/python3
# Fails the n-th allocation, for every n, of a small run of each command; checks clean errors.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Allocator fault injection in the style of SQLite's malloc tests.

For each command (run, verify, sample, compare, policy) the driver counts the allocations of one
successful run of tests/fault/tiny.ini (FP_COUNT_ALLOC=1), then runs it again once for every n,
making the n-th allocation fail (FP_FAIL_ALLOC=n).  Every run must
  - end by exit() with status 0, 1 or 2 (never a signal, never a sanitizer report: with the
    sanitizer build a leak on the error path makes LeakSanitizer fail the run);
  - if the status is not 0, print a message ("fpentropy: ...") and leave no file that looks
    complete: summary.txt does not say "completed";
  - if the status is 0, have written what a successful run writes (summary "completed").

    run_fault_injection.py --fpentropy build-asan/tests/fault/fpentropy_faulty --case tests/fault/tiny.ini
                           [--commands run,verify] [--stride K]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# summary.txt's status line, read as the reliability tests read it
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from check_reliability import summary_status  # noqa: E402

COMMANDS = {
    "run": [],
    "verify": [],
    "sample": [],
    "compare": [],
    "policy": [],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fpentropy", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--suppressions")
    ap.add_argument("--commands", default=",".join(COMMANDS))
    ap.add_argument("--stride", type=int, default=1, help="try every k-th n only")
    a = ap.parse_args()
    env = dict(os.environ)
    opts = "exitcode=23"
    if a.suppressions:
        opts += f":suppressions={a.suppressions}"
    env["LSAN_OPTIONS"] = opts
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    failures = []
    total = 0
    tmp = tempfile.mkdtemp(prefix="fpfault_")
    try:
        for cmd in a.commands.split(","):
            out = os.path.join(tmp, cmd)
            argv = [a.fpentropy, cmd, a.case, "-o", out, "-q"] + COMMANDS[cmd]
            e = dict(env, FP_COUNT_ALLOC="1")
            p = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=300)
            m = re.search(r"fpentropy-allocations: (\d+)", p.stderr)
            if p.returncode != 0 or not m:
                failures.append(f"{cmd}: the reference run failed ({p.returncode}): {p.stderr[-500:]}")
                continue
            n_alloc = int(m.group(1))
            bad = 0
            for n in range(1, n_alloc + 1, a.stride):
                shutil.rmtree(out, ignore_errors=True)
                p = subprocess.run(argv, capture_output=True, text=True, env=dict(env, FP_FAIL_ALLOC=str(n)),
                                   timeout=300)
                total += 1
                rc, err = p.returncode, p.stderr
                problem = None
                if rc < 0 or rc not in (0, 1, 2):
                    problem = f"exit {rc}"
                elif "Sanitizer" in err or "runtime error" in err:
                    problem = "sanitizer report"
                elif rc != 0 and "fpentropy" not in err:
                    problem = "no message"
                elif rc != 0 and summary_status(out) == "completed":
                    problem = "summary says completed after a failure"
                elif rc == 0 and cmd != "sample" and summary_status(out) != "completed":
                    problem = f"exit 0 without a completed summary ({summary_status(out)})"
                if problem:
                    bad += 1
                    failures.append(f"{cmd} n={n}: {problem}: {err.strip()[-800:]}")
            print(f"{cmd}: {n_alloc} allocations, {len(range(1, n_alloc + 1, a.stride))} runs with one "
                  f"failing, {bad} bad", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures[:40]:
        print("FAIL", f)
    print(f"{total} runs, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
