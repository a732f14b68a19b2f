#!/usr/bin/env python3
# GNU manners of the command line: per-command help, help COMMAND, --version, man pages, completion.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Usage: check_manners.py FPENTROPY MAN_DIR COMPLETION_FILE

Checks that `fpentropy COMMAND --help` and `fpentropy help COMMAND` print the same text (exit 0)
for every command, that `policy --help` names every policy and estimator with its parameters,
that an unknown `help X` exits 2, that --version has the copyright and licence lines, that
`man -l` renders fpentropy.1 and fpentropy-case.5 without a warning and with every command and
every case section, and that the bash completion offers commands, options and policies."""
import os
import re
import shutil
import subprocess
import sys

FAILED = []


def check(ok, what):
    print(("PASS  " if ok else "FAIL  ") + what)
    if not ok:
        FAILED.append(what)


def run(*cmd, env=None):
    p = subprocess.run(list(cmd), capture_output=True, text=True, env=env)
    return p.returncode, p.stdout, p.stderr


def main():
    exe, man_dir, completion = sys.argv[1:4]
    commands = ["run", "check", "verify", "sample", "compare", "policy", "calibrate",
                "debt-study", "sweep"]
    for c in commands:
        code, out, err = run(exe, c, "--help")
        code2, out2, _ = run(exe, "help", c)
        check(code == 0 and code2 == 0 and out == out2 and out.startswith(f"Usage: fpentropy {c}"),
              f"fpentropy {c} --help == fpentropy help {c} (exit {code}, {code2})")
    _, pol, _ = run(exe, "policy", "--help")
    for name in ["none", "calendar", "threshold", "alarm", "cusum", "debt"]:
        check(re.search(rf"^  {name}: ", pol, re.M) is not None, f"policy --help lists {name}")
    check("tau            real" in pol and "required" in pol, "policy --help gives parameters")
    for name in ["knn", "gauss", "hist", "kde", "wkv"]:
        check(re.search(rf"^    {name}: ", pol, re.M) is not None, f"policy --help lists estimator {name}")
    code, _, err = run(exe, "help", "no-such-command")
    check(code == 2 and "unknown command" in err, f"help of an unknown command exits 2 ({code})")
    code, out, _ = run(exe, "--version")
    check(code == 0 and out.startswith("fpentropy ") and "Copyright (C)" in out
          and "License GPLv3+" in out and "NO WARRANTY" in out, "--version: copyright and licence")
    code, out, _ = run(exe, "help")
    check(code == 0 and "help COMMAND" in out, "fpentropy help: the usage, exit 0")

    if shutil.which("man"):
        env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
        env.pop("MAN_KEEP_FORMATTING", None)
        code, page1, warn1 = run("man", "--warnings", "-l", os.path.join(man_dir, "fpentropy.1"), env=env)
        check(code == 0 and not warn1.strip(), f"man -l fpentropy.1 renders without warnings {warn1[:200]!r}")
        for c in commands:
            check(re.search(rf"^   {re.escape(c)}$", page1, re.M) is not None, f"fpentropy(1) has {c}")
        code, page5, warn5 = run("man", "--warnings", "-l", os.path.join(man_dir, "fpentropy-case.5"), env=env)
        check(code == 0 and not warn5.strip(), f"man -l fpentropy-case.5 renders without warnings {warn5[:200]!r}")
        for sec in ["domain", "constants", "dynamics", "initial", "reference", "time", "solver",
                    "output", "sample", "policy"]:
            check(f"   [{sec}]" in page5, f"fpentropy-case(5) has [{sec}]")
    else:
        print("SKIP  man not installed")

    def complete(*words):
        script = (f"source {completion}; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
                  f"COMP_CWORD={len(words) - 1}; _fpentropy; echo \"${{COMPREPLY[*]}}\"")
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True).stdout.split()
    check(complete("fpentropy", "ve") == ["verify"], "completion: ve -> verify")
    check("--set" in complete("fpentropy", "run", "--s"), "completion: run --s -> --set")
    check(complete("fpentropy", "policy", "x.ini", "--policy", "cu") == ["cusum"],
          "completion: --policy cu -> cusum")
    check("--particles" not in complete("fpentropy", "run", "--p"), "completion: run has no --particles")
    if FAILED:
        sys.exit(f"{len(FAILED)} failed")
    print("all passed")


if __name__ == "__main__":
    main()
