"""The committed notebooks are what the code produces, and nbval can compare them.

- Fresh: each notebook carries the digest of its inputs (code cells + ``course_lib``) from
  its last run of ``tools/execute_notebooks.py``; a different digest means stale outputs.
- Run cleanly: code cells executed once each, top to bottom (counts 1..n), no error output
  (except in cells tagged ``raises-exception``), no warning or traceback on stderr, file
  under 3 MB.
- nbval wiring: every cell that shows a widget (an explorer) starts with
  ``# NBVAL_IGNORE_OUTPUT``; every registered explorer is shown by its notebook; the
  sanitize file masks volatile text and nothing else.

Every notebook in ``notebooks/`` is checked; a new one needs no change here.
"""
from __future__ import annotations

import base64
import re

import nbformat
import pytest
from conftest import NOTEBOOK_DIR, ROOT, load_tool, notebook_paths
from nbval.plugin import find_comment_markers, find_metadata_tags, get_sanitize_patterns

from course_lib.lessons.explorer import registry

execute_notebooks = load_tool("execute_notebooks")

MAX_BYTES = 3_000_000
SANITIZE_FILE = ROOT / "tests" / "nbval_sanitize.cfg"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NO_NOTEBOOKS = pytest.param(None, marks=pytest.mark.skip(
    reason=f"no notebooks in {NOTEBOOK_DIR} yet; nothing was checked"))


def notebook_params():
    return [pytest.param(p, id=p.stem) for p in notebook_paths()] or [NO_NOTEBOOKS]


def read(path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    """(number among all cells counted from 1, cell) for every code cell."""
    return [(i, c) for i, c in enumerate(nb.cells, start=1) if c.cell_type == "code"]


def first_line(cell):
    return cell.source.strip().splitlines()[0][:70] if cell.source.strip() else "<empty>"


# -- freshness ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", notebook_params())
def test_notebook_is_fresh(path):
    nb = read(path)
    stored = execute_notebooks.stored_sha256(nb)
    hint = f"run ./run execute {path.stem}"
    assert stored is not None, f"notebook {path.stem} was never stamped by the executor: {hint}"
    assert stored == execute_notebooks.inputs_sha256(nb), f"notebook {path.stem} is stale: {hint}"


@pytest.mark.parametrize("path", notebook_params())
def test_notebook_ran_top_to_bottom_without_errors(path):
    size = path.stat().st_size
    assert size < MAX_BYTES, f"{path.name} is {size / 1e6:.1f} MB (limit 3 MB): smaller figures?"
    nb = read(path)
    problems = []
    counts = []
    for number, cell in code_cells(nb):
        where = f"cell {number} ({first_line(cell)!r})"
        if not cell.source.strip():
            if cell.outputs:
                problems.append(f"{where} is empty but has outputs")
            continue
        if cell.execution_count is None:
            problems.append(f"{where} was not executed")
        counts.append(cell.execution_count)
        for output in cell.outputs:
            if output.output_type == "error" and not _may_raise(cell):
                problems.append(f"{where} raised {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                found = re.search(r"Traceback|\b\w*(?:Warning|Error)\b:", output.text)
                if found:
                    problems.append(f"{where} printed {found.group(0)!r} on stderr")
    if None not in counts and counts != list(range(1, len(counts) + 1)):
        problems.append(f"execution counts are {counts}, not 1..{len(counts)}: "
                        f"run ./run execute {path.stem}")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


def test_staleness_is_detected(tmp_path):
    """The digest changes with a code cell or a library file, not with prose."""
    library = tmp_path / "course_lib"
    (library / "widgets").mkdir(parents=True)
    (library / "__init__.py").write_text("x = 1\n")
    (library / "widgets" / "a.py").write_text("y = 2\n")
    (library / "__pycache__").mkdir()
    (library / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"compiled")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"),
                                         nbformat.v4.new_code_cell("print(1)")])
    digest = execute_notebooks.inputs_sha256(nb, library)

    nb.cells[0].source = "# Another title"
    (library / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"recompiled")
    assert execute_notebooks.inputs_sha256(nb, library) == digest

    nb.cells[1].source = "print(2)"
    assert execute_notebooks.inputs_sha256(nb, library) != digest
    nb.cells[1].source = "print(1)"
    (library / "widgets" / "a.py").write_text("y = 3\n")
    assert execute_notebooks.inputs_sha256(nb, library) != digest
    (library / "widgets" / "a.py").write_text("y = 2\n")
    (library / "data.npz").write_bytes(b"new data")
    assert execute_notebooks.inputs_sha256(nb, library) != digest
    (library / "data.npz").unlink()
    assert execute_notebooks.inputs_sha256(nb, library) == digest


# -- nbval wiring ------------------------------------------------------------------------------

def _sanitize(text):
    for regex, replace in get_sanitize_patterns(SANITIZE_FILE.read_text(encoding="utf-8")):
        text = re.sub(regex, replace, text)
    return text


def _is_progress_bar(output):
    text = output.get("data", {}).get("text/plain", "")
    return _sanitize(text).strip() == "<PROGRESS BAR>"


def _may_raise(cell):
    """A cell meant to raise carries the ``raises-exception`` tag (honoured by nbclient,
    nbval and JupyterLab's Run All alike)."""
    return "raises-exception" in cell.metadata.get("tags", [])


def _ignores_output(cell):
    markers = dict(find_comment_markers(cell.source))
    markers.update(dict(find_metadata_tags(cell.metadata)))
    return markers.get("check") is False


@pytest.mark.parametrize("path", notebook_params())
def test_widget_cells_are_ignored_by_nbval(path):
    """A widget's text under nbval is not what the notebook stores: mark those cells."""
    unmarked = []
    for number, cell in code_cells(read(path)):
        widgets_shown = [o for o in cell.outputs
                         if WIDGET_VIEW in o.get("data", {}) and not _is_progress_bar(o)]
        if widgets_shown and not _ignores_output(cell):
            unmarked.append(f"cell {number} ({first_line(cell)!r})")
    assert not unmarked, (f"{path.name}: cells showing a widget must start with "
                          f"'# NBVAL_IGNORE_OUTPUT': " + ", ".join(unmarked))


def _is_png(data):
    if not data:
        return False
    raw = base64.b64decode(data if isinstance(data, str) else "".join(data))
    return raw.startswith(b"\x89PNG\r\n\x1a\n") and len(raw) > 1000


def test_every_registered_explorer_is_shown_in_its_notebook():
    specs = registry()
    if not specs:
        pytest.skip("no explorer is registered yet")
    missing = []
    for spec in specs:
        path = NOTEBOOK_DIR / f"{spec.notebook}.ipynb"
        if not path.exists():
            missing.append(f"{spec.notebook}:{spec.name} (no notebook {path.name})")
            continue
        calls = [c for _, c in code_cells(read(path))
                 if re.search(rf"\b{re.escape(spec.name)}\s*\(", c.source)]
        if not calls:
            missing.append(f"{spec.notebook}:{spec.name} (never called in {path.name})")
        for cell in calls:
            views = [o for o in cell.outputs if WIDGET_VIEW in o.get("data", {})]
            if views and not _ignores_output(cell):
                missing.append(f"{spec.notebook}:{spec.name} (its cell lacks "
                               f"# NBVAL_IGNORE_OUTPUT)")
            # A reader without a kernel (GitHub, nbviewer, the site) sees the saved picture.
            if not any(_is_png(o.get("data", {}).get("image/png")) for o in views):
                missing.append(f"{spec.notebook}:{spec.name} (no picture saved with its "
                               f"widget output: re-execute the notebook)")
    assert not missing, "registered explorers not shown properly: " + "; ".join(missing)


@pytest.mark.parametrize("volatile, expected", [
    ("training:  45%|####5     | 9/20 [00:01<00:02, 4.51epoch/s, loss=0.31]", "<PROGRESS BAR>"),
    ("training: 100%|##########| 20/20", "<PROGRESS BAR>"),
    ("  0%|          | 0/3 [00:00<?, ?it/s]", "<PROGRESS BAR>"),
    ("fit took 0.53 s", "fit took <DURATION>"),
    ("one redraw: 12 ms, p95 1.2e-03 s", "one redraw: <DURATION>, p95 <DURATION>"),
    ("CPU times: user 1.2 s, sys: 30.5 ms, total: 1.23 s\nWall time: 1.21 s",
     "CPU times: user <DURATION>, sys: <DURATION>, total: <DURATION>\nWall time: <DURATION>"),
    ("4.1 ms \u00b1 51.2 \u00b5s per loop (mean \u00b1 std. dev. of 7 runs, 100 loops each)",
     "<TIMEIT>"),
    ("<function relu at 0x7f3a2c1b5e40>", "<function relu at 0xADDRESS>"),
    ("saved at 2024-05-01 12:30:01.123456", "saved at <TIMESTAMP>"),
    ("checkpoint: /tmp/tmpa1b2c3d4/best.npz", "checkpoint: <TMPPATH>"),
])
def test_sanitize_masks_volatile_text(volatile, expected):
    assert _sanitize(volatile) == expected


@pytest.mark.parametrize("stable", [
    "test accuracy: 0.9722",
    "loss 0.2531 -> 0.0113 after 20 epochs",
    "learning rate 1e-3, batch size 32, 1437 samples",
    "Adam reached the minimum in 154 steps; SGD diverged at step 12",
    "x.shape = (1437, 64), y.dtype = int64",
    "softmax([2, 1, 0.1]) = [0.659 0.242 0.099]",
    "97.5% of the points",
    "OneCycle: 5 epochs of warm-up, then 15 s-shaped steps",
    "seed 0x2A is not an address",
])
def test_sanitize_keeps_results(stable):
    assert _sanitize(stable) == stable
