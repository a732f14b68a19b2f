# Readers for every file fpentropy writes: tables, sidecars, summaries, snapshots, samples.
# SPDX-License-Identifier: GPL-3.0-or-later
"""Readers of fpentropy's output files.

Tables (balance.csv, compare*.csv, policy_*.csv, oracle.csv, pareto.csv, kl_matrix.csv,
policy_sampled.csv, sweep.csv, cells.csv, wins.csv, trace.csv, samples.csv, snapshots.csv) start
with their header line; what describes a table is in its sidecar <stem>.json (read_meta).
With pandas importable a table is a DataFrame (df.attrs["meta"] holds the sidecar); without it,
or with frame=False, a Table: a dict column -> numpy array with .meta."""
import base64
import csv
import glob
import json
import os
import re
import struct
import xml.etree.ElementTree as ET
import zlib

import numpy as np

try:  # optional
    import pandas as _pd
except ImportError:  # pragma: no cover - depends on the installation
    _pd = None


class Table(dict):
    """Column name -> numpy array (float64 for numeric columns, str otherwise); .meta is the
    sidecar (a dict, empty when there is none)."""

    def __init__(self, columns=(), meta=None):
        super().__init__(columns)
        self.meta = meta or {}

    @property
    def columns(self):
        return list(self.keys())

    def __len__(self):  # rows, like a DataFrame
        return len(next(iter(self.values()))) if self else 0


def _want_frame(frame):
    if frame and _pd is None:
        raise ImportError("pandas is not installed (Debian: apt install python3-pandas)")
    return _pd is not None if frame is None else bool(frame)


def _resolve(path, default_name):
    """A file path, or default_name inside a directory (an unfinished run: its .partial)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, default_name)
    if not os.path.exists(path) and os.path.exists(path + ".partial"):
        path += ".partial"
    return path


def read_meta(path):
    """The sidecar <stem>.json of a table path (a .partial table: its final name's), or {}."""
    path = os.fspath(path)
    if path.endswith(".partial"):
        path = path[: -len(".partial")]
    stem = path[:-4] if path.endswith(".csv") else path
    try:
        with open(stem + ".json") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) and "format" not in meta else {}


def _number(text):
    try:
        return float(text) if text != "" else float("nan")
    except ValueError:
        return None


def read_table(path, frame=None):
    """Any fpentropy CSV table -> DataFrame (pandas) or Table.  Leading '#' lines, which files
    written before the sidecars have, are skipped."""
    path = os.fspath(path)
    with open(path, newline="") as f:
        lines = f.readlines()
    skip = 0
    while skip < len(lines) and lines[skip].startswith("#"):
        skip += 1
    meta = read_meta(path)
    if _want_frame(frame):
        # round_trip: pandas' default parser may be off by an ulp on 17-digit numbers
        df = _pd.read_csv(path, skiprows=skip, float_precision="round_trip")
        df.attrs["meta"] = meta
        return df
    rows = [r for r in csv.reader(lines[skip:]) if r]
    if not rows:
        raise ValueError(f"{path}: no header line")
    header, data = rows[0], rows[1:]
    cols = {}
    for j, name in enumerate(header):
        raw = [r[j] if j < len(r) else "" for r in data]
        nums = [_number(v) for v in raw]
        cols[name] = (np.array(nums, dtype=float) if all(v is not None for v in nums)
                      else np.array(raw, dtype=str))
    return Table(cols, meta)


def read_balance(path, frame=None):
    """balance.csv (a file or a run directory; balance.csv.partial of an unfinished run)."""
    return read_table(_resolve(path, "balance.csv"), frame)


def read_summary(path):
    """summary.txt (file or directory) -> dict of str: its 'key: value' lines, and the
    resolved case's 'section.key = value' lines."""
    out = {}
    with open(_resolve(path, "summary.txt")) as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if ln.startswith("#") or not ln.strip():
                continue
            if " = " in ln and ":" not in ln.split(" = ")[0]:
                key, val = ln.split(" = ", 1)
                out.setdefault(key.strip(), val.split("#", 1)[0].strip())
            elif ": " in ln:
                key, val = ln.split(": ", 1)
                out.setdefault(key.strip(), val.strip())
    return out


def read_snapshots(run_dir):
    """The snapshots of a run, in index order: list of dicts index, t (from snapshots.csv, else
    None) and the paths of the files that exist under the keys "vti", "vtk", "dat"."""
    run_dir = os.fspath(run_dir)
    times = {}
    index = os.path.join(run_dir, "snapshots.csv")
    if os.path.isfile(index):
        t = read_table(index, frame=False)
        times = {int(i): float(v) for i, v in zip(t["index"], t["t"])}
    found = {}
    for p in glob.glob(os.path.join(run_dir, "snapshot_[0-9]*.*")):
        m = re.search(r"snapshot_(\d+)\.(vti|vtk|dat)$", p)
        if m:
            found.setdefault(int(m.group(1)), {})[m.group(2)] = p
    return [dict(index=i, t=times.get(i), **found[i]) for i in sorted(found)]


class Snapshot(dict):
    """Field name -> array shaped like the grid, indexed [k][j][i] (z, y, x; 1D: [i]).
    .axes: the cell-centre coordinates per axis (x first); .t: the time, or None."""

    def __init__(self, fields, axes, t=None):
        super().__init__(fields)
        self.axes = axes
        self.t = t


def dat_header(path):
    """The '#' header of a snapshot .dat -> (column names from its first line or None, the
    time t from a 't=' / 't = ' in it or None)."""
    names, t = None, None
    with open(path) as f:
        for line in f:
            if not line.startswith("#"):
                if line.strip():
                    break
                continue
            if names is None:
                names = line[1:].split()
            m = re.search(r"\bt\s*=\s*(\S+)", line)
            if m and t is None:
                t = float(m.group(1).rstrip(","))
    return names, t


def _dat(path):
    names, t = dat_header(path)
    values = np.loadtxt(path, comments="#", ndmin=2)
    dim = sum(1 for n in names if n in ("x", "y", "z"))
    axes = [np.unique(values[:, a]) for a in range(dim)]
    shape = tuple(len(a) for a in reversed(axes))
    fields = {n: values[:, j].reshape(shape) for j, n in enumerate(names) if j >= dim}
    return Snapshot(fields, axes, t)


def read_vti(path):
    """A VTK XML ImageData file (.vti) as fpentropy writes it (appended raw data, optionally
    zlib-compressed; or inline ascii/base64) -> Snapshot of its PointData arrays."""
    with open(path, "rb") as f:
        blob = f.read()
    cut = blob.find(b"<AppendedData")
    # raw appended bytes are not XML: parse the markup before them
    root = ET.fromstring(blob[:cut] + b"</VTKFile>" if cut >= 0 else blob)
    if root.get("type") != "ImageData":
        raise ValueError(f"{path}: not VTK ImageData")
    header_type = {"UInt32": "<u4", "UInt64": "<u8"}[root.get("header_type", "UInt32")]
    hsize = np.dtype(header_type).itemsize
    compressed = root.get("compressor") == "vtkZLibDataCompressor"
    img = root.find("ImageData")
    extent = [int(v) for v in img.get("WholeExtent").split()]
    origin = [float(v) for v in img.get("Origin").split()]
    spacing = [float(v) for v in img.get("Spacing").split()]
    n = [extent[2 * a + 1] - extent[2 * a] + 1 for a in range(3)]
    dim = max([a + 1 for a in range(3) if n[a] > 1] or [1])
    axes = [origin[a] + spacing[a] * np.arange(n[a]) for a in range(dim)]
    raw = blob[blob.index(b"_", cut) + 1:] if cut >= 0 else b""  # after the '_' marker

    def block(data):  # one DataArray's bytes: header, then (compressed) payload
        if not compressed:
            size = int(np.frombuffer(data[:hsize], header_type)[0])
            return data[hsize:hsize + size], hsize + size
        nb, bsize, last = (int(v) for v in np.frombuffer(data[:3 * hsize], header_type))
        csizes = np.frombuffer(data[3 * hsize:(3 + nb) * hsize], header_type).astype(int)
        pos, out = (3 + nb) * hsize, []
        for c in csizes:
            out.append(zlib.decompress(data[pos:pos + c]))
            pos += c
        return b"".join(out), pos

    fields, t = {}, None
    field_data = img.find("FieldData")
    for arr in (field_data if field_data is not None else []):
        if arr.get("Name") == "TIME" and arr.get("format") == "ascii":
            t = float(arr.text.split()[0])
    shape = tuple(reversed(n[:dim]))
    for arr in img.find("Piece").find("PointData"):
        dtype = {"Float64": "<f8", "Float32": "<f4", "Int32": "<i4", "Int64": "<i8"}[arr.get("type")]
        ncomp = int(arr.get("NumberOfComponents", "1"))
        fmt = arr.get("format")
        if fmt == "appended":
            off = int(arr.get("offset"))
            payload, _ = block(raw[off:])
        elif fmt == "binary":
            data = base64.b64decode("".join(arr.text.split()))
            payload, _ = block(data)
        else:
            payload = np.array(arr.text.split(), dtype=float).astype(dtype).tobytes()
        values = np.frombuffer(payload, dtype).astype(float)
        fields[arr.get("Name")] = (values.reshape(shape + (ncomp,)) if ncomp > 1
                                   else values.reshape(shape))
    return Snapshot(fields, axes, t)


def read_pvd(path):
    """A ParaView collection (.pvd) -> list of (t, path of the dataset) in file order."""
    path = os.fspath(path)
    root = ET.parse(path).getroot()
    base = os.path.dirname(path)
    return [(float(ds.get("timestep")), os.path.join(base, ds.get("file")))
            for ds in root.iter("DataSet")]


def read_snapshot(path):
    """A snapshot file (.vti or .dat) -> Snapshot."""
    path = os.fspath(path)
    if path.endswith(".vti"):
        return read_vti(path)
    if path.endswith(".dat"):
        return _dat(path)
    raise ValueError(f"{path}: read .vti or .dat snapshots (the legacy .vtk is for ParaView)")


def read_samples(path, frame=None):
    """samples.bin -> dict with "header" (dim, replicas, outputs, particles as int) and
    "records": list of (replica, output, t, x) with x an (alive, dim) array;
    samples.csv -> a table (replica, output, t, x[, y[, z]])."""
    path = _resolve(path, "samples.bin")
    if not path.endswith(".bin") and not path.endswith(".bin.partial"):
        return read_table(path, frame)
    with open(path, "rb") as f:
        blob = f.read()
    eol = blob.index(b"\n")
    words = blob[:eol].decode("ascii").split()
    if words[:2] != ["fpentropy-samples", "1"]:
        raise ValueError(f"{path}: not an fpentropy samples file (format 1)")
    header = {k: int(v) for k, v in (w.split("=") for w in words[2:])}
    dim, pos, records = header["dim"], eol + 1, []
    while pos + 32 <= len(blob):
        replica, output, t, alive = struct.unpack_from("<qqdq", blob, pos)
        pos += 32
        x = np.frombuffer(blob, "<f8", alive * dim, pos).reshape(alive, dim)
        pos += 8 * alive * dim
        records.append((replica, output, t, x))
    return {"header": header, "records": records}


def read_compare(run_dir, frame=None):
    """compare.csv, compare_rate.csv, compare_summary.csv -> dict "estimates", "rate",
    "summary" (those present)."""
    names = {"estimates": "compare.csv", "rate": "compare_rate.csv",
             "summary": "compare_summary.csv"}
    return {k: read_table(os.path.join(run_dir, v), frame) for k, v in names.items()
            if os.path.isfile(os.path.join(run_dir, v))}


def read_policy(run_dir, frame=None):
    """The policy tables -> dict: "summary" (policy_summary.csv), "schedules" (label ->
    policy_NN.csv / oracle.csv table), and "pareto", "kl_matrix", "sampled" when present."""
    run_dir = os.fspath(run_dir)
    out = {"summary": read_table(os.path.join(run_dir, "policy_summary.csv"), frame)}
    summary = read_table(os.path.join(run_dir, "policy_summary.csv"), frame=False)
    out["schedules"] = {label: read_table(os.path.join(run_dir, file), frame)
                        for label, file in zip(summary["policy"], summary["file"])}
    for key, name in (("pareto", "pareto.csv"), ("kl_matrix", "kl_matrix.csv"),
                      ("sampled", "policy_sampled.csv")):
        if os.path.isfile(os.path.join(run_dir, name)):
            out[key] = read_table(os.path.join(run_dir, name), frame)
    return out


def read_sweep(sweep_dir, frame=None):
    """A sweep directory -> (manifest dict from sweep.json, sweep.csv table)."""
    with open(os.path.join(sweep_dir, "sweep.json")) as f:
        manifest = json.load(f)
    return manifest, read_table(os.path.join(sweep_dir, "sweep.csv"), frame)


class Results:
    """The output directory of one fpentropy command, read on demand."""

    def __init__(self, directory, frame=None):
        self.dir = os.fspath(directory)
        self.frame = frame

    def __repr__(self):
        return f"fpentropy.Results({self.dir!r})"

    @property
    def balance(self):
        return read_balance(self.dir, self.frame)

    @property
    def summary(self):
        return read_summary(self.dir)

    @property
    def snapshots(self):
        return read_snapshots(self.dir)

    def snapshot(self, i=-1):
        """Snapshot number i in the list of snapshots (negative: from the end); the .vti
        file when there is one, else the .dat."""
        s = self.snapshots[i]
        snap = read_snapshot(s.get("vti") or s["dat"])
        if snap.t is None:
            snap.t = s["t"]
        return snap

    @property
    def compare(self):
        return read_compare(self.dir, self.frame)

    @property
    def policy(self):
        return read_policy(self.dir, self.frame)

    def table(self, name):
        return read_table(os.path.join(self.dir, name), self.frame)

    def meta(self, stem):
        return read_meta(os.path.join(self.dir, stem + ".csv"))
