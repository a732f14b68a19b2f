# run(): drive the fpentropy command line from Python and read what it wrote.
# SPDX-License-Identifier: GPL-3.0-or-later
"""fpentropy.run(case, **overrides) runs `fpentropy COMMAND CASE -o DIR --set ...` and returns
a Results object on DIR."""
import os
import shutil
import subprocess
import tempfile

from .readers import Results


class FpentropyError(RuntimeError):
    """The command failed: .returncode (1 computation, 2 usage or case, 3 check, 130
    interrupted), .stderr, .cmd."""

    def __init__(self, cmd, returncode, stderr):
        super().__init__(f"{' '.join(cmd)}: exit status {returncode}\n{stderr.strip()}")
        self.cmd, self.returncode, self.stderr = cmd, returncode, stderr


def find_executable(exe=None):
    """The fpentropy program: exe, else $FPENTROPY, else `fpentropy` on PATH, else the
    build/fpentropy of the source tree this package sits in."""
    for candidate in (exe, os.environ.get("FPENTROPY"), shutil.which("fpentropy"),
                      os.path.join(os.path.dirname(__file__), "..", "..", "build", "fpentropy")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    raise FileNotFoundError("fpentropy program not found: pass exe=, set FPENTROPY or put it "
                            "on PATH")


def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ",".join(_value(x) for x in v)
    return str(v)


def run(case, command="run", out=None, exe=None, sets=None, args=(), frame=None, check=True,
        **overrides):
    """Run `fpentropy COMMAND CASE -q -o OUT` and return Results(OUT).

    Case keys are overridden by keyword, with '__' for the '.' between section and key
    (domain__cells=64 is --set domain.cells=64), or by sets={"domain.cells": 64}.  args are
    further command-line words (e.g. ["--particles", "1000"]).  out defaults to a new
    temporary directory (it is not removed).  A failing command raises FpentropyError
    (check=False: returns the Results anyway, with .returncode)."""
    exe = find_executable(exe)
    if out is None:
        out = tempfile.mkdtemp(prefix="fpentropy_")
    cmd = [exe, command, os.fspath(case), "-q", "-o", os.fspath(out)]
    merged = dict(sets or {})
    for k, v in overrides.items():
        if "__" not in k:
            raise TypeError(f"run(): unexpected keyword '{k}' (case keys are section__key)")
        merged[k.replace("__", ".", 1)] = v
    for k, v in merged.items():
        cmd += ["--set", f"{k}={_value(v)}"]
    cmd += [str(a) for a in args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise FpentropyError(cmd, proc.returncode, proc.stderr)
    res = Results(out, frame)
    res.returncode, res.stdout, res.stderr = proc.returncode, proc.stdout, proc.stderr
    return res
