"""Re-execute the course notebooks in place, so their committed outputs are what the code produces.

Usage::

    python tools/execute_notebooks.py                   # every notebook in notebooks/
    python tools/execute_notebooks.py 03_optimizers     # only these (stem, file name or path)
    python tools/execute_notebooks.py --check           # only report which ones are stale

Each notebook runs in a fresh kernel from the current environment (the Python running this
script, as ``pytest --nbval --nbval-current-env`` does), from top to bottom, with
``notebooks/`` as the working directory. Execution is made deterministic: no timing metadata,
merged output streams (progress bars keep only their final state), and widget model ids
derived from the notebook's name instead of random UUIDs.

After a successful run the notebook is stamped with ``metadata["course"]["inputs_sha256"]``:
a SHA-256 of everything its outputs depend on (the sources of its code cells and every file
of ``course_lib``). ``tests/test_notebooks_fresh.py`` recomputes the digest and fails when a
notebook is stale. A notebook whose execution fails is left untouched and the exit status is 1
(a cell meant to raise carries the ``raises-exception`` tag, which nbclient, nbval and
JupyterLab's Run All all honour).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
LIBRARY_DIR = ROOT / "course_lib"

#: Where the digest lives in a notebook's metadata.
STAMP_SECTION, STAMP_KEY = "course", "inputs_sha256"

#: Bumped when the digest's recipe changes, so old stamps read as stale.
DIGEST_VERSION = b"course-notebook-inputs/1\n"

DEFAULT_CELL_TIMEOUT = 300  # seconds; the course budget is 20 s per notebook

# Files in course_lib that do not influence any output.
_IGNORED_DIRS = {"__pycache__"}
_IGNORED_SUFFIXES = {".pyc", ".pyo", ".swp", ".swo", ".orig", ".rej"}

_WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
_WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


# -- which notebooks ---------------------------------------------------------------------

def notebook_paths(names=(), directory=NOTEBOOK_DIR):
    """The notebooks named by ``names`` (stems, file names or paths), or all of ``directory``.

    Returns a list of ``Path`` sorted by name. Unknown names raise ``ValueError`` listing the
    notebooks that exist.
    """
    directory = Path(directory)
    available = sorted(directory.glob("*.ipynb"))
    if not names:
        return available
    chosen = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb" and path.exists():
            chosen.append(path.resolve())
            continue
        stem = path.name[:-len(".ipynb")] if path.name.endswith(".ipynb") else path.name
        match = directory / f"{stem}.ipynb"
        if not match.exists():
            known = ", ".join(p.stem for p in available) or "none"
            raise ValueError(f"no notebook named {name!r} in {directory}; available: {known}.")
        chosen.append(match)
    return sorted(set(chosen))


# -- the inputs digest -------------------------------------------------------------------

def library_files(library_dir=LIBRARY_DIR):
    """Every file of the library that outputs can depend on: sources and shipped data.

    Returns paths sorted by their POSIX path relative to the library's parent, so the digest
    does not depend on the file system's listing order.
    """
    library_dir = Path(library_dir)
    files = []
    for path in library_dir.rglob("*"):
        relative = path.relative_to(library_dir)
        if any(part in _IGNORED_DIRS or part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix not in _IGNORED_SUFFIXES and not path.name.endswith("~"):
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(library_dir.parent).as_posix())


def _library_digest(library_dir):
    digest = hashlib.sha256()
    for path in library_files(library_dir):
        data = path.read_bytes()
        if path.suffix in {".py", ".md", ".txt", ".json", ".csv", ".cfg"}:
            data = data.replace(b"\r\n", b"\n")  # a Windows checkout is the same input
        name = path.relative_to(Path(library_dir).parent).as_posix().encode()
        digest.update(b"file %s %d\n" % (name, len(data)))
        digest.update(data)
    return digest.digest()


def inputs_sha256(nb, library_dir=LIBRARY_DIR):
    """SHA-256 (hex) of what a notebook's outputs depend on.

    ``nb`` is a notebook node (nbformat v4). The digest covers the source of every code cell,
    in order, and the bytes of every file of the library (see :func:`library_files`).
    Markdown cells are not included: editing prose does not make outputs stale.
    """
    digest = hashlib.sha256(DIGEST_VERSION)
    for cell in nb.cells:
        if cell.cell_type == "code":
            source = cell.source.replace("\r\n", "\n").encode()
            digest.update(b"code %d\n" % len(source))
            digest.update(source)
    digest.update(_library_digest(library_dir))
    return digest.hexdigest()


def stored_sha256(nb):
    """The digest a notebook was stamped with when last executed, or None."""
    return nb.metadata.get(STAMP_SECTION, {}).get(STAMP_KEY)


def is_stale(nb, library_dir=LIBRARY_DIR):
    """True when the notebook's inputs changed since it was last executed by this script."""
    return stored_sha256(nb) != inputs_sha256(nb, library_dir)


# -- execution ---------------------------------------------------------------------------

def kernel_environment(base=None):
    """Environment variables for a deterministic kernel that imports this checkout's library.

    The repository root goes first on ``PYTHONPATH``; ``MPLBACKEND`` is removed so the
    kernel uses the inline backend (as in JupyterLab) even when the caller forced Agg;
    progress bars leave out timings.
    """
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONHASHSEED"] = "0"
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    # tqdm reads defaults from TQDM_* variables: a bar without elapsed time and rate is the
    # same on every run (code that passes its own bar_format still wins).
    env.setdefault("TQDM_BAR_FORMAT", "{l_bar}{bar}| {n_fmt}/{total_fmt}{postfix}")
    env.pop("MPLBACKEND", None)
    return env


def _current_env_kernel_manager():
    """A kernel manager class that always starts ipykernel with this very Python."""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    class CurrentEnvKernelManager(AsyncKernelManager):
        @property
        def kernel_spec(self):
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name="Python 3 (ipykernel)", language="python", name="python3",
                env={})

    return CurrentEnvKernelManager


def execute(nb, *, cwd=NOTEBOOK_DIR, timeout=DEFAULT_CELL_TIMEOUT, timings=None):
    """Run every code cell of ``nb`` in a fresh kernel, top to bottom, in place.

    Returns the wall-clock seconds taken, kernel start-up included; if ``timings`` is a
    dict, it receives ``"kernel"`` (start-up) and ``"cells"`` (the rest) in seconds. Raises
    ``nbclient.exceptions.CellExecutionError`` on the first failing cell.
    """
    from nbclient import NotebookClient

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        kernel_manager_class=_current_env_kernel_manager(),
        # The kernel's own log (e.g. its note on local TCP transport) is not notebook output.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
        coalesce_streams=True,
        store_widget_state=True,
    )
    marks = [time.perf_counter()]
    client.on_notebook_start = lambda notebook: marks.append(time.perf_counter())
    client.execute(env=kernel_environment())
    marks.append(time.perf_counter())
    if timings is not None:
        timings["kernel"] = marks[1] - marks[0] if len(marks) == 3 else float("nan")
        timings["cells"] = marks[-1] - marks[-2]
    return marks[-1] - marks[0]


def make_widget_ids_deterministic(nb, name):
    """Replace random widget model ids by ids derived from ``name`` and their order.

    Widget ids are UUIDs drawn by the kernel; renaming them (everywhere they appear: the
    stored widget state, the views in outputs, ``IPY_MODEL_`` references) makes two runs of
    an unchanged notebook byte-identical. Returns a new notebook node.
    """
    import nbformat

    ids = []
    state = nb.metadata.get("widgets", {}).get(_WIDGET_STATE_MIME, {}).get("state", {})
    ids.extend(state)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(_WIDGET_VIEW_MIME)
            if view and view.get("model_id"):
                ids.append(view["model_id"])
    ordered = list(dict.fromkeys(i for i in ids if re.fullmatch(r"[0-9a-f]{32}", i)))
    if not ordered:
        return nb
    mapping = {old: hashlib.sha256(f"{name}:{n}".encode()).hexdigest()[:32]
               for n, old in enumerate(ordered)}
    text = json.dumps(nb)
    text = re.sub("|".join(map(re.escape, ordered)), lambda m: mapping[m.group(0)], text)
    return nbformat.from_dict(json.loads(text))


def execute_in_place(path, *, timeout=DEFAULT_CELL_TIMEOUT):
    """Execute the notebook at ``path``, stamp it, and write it back. Returns seconds taken."""
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    seconds = execute(nb, cwd=path.parent, timeout=timeout)
    nb = make_widget_ids_deterministic(nb, path.stem)
    nb.metadata.setdefault(STAMP_SECTION, {})[STAMP_KEY] = inputs_sha256(nb)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="stems, file names or paths (default: all)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_CELL_TIMEOUT,
                        help="seconds allowed per cell (default %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="do not execute; list stale notebooks and exit 1 if any")
    args = parser.parse_args(argv)
    try:
        paths = notebook_paths(args.notebooks)
    except ValueError as error:
        parser.error(str(error))
    if not paths:
        print(f"no notebooks in {NOTEBOOK_DIR}")
        return 0

    import nbformat

    if args.check:
        stale = [p for p in paths if is_stale(nbformat.read(p, as_version=4))]
        for path in stale:
            print(f"stale: {path.name} (run ./run execute {path.stem})")
        print(f"{len(paths) - len(stale)} of {len(paths)} notebooks are up to date")
        return 1 if stale else 0

    from nbclient.exceptions import CellExecutionError

    failed = []
    total = 0.0
    for path in paths:
        print(f"executing {path.name} ...", end=" ", flush=True)
        try:
            seconds = execute_in_place(path, timeout=args.timeout)
        except CellExecutionError as error:
            print("FAILED (left unchanged)")
            print(_indent(str(error)), file=sys.stderr)
            failed.append(path.name)
            continue
        total += seconds
        print(f"{seconds:.1f} s")
    print(f"executed {len(paths) - len(failed)} of {len(paths)} notebooks in {total:.1f} s")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


def _indent(text, prefix="    "):
    return "\n".join(prefix + line for line in text.splitlines())


if __name__ == "__main__":
    sys.exit(main())
