"""Loaded by pytest for every test under this folder, the notebooks included.

nbval compares each notebook's printed numbers with the committed ones up to rounding
(``tests/output_tolerance.py``), whether pytest runs the whole suite or a single notebook.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

import output_tolerance  # noqa: E402


def pytest_configure(config):
    output_tolerance.install()
