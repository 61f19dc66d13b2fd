"""The portability matrix: the course's tests on imitated machines, other seeds, oldest versions.

Usage::

    python tools/portability.py              # every stage, then a table
    python tools/portability.py haswell      # only the named stages
    python tools/portability.py --list

Floating-point results differ in their last bits between CPUs: OpenBLAS picks a matrix kernel
per CPU and numpy picks SIMD loops per CPU. One machine imitates others by choosing a kernel
(``OPENBLAS_CORETYPE``) and turning SIMD levels off (``NPY_DISABLE_CPU_FEATURES``); a feature
the CPU lacks cannot be turned on, so the imitated machines are older ones. Each stage runs in
its own processes (the variables are read when numpy loads):

* ``haswell``, ``sandybridge``: the unit, lesson and harness tests (not the browser) and every
  notebook under nbval, outputs compared up to rounding (``tests/output_tolerance.py``);
* ``seeds``: every notebook with ``SEED = 1`` and ``SEED = 2`` (``tests/harness/
  test_shifted_seeds.py``): each notebook's own asserts must still hold;
* ``oldest``: a separate environment (``.venv-oldest``) with the lowest version of every
  dependency that ``pyproject.toml`` claims, running the unit and lesson tests and every
  notebook (errors and asserts only, as plotting output may differ between versions).

Exit status 0 when every stage passed. The table gives each stage's result and time.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLDEST_VENV = ROOT / ".venv-oldest"

#: Imitated machines: environment variables read by OpenBLAS and numpy at load time.
MACHINES = {
    "haswell": {"OPENBLAS_CORETYPE": "Haswell",
                "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"},
    "sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge",
                    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR X86_V3"},
}
SHIFTED_SEEDS = (1, 2)

#: Constraints on dependencies of dependencies, so that the oldest environment is one that
#: existed: matplotlib before 3.10.9 calls pyparsing names that pyparsing 3.3 deprecates, and
#: the tests turn every warning into an error (a learner never sees this warning: Python
#: hides deprecation warnings raised inside libraries). The lower bound of matplotlib is 3.8:
#: 3.7's contour sets are not artists yet (no set_visible), which the explorers rely on.
CONTEMPORARY = ("pyparsing<3.3",)

NBVAL = ["--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg"]
COMMON = ["-p", "no:cacheprovider", "-q", "-m", "not browser"]


def lower_bounds(pyproject=ROOT / "pyproject.toml"):
    """``name==X.Y.*`` for every ``name>=X.Y`` of the project's runtime dependencies."""
    text = pyproject.read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M)
    if block is None:
        raise ValueError(f"{pyproject} has no 'dependencies = [...]' list")
    pins = []
    for name, version in re.findall(r'"([A-Za-z0-9_.\-\[\]]+)>=([0-9][0-9.]*)"', block.group(1)):
        pins.append(f"{name.split('[')[0]}=={version}.*")
    return pins


def oldest_environment():
    """Create or refresh ``.venv-oldest`` with the lowest claimed versions; its python."""
    python = OLDEST_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(OLDEST_VENV)], check=True)
    constraints = OLDEST_VENV / "constraints.txt"
    constraints.write_text("\n".join(lower_bounds() + list(CONTEMPORARY)) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-c", str(constraints),
                    "-e", f"{ROOT}[test]"], check=True)
    return python


def stages():
    """name -> (description, python, pytest arguments, extra environment)."""
    python = sys.executable
    result = {}
    for name, env in MACHINES.items():
        result[name] = (f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, numpy without "
                        f"{env['NPY_DISABLE_CPU_FEATURES']}", python,
                        ["tests", "notebooks", "--nbval", *NBVAL, *COMMON], env)
    seeds = [arg for seed in SHIFTED_SEEDS for arg in ("--shifted-seed", str(seed))]
    result["seeds"] = (f"every notebook with SEED = {', '.join(map(str, SHIFTED_SEEDS))}", python,
                       ["tests/harness/test_shifted_seeds.py", *seeds, *COMMON], {})
    result["oldest"] = ("lowest dependency versions: " + ", ".join(lower_bounds()), None,
                        ["tests/core", "tests/lessons", "notebooks", "--nbval-lax", *NBVAL,
                         *COMMON], {})
    return result


def summary_line(output):
    """pytest's closing counts, e.g. '812 passed, 3 skipped in 95.1s'."""
    lines = [l.strip("= ") for l in output.splitlines() if re.search(r"\d+ (passed|failed|error)", l)]
    return lines[-1] if lines else "no pytest summary"


def run_stage(name, description, python, args, env):
    print(f"\n=== portability: {name} ({description})", flush=True)
    started = time.perf_counter()
    if python is None:
        python = oldest_environment()
    environment = {**os.environ, **env}
    process = subprocess.run([str(python), "-m", "pytest", *args], cwd=ROOT, env=environment,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(process.stdout[-6000:], flush=True)
    return process.returncode == 0, summary_line(process.stdout), time.perf_counter() - started


def main(argv=None):
    all_stages = stages()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"stages to run (default all: {', '.join(all_stages)})")
    parser.add_argument("--list", action="store_true", help="list the stages and exit")
    options = parser.parse_args(argv)
    if options.list:
        for name, (description, *_rest) in all_stages.items():
            print(f"{name:12} {description}")
        return 0
    unknown = [n for n in options.names if n not in all_stages]
    if unknown:
        parser.error(f"unknown stage(s) {unknown}; choose from {list(all_stages)}")
    rows = []
    for name in options.names or list(all_stages):
        ok, counts, seconds = run_stage(name, *all_stages[name])
        rows.append((name, "passed" if ok else "FAILED", counts, seconds))
    print("\nportability matrix")
    print(f"{'stage':12} {'result':7} {'time':>7}  tests")
    for name, result, counts, seconds in rows:
        print(f"{name:12} {result:7} {seconds:6.0f}s  {counts}")
    return 0 if all(r[1] == "passed" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
