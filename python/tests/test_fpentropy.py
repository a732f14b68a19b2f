# pytest tests of the fpentropy Python package against the fpentropy program (run by ctest).
# SPDX-License-Identifier: GPL-3.0-or-later
"""Needs FPENTROPY (the program) and FP_CASES (the cases folder) in the environment; ctest
sets both (python.pytest).  Every output file the package reads is written here by the real
program; tables are also read with pandas' defaults where pandas is installed."""
import csv
import glob
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import fpentropy

EXE = os.environ.get("FPENTROPY")
CASES = os.environ.get("FP_CASES", os.path.join(os.path.dirname(__file__), "..", "..", "cases"))
pytestmark = pytest.mark.skipif(not EXE, reason="set FPENTROPY to the fpentropy program")

try:
    import pandas as pd
except ImportError:  # the frame-less path is still tested
    pd = None


def case(name):
    return os.path.join(CASES, name + ".ini")


@pytest.fixture(scope="module")
def relax(tmp_path_factory):
    out = tmp_path_factory.mktemp("relax")
    return fpentropy.run(case("ou1d_relax"), out=out, exe=EXE, domain__cells=100,
                         sets={"time.outputs": 11})


def assert_plain_csv(path):
    """A CSV that pandas.read_csv reads with its defaults: header first, no '#' lines, every
    row as wide as the header."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows and not rows[0][0].startswith("#"), f"{path} starts with a comment"
    assert all(not r or not r[0].startswith("#") for r in rows), f"{path} has '#' lines"
    assert all(len(r) == len(rows[0]) for r in rows[1:] if r), f"{path}: ragged rows"
    if pd is not None:
        df = pd.read_csv(path)
        assert list(df.columns) == rows[0]
        assert df.shape == (len([r for r in rows[1:] if r]), len(rows[0]))


def test_run_overrides_and_balance(relax):
    summary = relax.summary
    assert summary["status"] == "completed"
    assert summary["cells"].split()[0] == "100"          # domain__cells=100 reached the run
    tab = fpentropy.read_balance(relax.dir, frame=False)
    assert len(tab["t"]) == 11 and tab["t"][-1] == pytest.approx(float(summary["t_end"])
                                                                 if "t_end" in summary else tab["t"][-1])
    # the numbers are the CSV's, to the last digit (%.17g round trip)
    with open(os.path.join(relax.dir, "balance.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [float(r["kl"]) for r in rows] == list(tab["kl"])
    # the closed form (KL of two Gaussians) within the discretisation error on 100 cells
    t = tab["t"]
    m, s2 = 2 * np.exp(-t), 1 + (0.25 - 1) * np.exp(-2 * t)
    kl = 0.5 * (s2 + m ** 2 - 1 - np.log(s2))
    assert np.max(np.abs(tab["kl"] - kl)) < 5e-3
    # the sidecar carries what the '#' line carried
    meta = relax.meta("balance")
    assert meta["file"] == "balance.csv" and meta["columns"] == list(tab.keys())
    assert meta["comment"][0].startswith("case ") and "ou1d_relax.ini" in meta["comment"][0]


@pytest.mark.skipif(pd is None, reason="pandas not installed")
def test_pandas_defaults(relax):
    df = pd.read_csv(os.path.join(relax.dir, "balance.csv"))   # no comment=, no skiprows=
    assert df.shape == (11, len(relax.meta("balance")["columns"]))
    assert all(np.issubdtype(df[c].dtype, np.number) for c in df.columns)  # "boundary" 0s: int
    frame = fpentropy.read_balance(relax.dir)
    assert isinstance(frame, pd.DataFrame) and frame.attrs["meta"]["file"] == "balance.csv"
    exact = fpentropy.read_balance(relax.dir, frame=False)["kl"]
    assert np.array_equal(frame["kl"].to_numpy(), exact)    # float_precision="round_trip"
    assert np.allclose(df["kl"].to_numpy(), exact, rtol=1e-14, atol=0)  # defaults: within a few ulps


def test_every_csv_is_plain(relax, tmp_path):
    outs = [relax.dir]
    fpentropy.run(case("ou1d_relax"), "compare", out=tmp_path / "cmp", exe=EXE,
                  domain__cells=100, output__snapshots=0, time__outputs=4,
                  args=["--particles", "200", "--replicas", "2", "--estimators", "gauss knn"])
    fpentropy.run(case("ou1d_moving_mean"), "policy", out=tmp_path / "pol", exe=EXE,
                  domain__cells=100, output__snapshots=0,
                  args=["--policy", "none", "--policy", "calendar:k=5", "--cost", "0.1",
                        "--particles", "200", "--replicas", "2"])
    fpentropy.run(case("classifier_stream"), "stream", out=tmp_path / "stream", exe=EXE,
                  args=["--seeds", "1"])
    fpentropy.run(case("classifier_stream_pde_1d"), "policy", out=tmp_path / "loss", exe=EXE,
                  args=["--objective", "loss", "--alpha-sweep", "0.5:3"])
    outs += [tmp_path / "cmp", tmp_path / "pol", tmp_path / "stream", tmp_path / "loss"]
    paths = [p for d in outs for p in glob.glob(os.path.join(d, "*.csv"))]
    names = {os.path.basename(p) for p in paths}
    assert {"balance.csv", "snapshots.csv", "compare.csv", "compare_rate.csv",
            "compare_summary.csv", "policy_summary.csv", "oracle.csv", "pareto.csv",
            "kl_matrix.csv", "policy_sampled.csv", "policy_00.csv", "table.csv", "loss.csv",
            "pe_matrix.csv", "loss_summary.csv", "auc.csv", "alpha_sweep.csv"} <= names
    for p in paths:
        assert_plain_csv(p)
    # the readers
    cmp = fpentropy.read_compare(tmp_path / "cmp", frame=False)
    assert set(cmp) == {"estimates", "rate", "summary"}
    assert set(cmp["summary"]["estimator"]) == {"gauss", "knn"} or len(cmp["summary"]["N"]) == 2
    assert "replicas" in cmp["estimates"].meta["comment"][0]
    pol = fpentropy.read_policy(tmp_path / "pol", frame=False)
    assert list(pol["schedules"]) == list(pol["summary"]["policy"])
    assert pol["schedules"]["none"]["decision"].sum() == 0
    assert pol["summary"].meta["comment"][0].startswith("retrain cost c = 0.1")
    assert "sampled" in pol and "pareto" in pol and "kl_matrix" in pol
    # the plot tool takes the retrain cost and the replicas from the sidecars
    try:
        from fpentropy import plot
    except SystemExit:  # matplotlib missing
        return
    entries, comments = plot.read_policies(str(tmp_path / "pol"))
    assert plot._comment_value(comments, r"retrain cost c\s*=\s*([-+0-9.eE]+)") == 0.1
    _, cmp_comments = plot.read_table(str(tmp_path / "cmp" / "compare.csv"), numeric=("N",))
    assert plot._comment_value(cmp_comments, r"(\d+)\s+replicas") == 2
    assert plot.case_title(str(relax.dir)) == "ou1d_relax"


def test_samples_bin_equals_csv(tmp_path):
    common = ["--particles", "50", "--replicas", "2", "--seed", "7"]
    fpentropy.run(case("ou1d_relax"), "sample", out=tmp_path / "b", exe=EXE, time__outputs=3,
                  args=common)
    fpentropy.run(case("ou1d_relax"), "sample", out=tmp_path / "c", exe=EXE, time__outputs=3,
                  args=common + ["--format", "csv"])
    b = fpentropy.read_samples(tmp_path / "b")
    assert b["header"] == {"dim": 1, "replicas": 2, "outputs": 3, "particles": 50}
    assert len(b["records"]) == 6
    c = fpentropy.read_samples(tmp_path / "c" / "samples.csv", frame=False)
    assert_plain_csv(tmp_path / "c" / "samples.csv")
    x_bin = np.concatenate([r[3][:, 0] for r in b["records"]])
    assert np.array_equal(x_bin, c["x"])                   # same seed: the same particles
    rep = np.concatenate([[r[0]] * len(r[3]) for r in b["records"]])
    assert np.array_equal(rep, c["replica"])


def test_docs_samples_snippet(tmp_path):
    """The samples.bin snippet of docs/cli.md runs and agrees with read_samples."""
    fpentropy.run(case("ou1d_relax"), "sample", out=tmp_path, exe=EXE, time__outputs=2,
                  args=["--particles", "20", "--replicas", "1", "--seed", "3"])
    doc = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "cli.md")
    text = open(doc).read()
    start = text.index("```python", text.index("`samples.bin`: a text line"))
    code = text[start + len("```python"):text.index("```", start + 3)]
    env = {}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "docs/cli.md", "exec"), env)
    finally:
        os.chdir(cwd)
    mine = fpentropy.read_samples(tmp_path / "samples.bin")["records"]
    assert len(env["records"]) == len(mine) == 2
    for (r, o, t, x), (r2, o2, t2, x2) in zip(env["records"], mine):
        assert (r, o, t) == (r2, o2, t2) and np.array_equal(x, x2)


def test_sweep(tmp_path):
    out = tmp_path / "sw"
    subprocess.run([EXE, "sweep", case("ou1d_relax"), "-q", "-o", str(out), "--grid",
                    "domain.cells=40,80", "--set", "time.outputs=3", "--set", "output.snapshots=0",
                    "--jobs", "1"], check=True)
    manifest, table = fpentropy.read_sweep(out, frame=False)
    assert manifest["format"] == "fpentropy-sweep 1" and len(manifest["points"]) == 2
    assert_plain_csv(out / "sweep.csv")
    assert sorted(set(table["domain.cells"])) == [40.0, 80.0] and len(table["t"]) == 6
    assert fpentropy.read_meta(out / "sweep.csv") == {}       # the manifest is no sidecar


def test_snapshots_dat(relax):
    snaps = relax.snapshots
    assert snaps and all("dat" in s for s in snaps)
    s = fpentropy.read_snapshot(snaps[-1]["dat"])
    x = s.axes[0]
    assert len(x) == 100 and x[0] == pytest.approx(-8 + 0.08)
    h = x[1] - x[0]
    assert np.sum(s["p"]) * h == pytest.approx(1.0, abs=1e-9)   # the density has mass 1


def test_run_failure_raises(tmp_path):
    with pytest.raises(fpentropy.FpentropyError) as e:
        fpentropy.run(case("ou1d_relax"), out=tmp_path, exe=EXE, domain__cells=-3)
    assert e.value.returncode == 2
    with pytest.raises(TypeError):
        fpentropy.run(case("ou1d_relax"), out=tmp_path, exe=EXE, cells=3)


def test_plot_module(relax, tmp_path):
    pytest.importorskip("matplotlib")
    proc = subprocess.run([sys.executable, "-m", "fpentropy.plot", str(relax.dir), "-o",
                           str(tmp_path)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert proc.returncode == 0, proc.stderr
    written = proc.stdout.split()
    assert os.path.join(str(tmp_path), "balance.png") in written
    with open(os.path.join(str(tmp_path), "balance.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_pip_install_offline(tmp_path):
    """The README's install: a venv that sees Debian's numpy (PEP 668 forbids pip in the system
    interpreter), `pip install --no-index --no-build-isolation ./python`: no network, no compiler.
    Without the venv module (python3-venv), `pip install --target` instead."""
    import shutil
    src = tmp_path / "src"                     # a copy: setuptools writes build/ beside it
    shutil.copytree(os.path.join(os.path.dirname(__file__), ".."), src,
                    ignore=shutil.ignore_patterns("tests", "__pycache__", "build", "*.egg-info"))
    venv = tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                          capture_output=True, text=True).returncode == 0
    if made:
        python, env = str(venv / "bin" / "python"), dict(os.environ)
        env.pop("PYTHONPATH", None)
        cmd = [python, "-m", "pip", "install", "--no-index", "--no-build-isolation",
               "--no-cache-dir", str(src)]
    else:
        target = tmp_path / "site"
        python, env = sys.executable, dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
        cmd = [sys.executable, "-m", "pip", "install", "--no-index", "--no-deps",
               "--no-build-isolation", "--no-cache-dir", "--target", str(target), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env={k: v for k, v in env.items() if k != "PYTHONPATH"} if made else None)
    if proc.returncode != 0 and "No module named pip" in proc.stderr:
        pytest.skip("pip is not installed (Debian: python3-pip)")
    assert proc.returncode == 0, proc.stderr
    check = subprocess.run([python, "-c", "import fpentropy, fpentropy.readers; "
                            "print(fpentropy.__file__, fpentropy.__version__)"],
                           capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert check.returncode == 0, check.stderr
    where, version = check.stdout.split()
    assert where.startswith(str(tmp_path)) and version == "0.1.0"


def _independent_vti(path):
    """A reader written apart from fpentropy.read_vti (regular expressions on the bytes, struct):
    used when VTK's Python module is not installed.  meshio (Debian's 5.0) reads no .vti."""
    import re as _re
    import struct as _struct
    blob = open(path, "rb").read()
    head, _, data = blob.partition(b"<AppendedData encoding=\"raw\">")
    data = data[data.index(b"_") + 1:]
    compressed = b"vtkZLibDataCompressor" in head
    out = {}
    for m in _re.finditer(rb'<DataArray type="Float64" Name="(\w+)"( NumberOfComponents="3")? '
                          rb'format="appended" offset="(\d+)"/>', head):
        off = int(m.group(3))
        if compressed:
            nb = _struct.unpack_from("<Q", data, off)[0]
            sizes = _struct.unpack_from(f"<{nb}Q", data, off + 24)
            pos, raw = off + 24 + 8 * nb, b""
            for c in sizes:
                raw += __import__("zlib").decompress(data[pos:pos + c])
                pos += c
        else:
            n = _struct.unpack_from("<Q", data, off)[0]
            raw = data[off + 8:off + 8 + n]
        vals = np.frombuffer(raw, "<f8")
        out[m.group(1).decode()] = vals.reshape(-1, 3) if m.group(2) else vals
    return out


def _vtk_read(path):
    """VTK's own XML reader (Debian python3-vtk9): point data as flat arrays, and the image's
    origin, spacing, dimensions; None when VTK's Python module is missing."""
    try:
        from vtkmodules.vtkIOXML import vtkXMLImageDataReader
        from vtkmodules.util.numpy_support import vtk_to_numpy
    except ImportError:
        return None
    r = vtkXMLImageDataReader()
    r.SetFileName(str(path))
    r.Update()
    img = r.GetOutput()
    pd_ = img.GetPointData()
    arrays = {pd_.GetArrayName(i): vtk_to_numpy(pd_.GetArray(i)) for i in range(pd_.GetNumberOfArrays())}
    return arrays, img.GetOrigin(), img.GetSpacing(), img.GetDimensions()


def test_vti_snapshots_read_by_vtk(tmp_path):
    res = fpentropy.run(case("ou2d_rotating"), out=tmp_path, exe=EXE, domain__cells=24)
    snaps = res.snapshots
    assert len(snaps) == 5 and all("vti" in s and "dat" in s for s in snaps)
    pvd = fpentropy.read_pvd(tmp_path / "snapshots.pvd")
    assert [t for t, _ in pvd] == [s["t"] for s in snaps]
    assert [os.path.basename(p) for _, p in pvd] == [os.path.basename(s["vti"]) for s in snaps]
    for s in snaps:
        dat = fpentropy.read_snapshot(s["dat"])           # 17 digits: the same doubles
        vtk = _vtk_read(s["vti"])
        if vtk is not None:
            arrays, origin, spacing, dims = vtk
            assert dims == (24, 24, 1)
            assert origin[:2] == pytest.approx((dat.axes[0][0], dat.axes[1][0]), abs=1e-15)
            assert spacing[0] == pytest.approx(dat.axes[0][1] - dat.axes[0][0], rel=1e-14)
        else:
            arrays = _independent_vti(s["vti"])
        for name in ("p", "log_p_over_q", "entropy_production"):
            assert np.array_equal(np.asarray(arrays[name]).ravel(), dat[name].ravel()), name
        J = np.asarray(arrays["J"])
        assert np.array_equal(J[:, 0], dat["J_x"].ravel()) and np.array_equal(J[:, 1], dat["J_y"].ravel())
        assert not J[:, 2].any()
        mine = fpentropy.read_vti(s["vti"])
        assert mine.t == s["t"] and np.array_equal(mine["p"], dat["p"])
        assert np.allclose(mine.axes[1], dat.axes[1], rtol=0, atol=1e-14)
    # zlib makes the binary snapshot much smaller than the 17-digit text
    assert os.path.getsize(snaps[-1]["vti"]) < 0.5 * os.path.getsize(snaps[-1]["dat"])
