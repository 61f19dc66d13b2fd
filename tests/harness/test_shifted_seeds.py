"""Every notebook's own checks hold with another ``SEED``.

A notebook sets ``SEED = 0`` in its setup cell and derives every random choice from it. Its
asserts state claims ("momentum reaches the minimum first", "with batch norm every rate in
this range trains"); a claim that only holds for seed 0 is a claim about one run. This test
re-executes each notebook with the setup line changed to ``SEED = <k>`` and fails on any
error, so each failing assert is reported with its cell. Outputs are not compared: other
seeds print other numbers.

The seeds come from ``--shifted-seed`` (repeatable); without it the test is deselected, since
it re-runs the whole course. ``./run test`` runs it as a stage of the portability matrix
(``tools/portability.py``).
"""
from __future__ import annotations

import re

import nbformat
import pytest

from conftest import NOTEBOOK_DIR, load_tool, notebook_paths

SEED_LINE = re.compile(r"^SEED = 0$", re.MULTILINE)


def pytest_generate_tests(metafunc):
    if "shifted_seed" in metafunc.fixturenames:
        seeds = metafunc.config.getoption("shifted_seed") or [1]
        metafunc.parametrize("shifted_seed", seeds, ids=[f"SEED={s}" for s in seeds])


def with_seed(nb, seed):
    """A copy of ``nb`` whose setup cell says ``SEED = seed``; error if no cell sets SEED = 0."""
    nb = nbformat.from_dict(nb)
    cells = [c for c in nb.cells if c.cell_type == "code" and SEED_LINE.search(c.source)]
    assert len(cells) == 1, "a notebook sets SEED = 0 in exactly one code cell (its setup cell)"
    cells[0].source = SEED_LINE.sub(f"SEED = {seed}", cells[0].source)
    return nb


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_checks_hold_with_another_seed(path, shifted_seed):
    execute = load_tool("execute_notebooks").execute
    nb = with_seed(nbformat.read(path, as_version=4), shifted_seed)
    execute(nb, cwd=NOTEBOOK_DIR)
