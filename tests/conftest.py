"""Shared set-up of the test suite.

- The checkout's own ``course_lib`` is imported (also by notebook kernels that nbval and the
  browser test start), whether or not the package is installed.
- Figures in this process use Agg; kernels keep the inline backend, as in JupyterLab.
- nbval compares notebook outputs with the tolerance of ``tests/output_tolerance.py``:
  rounding in the last printed digits passes, changed words or results fail.
- Markers: ``browser`` (JupyterLab in headless Chromium; deselect with ``-m "not browser"``)
  and ``slow``.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import matplotlib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
TOOLS_DIR = ROOT / "tools"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# Kernels started by nbval inherit this environment.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
# A kernel with MPLBACKEND=Agg warns on plt.show() and shows no figure; keep it inline.
os.environ.pop("MPLBACKEND", None)
matplotlib.use("Agg")


def pytest_addoption(parser):
    parser.addoption("--shifted-seed", action="append", type=int, dest="shifted_seed",
                     help="run tests/harness/test_shifted_seeds.py with SEED = this value "
                          "in every notebook (repeatable)")


def pytest_collection_modifyitems(config, items):
    # The shifted-seed test re-runs the course; it runs only when seeds are given.
    if config.getoption("shifted_seed"):
        return
    kept = [item for item in items if "test_shifted_seeds" not in item.nodeid]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: runs the notebooks in JupyterLab in headless Chromium "
                   "(deselect with -m 'not browser')")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def notebook_paths():
    """Every notebook of the course, sorted by name (a new notebook needs no registration)."""
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def load_tool(name):
    """Import ``tools/<name>.py`` (the tools folder is not a package)."""
    module_name = f"course_tools_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, TOOLS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
