# fpentropy's Python package: read the files the solver writes, run it, plot its results.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Readers for fpentropy's output files, run(), and the plot tool (fpentropy.plot).

Tables come back as pandas DataFrames when pandas is importable (and frame is not False), else
as a Table: a dict mapping column -> numpy array (numbers as float64, text as str arrays)."""
from .readers import (Table, read_balance, read_compare, read_meta, read_policy, read_samples,
                      read_snapshot, read_snapshots, read_summary, read_sweep, read_table,
                      read_vti, read_pvd, Results)
from .runner import run, find_executable, FpentropyError

__version__ = "0.1.0"
__all__ = ["Table", "read_balance", "read_compare", "read_meta", "read_policy", "read_samples",
           "read_snapshot", "read_snapshots", "read_summary", "read_sweep", "read_table",
           "read_vti", "read_pvd", "Results", "run", "find_executable", "FpentropyError"]
