"""Every notebook in a real browser: JupyterLab in headless Chromium.

For each notebook (a copy; the committed files are never touched): open it, run all cells,
assert no cell shows an error, move one control of every explorer and assert its figure
changed with no kernel error. A screenshot of each notebook after the moves is saved to
``artifacts/screenshots/<notebook>.png`` (ignored by git) for a person to look at.

One JupyterLab server and one browser serve the whole module. Without Chromium the tests
are skipped with instructions, except under CI (``CI=true``), where they fail.
Deselect with ``-m "not browser"``.
"""
from __future__ import annotations

import shutil
import textwrap

import nbformat
import pytest
from browser_driver import LabBrowser, LabServer, require_chromium
from conftest import NOTEBOOK_DIR, ROOT, notebook_paths

from course_lib.lessons.explorer import registry

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DEMO_FOLDER = "_browser_check_demo"  # inside the served copy, never in notebooks/


@pytest.fixture(scope="module")
def chromium():
    return require_chromium("browser test")


@pytest.fixture(scope="module")
def served_root(tmp_path_factory):
    """A copy of notebooks/ (with any data beside them) for the server to serve."""
    root = tmp_path_factory.mktemp("served") / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, root, ignore=shutil.ignore_patterns(
        ".ipynb_checkpoints", "checkpoints", "__pycache__", "*.ckpt.npz"))
    return root


@pytest.fixture(scope="module")
def lab(chromium, served_root, tmp_path_factory):
    server = LabServer(served_root, tmp_path_factory.mktemp("jupyter-state"))
    with server:
        try:
            with LabBrowser(server, chromium) as browser:
                yield browser
        except Exception:
            print("JupyterLab log (tail):\n" + server.log_tail())
            raise


def _expected_explorers():
    counts = {}
    for spec in registry():
        counts[spec.notebook] = counts.get(spec.notebook, 0) + 1
    return counts


EXPECTED = _expected_explorers()


@pytest.mark.parametrize("notebook", [
    pytest.param(p.name, id=p.stem) for p in notebook_paths()] or [pytest.param(
        None, marks=pytest.mark.skip(reason=f"no notebooks in {NOTEBOOK_DIR} yet"))])
def test_notebook_runs_and_every_explorer_redraws(lab, notebook):
    stem = notebook[:-len(".ipynb")]
    report = lab.check_notebook(notebook, screenshot=SCREENSHOTS / f"{stem}.png",
                                expected_explorers=EXPECTED.get(stem, 0))
    print(report.describe())
    assert report.ok, report.describe()


# -- the check must catch broken explorers ---------------------------------------------------------

BROKEN_NOTEBOOK_CELLS = [
    '''\
    import numpy as np
    import ipywidgets as widgets
    from course_lib.lessons.explorer import Explorer


    class Wave(Explorer):
        """A sound explorer: y = sin(frequency * x)."""

        def __init__(self):
            super().__init__({"frequency": widgets.FloatSlider(value=1.0, min=0.5, max=3.0,
                                                               step=0.1)}, figsize=(4, 2.4))
            self.ax = self.figure.add_subplot()
            self.x = np.linspace(0.0, 6.0, 200)
            (self.line,) = self.ax.plot(self.x, np.sin(self.x))

        def draw(self, frequency):
            self.line.set_ydata(self.record("y", np.sin(frequency * self.x)))


    class RaisesOnMove(Wave):
        """Broken: draws once, then raises on every slider move."""

        def draw(self, frequency):
            if self.redraw_count:
                raise RuntimeError("deliberately broken: draw raises after the first draw")
            super().draw(frequency)


    class NeverRedraws(Wave):
        """Broken: draws once, then ignores every slider move."""

        def redraw(self):
            if not self.redraw_count:
                return super().redraw()''',
    "# NBVAL_IGNORE_OUTPUT\nWave()",
    "# NBVAL_IGNORE_OUTPUT\nRaisesOnMove()",
    "# NBVAL_IGNORE_OUTPUT\nNeverRedraws()",
    'raise ValueError("deliberately failing last cell")',
]


def test_broken_explorers_and_cells_make_the_check_fail(lab, served_root):
    """A deliberately broken copy: one sound explorer, one that raises on a slider move,
    one that never redraws, and a failing cell. Only the sound explorer may pass."""
    folder = served_root / DEMO_FOLDER
    folder.mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(textwrap.dedent(source))
               for source in BROKEN_NOTEBOOK_CELLS],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}})
    nbformat.write(nb, folder / "broken_explorers.ipynb")

    report = lab.check_notebook(f"{DEMO_FOLDER}/broken_explorers.ipynb",
                                screenshot=SCREENSHOTS / "_demo_broken_explorers.png",
                                expected_explorers=3, redraw_timeout=4.0)
    print(report.describe())

    assert not report.ok
    sound, raising, frozen = report.explorers
    assert sound.ok, sound.describe()
    assert not raising.ok and not raising.redrawn
    assert any("deliberately broken" in error for error in raising.errors), raising.describe()
    assert not frozen.ok and not frozen.redrawn and not frozen.errors, frozen.describe()
    assert any("deliberately failing last cell" in e for e in report.cell_errors)
    failures = "\n".join(report.failures())
    assert "explorer 2" in failures and "explorer 3" in failures
    assert "explorer 1" not in failures
