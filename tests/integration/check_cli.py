#!/usr/bin/python3
"""Integration checks of the fpentropy command line (run by ctest).

Each subcommand is one ctest test; every check asserts numbers or messages,
with the tolerance stated next to it.

  check_cli.py --fpentropy BIN bad-cases DIR      every DIR/*.ini must be rejected
                                                  (exit 2) with the message in its
                                                  '# expect:' line
  check_cli.py --fpentropy BIN run CASE [--set k=v ...]
                                                  run a case and check the balance
  check_cli.py --fpentropy BIN failure CASE       a failing run leaves .partial files
  check_cli.py --fpentropy BIN usage              --help, --version, bad options
"""
import argparse
import csv
import glob
import math
import os
import subprocess
import sys
import tempfile

failures = []


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def read_balance(path):
    with open(path) as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return [{k: float(v) for k, v in r.items()} for r in rows]


def read_summary(path):
    out = {}
    with open(path) as f:
        for line in f:
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k.strip()] = v.strip()
    return out


def bad_cases(binary, directory):
    files = sorted(glob.glob(os.path.join(directory, "*.ini")))
    check(len(files) >= 5, f"{len(files)} bad case files found")
    for path in files:
        with open(path) as f:
            expect = f.readline().split("expect:", 1)[1].strip()
        code, out, err = run([binary, "check", path])
        check(code == 2, f"{os.path.basename(path)}: exit status {code} == 2")
        check(expect in err, f"{os.path.basename(path)}: message contains '{expect}' (got: {err.strip()})")


def run_case(binary, case, sets, exact_tol):
    with tempfile.TemporaryDirectory() as out:
        cmd = [binary, "run", case, "-o", out, "-q"]
        for s in sets:
            cmd += ["--set", s]
        code, stdout, stderr = run(cmd)
        check(code == 0, f"run {os.path.basename(case)} exit status {code} ({stderr.strip()})")
        if code != 0:
            return
        rows = read_balance(os.path.join(out, "balance.csv"))
        summary = read_summary(os.path.join(out, "summary.txt"))
        check(summary.get("status") == "completed", "summary status completed")
        check(len(rows) >= 2, f"{len(rows)} output rows")
        m0 = rows[0]["mass"]
        drift = max(abs(r["mass"] - m0) / m0 for r in rows)
        absorbing = "absorbing" in open(case).read() and not any("boundary" in s for s in sets)
        if not absorbing:
            check(drift <= 1e-12, f"mass conserved: max relative drift {drift:.2e} <= 1e-12")
        # Round-off of the identities, relative to the size of the terms.
        for r in rows:
            size = max(abs(r["dkl_dt"]), abs(r["sigma_tot"]), abs(r["q_hk"]), abs(r["boundary"]), 1e-300)
            r["_size"] = size
        worst = max(abs(r["residual"]) / r["_size"] for r in rows[1:])
        worst7 = max(abs(r["residual_a7"]) / r["_size"] for r in rows[1:])
        check(worst <= 1e-9, f"A.13 residual {worst:.2e} <= 1e-9 of the terms")
        check(worst7 <= 1e-9, f"A.7 residual {worst7:.2e} <= 1e-9 of the terms")
        check(all(r["sigma_tot"] >= 0 for r in rows), "sigma_tot >= 0 at every output")
        # CVODE's dense output against the exact rate: agreement at the
        # time-integration tolerance (100 rtol relative, 1e-8 absolute).
        rtol = float(summary.get("rtol", "1e-6")) if "rtol" in summary else 1e-6
        fd = max(abs(r["dkl_dt_fd"] - r["dkl_dt"]) / (abs(r["dkl_dt"]) + 1e-8) for r in rows[1:])
        check(fd <= 1e-3, f"dkl_dt from dense output agrees: {fd:.2e} <= 1e-3")
        if "kl_exact" in rows[0]:
            kl_err = max(abs(r["kl"] - r["kl_exact"]) for r in rows)
            kl_size = max(abs(r["kl_exact"]) for r in rows) + 1e-12
            # Discretisation error of the case's grid (docs/scheme.md gives the
            # measured values); exact_tol is set per case in CMakeLists.txt.
            check(kl_err / kl_size <= exact_tol, f"kl against closed form: {kl_err / kl_size:.2e} <= {exact_tol}")
            l1 = max(r["l1_error"] for r in rows)
            check(l1 <= exact_tol, f"L1 error against closed form {l1:.2e} <= {exact_tol}")
        snaps = glob.glob(os.path.join(out, "snapshot_*.vti"))
        check(len(snaps) >= 1 or "output.snapshots=0" in sets, f"{len(snaps)} VTK (.vti) snapshots written")
        if snaps:
            with open(os.path.join(out, "snapshots.pvd")) as f:
                listed = f.read().count("<DataSet ")
            check(listed == len(snaps), f"snapshots.pvd lists the {len(snaps)} .vti files ({listed})")
        check(not glob.glob(os.path.join(out, "*.partial")), "no .partial files after success")


def failure(binary, case):
    with tempfile.TemporaryDirectory() as out:
        code, _, err = run([binary, "run", case, "-o", out, "-q", "--set", "time.max_steps=3",
                            "--set", "time.integrator=cvode"])
        check(code == 1, f"a run that exceeds max_steps exits 1 (got {code})")
        check("CVode" in err or "steps" in err, f"the error names the solver failure: {err.strip()}")
        check(not os.path.exists(os.path.join(out, "balance.csv")), "no final balance.csv after a failure")
        check(os.path.exists(os.path.join(out, "balance.csv.partial")), "balance.csv.partial keeps the rows")
        summary = read_summary(os.path.join(out, "summary.txt"))
        check(summary.get("status", "") != "completed", f"summary status says failure: {summary.get('status')}")


def policy(binary, case):
    with tempfile.TemporaryDirectory() as out:
        specs = ["none", "calendar:k=5", "threshold:tau=0.1", "alarm", "cusum:h=0.5"]
        cmd = [binary, "policy", case, "-o", out, "-q", "--cost", "0.1", "--set", "output.snapshots=0"]
        for sp in specs:
            cmd += ["--policy", sp]
        code, _, err = run(cmd)
        check(code == 0, f"policy exit status {code} ({err.strip()})")
        if code != 0:
            return
        with open(os.path.join(out, "policy_summary.csv")) as f:
            rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
        check(len(rows) == len(specs) + 1, f"{len(rows)} summary rows (policies + oracle)")
        oracle = [r for r in rows if r["policy"] == "oracle"][0]
        check(float(oracle["regret"]) == 0.0, "the oracle's regret is 0")
        worst = min(float(r["regret"]) for r in rows)
        check(worst >= -1e-12, f"no policy beats the oracle (smallest regret {worst:.3g})")
        none = [r for r in rows if r["policy"] == "none"][0]
        check(int(none["n_retrains"]) == 0, "policy none never retrains")
        cal = [r for r in rows if r["policy"].startswith("calendar")][0]
        check(int(cal["n_retrains"]) == 8, f"calendar:k=5 over 41 periods retrains 8 times ({cal['n_retrains']})")
        # the 'none' mismatch is the case's own kl column: sum kl_k dt_k
        bal = read_balance(os.path.join(out, "balance.csv"))
        integral = sum(bal[k]["kl"] * (bal[k]["t"] - bal[k - 1]["t"]) for k in range(1, len(bal)))
        check(abs(float(none["mismatch_integral"]) - integral) <= 1e-12 * max(integral, 1),
              f"none's mismatch integral equals sum kl dt ({integral:.6g})")
        # K[k][0] = kl_k when q_ref is the initial density
        with open(os.path.join(out, "kl_matrix.csv")) as f:
            K = list(csv.DictReader(line for line in f if not line.startswith("#")))
        d = max(abs(float(K[k]["j0"]) - bal[k]["kl"]) for k in range(1, len(bal)))
        check(d <= 1e-12, f"K[k][0] equals the kl column (q_ref = initial): {d:.2e}")
        for sp, fname in zip(specs, ["policy_%02d.csv" % i for i in range(len(specs))]):
            check(os.path.exists(os.path.join(out, fname)), f"{fname} written")
        # Sample-driven: calendar ignores the signal, so it matches the exact run;
        # no schedule beats the oracle.
        code, _, err = run(cmd + ["--particles", "500", "--replicas", "4"])
        check(code == 0, f"sampled policy exit status {code} ({err.strip()})")
        if code != 0:
            return
        with open(os.path.join(out, "policy_sampled.csv")) as f:
            srows = list(csv.DictReader(line for line in f if not line.startswith("#")))
        check(len(srows) == len(specs), f"{len(srows)} sampled rows")
        cal = [r for r in srows if r["policy"].startswith("calendar")][0]
        check(float(cal["cost_ratio_exact"]) == 1.0 and float(cal["extra"]) == 0.0,
              "calendar is unaffected by estimation noise (cost ratio 1, no extra retrains)")
        check(all(float(r["cost_ratio_oracle"]) >= 1.0 - 1e-12 for r in srows),
              "every sample-driven schedule costs at least the oracle's")


def compare(binary, case):
    with tempfile.TemporaryDirectory() as out:
        cmd = [binary, "compare", case, "-o", out, "-q", "--particles", "250,4000", "--replicas", "8",
               "--estimators", "knn gauss hist kde wkv", "--set", "output.snapshots=0", "--set", "time.outputs=6"]
        code, _, err = run(cmd)
        check(code == 0, f"compare exit status {code} ({err.strip()})")
        if code != 0:
            return
        bal = read_balance(os.path.join(out, "balance.csv"))
        with open(os.path.join(out, "compare.csv")) as f:
            rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
        # the 'exact' column is the PDE's kl at the same time
        worst = max(abs(float(r["exact"]) - bal[[b["t"] for b in bal].index(float(r["t"]))]["kl"]) for r in rows)
        check(worst == 0.0, "compare's exact column is the PDE kl column")
        with open(os.path.join(out, "compare_summary.csv")) as f:
            summ = list(csv.DictReader(line for line in f if not line.startswith("#")))
        for name in ["knn", "gauss", "hist", "kde", "wkv"]:
            r = [x for x in summ if x["estimator"].startswith(name)]
            small = [float(x["rmse"]) for x in r if x["N"] == "250"][0]
            large = [float(x["rmse"]) for x in r if x["N"] == "4000"][0]
            # N grows 16x: the RMSE must fall (by 4x at the N^-1/2 rate;
            # bias floors of the smoothing estimators allow less): > 1.8x
            check(large < small / 1.8, f"{name}: RMSE falls with N ({small:.3g} -> {large:.3g})")
        rate = os.path.join(out, "compare_rate.csv")
        check(os.path.exists(rate), "compare_rate.csv written")


def usage(binary):
    code, out, _ = run([binary, "--help"])
    check(code == 0 and "Usage:" in out and "Exit status" in out, "--help prints usage, exit 0")
    code, out, _ = run([binary, "--version"])
    check(code == 0 and "SUNDIALS" in out, "--version names the libraries, exit 0")
    code, _, err = run([binary, "run"])
    check(code == 2 and "missing CASE" in err, "missing case file: exit 2")
    code, _, err = run([binary, "frobnicate", "x.ini"])
    check(code == 2 and "unknown command" in err, "unknown command: exit 2")
    code, _, err = run([binary, "check", "x.ini", "--bogus"])
    check(code == 2 and "unknown option" in err, "unknown option: exit 2")
    code, _, err = run([binary, "check", "/nonexistent.ini"])
    check(code != 0 and "cannot open" in err, "missing file: clear message")
    # GNU manners (getopt_long): bundled short options, abbreviated long ones, `--`, options after
    # the operands, ambiguous abbreviations refused
    case = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "cases", "ou1d_relax.ini")
    with tempfile.TemporaryDirectory() as tmp:
        code, _, err = run([binary, "run", case, "-qs", "output.snapshots=0", "--ou", tmp, "--set",
                            "time.outputs=3"])
        check(code == 0 and os.path.exists(os.path.join(tmp, "balance.csv")),
              f"bundled -qs and the abbreviation --ou run (exit {code}, {err.strip()})")
    code, out, _ = run([binary, "-q", "check", "--", case])
    check(code == 0, "`--` ends the options")
    code, _, err = run([binary, "check", case, "--p", "1"])
    check(code == 2 and "ambiguous" in err, "an ambiguous abbreviation is refused")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fpentropy", required=True)
    ap.add_argument("what")
    ap.add_argument("arg", nargs="?")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--exact-tol", type=float, default=1e-2)
    a = ap.parse_args()
    if a.what == "bad-cases":
        bad_cases(a.fpentropy, a.arg)
    elif a.what == "run":
        run_case(a.fpentropy, a.arg, a.set, a.exact_tol)
    elif a.what == "failure":
        failure(a.fpentropy, a.arg)
    elif a.what == "policy":
        policy(a.fpentropy, a.arg)
    elif a.what == "compare":
        compare(a.fpentropy, a.arg)
    elif a.what == "usage":
        usage(a.fpentropy)
    else:
        ap.error("unknown check " + a.what)
    print(f"{len(failures)} failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
