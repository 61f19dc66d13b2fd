"""Drive JupyterLab in headless Chromium: run a notebook, move every explorer, check it redrew.

Used by ``tests/test_browser.py``. The pieces:

- :func:`find_chromium` -- the browser to use (``COURSE_CHROMIUM`` or Debian's ``chromium``).
- :class:`LabServer` -- a JupyterLab server on 127.0.0.1 with its own port, token and
  configuration folders (nothing of the user's Jupyter set-up leaks in), stopped for sure.
- :class:`LabBrowser` -- one Chromium page on that server; :meth:`LabBrowser.check_notebook`
  opens a notebook, runs all cells, collects error outputs, moves one control of every
  explorer, waits for its figure to change, saves a screenshot and returns a
  :class:`NotebookReport`.

An explorer is found in the page by its structure (``Explorer.widget()``): a VBox whose own
children include the figure's ``<img>`` and that holds at least one control. Its figure is
redrawn when the ``src`` of that ``<img>`` changes (ipywidgets gives every new PNG a new blob
URL). Errors raised while the kernel handles a slider move never reach a cell's output, so
the page listens to the kernel's messages and attributes errors to the explorer being moved.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1280, "height": 900}
MAX_SCREENSHOT_HEIGHT = 16000  # px; Chromium's limit for one capture is 16384

HOW_TO_ENABLE = ("run `./run setup` as root (it installs Debian's chromium package), or set "
                 "COURSE_CHROMIUM=/path/to/chromium")

# JupyterLab user settings for a quiet, fully rendered notebook.
LAB_SETTINGS = {
    # Render every cell (no virtual scrolling), so every explorer is in the page.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # No news prompt, no update check (no network).
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
    # The served notebooks are copies; nothing needs saving.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def is_ci():
    """True when running under continuous integration (``CI=true``, as most services set)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(test, reason):
    """Skip ``test`` (a description) for ``reason``; under CI, fail instead: CI must run it."""
    import pytest
    message = f"{test} not run: {reason}; to enable it, {HOW_TO_ENABLE}"
    if is_ci():
        pytest.fail("under CI the browser test must run -- " + message, pytrace=False)
    pytest.skip(message)


def require_chromium(test):
    """The path of a Chromium that Playwright can drive, or :func:`unavailable`."""
    path, how = find_chromium()
    if path is None:
        unavailable(test, how)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable(test, "the playwright Python package is missing (pip install -e '.[test]')")
    return path


def find_chromium():
    """The Chromium executable: ``COURSE_CHROMIUM`` if set, else ``chromium`` on the PATH.

    Returns ``(path or None, explanation)``. A ``COURSE_CHROMIUM`` that does not point to an
    executable is reported (not silently replaced by another browser).
    """
    configured = os.environ.get("COURSE_CHROMIUM")
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured, f"COURSE_CHROMIUM={configured}"
        return None, f"COURSE_CHROMIUM={configured} is not an executable file"
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found, f"{name} on the PATH"
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium", "/usr/bin/chromium"
    return None, "no chromium on the PATH and COURSE_CHROMIUM is not set"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """A JupyterLab server serving ``root_dir``, with its state kept in ``state_dir``.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. Kernels start with the
    checkout's ``course_lib`` first on ``PYTHONPATH`` and the inline matplotlib backend.
    """

    def __init__(self, root_dir, state_dir, *, python=sys.executable):
        self.root_dir = Path(root_dir)
        self.state_dir = Path(state_dir)
        self.python = python
        self.process = None
        self.port = None
        self.token = secrets.token_hex(16)
        self.log_path = self.state_dir / "jupyterlab.log"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _environment(self):
        env = dict(os.environ)
        for variable, folder in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                                 ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"),
                                 ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
                                 ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces")]:
            path = self.state_dir / folder
            path.mkdir(parents=True, exist_ok=True)
            env[variable] = str(path)
        for name, settings in LAB_SETTINGS.items():
            target = self.state_dir / "lab-settings" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(settings))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        env.pop("MPLBACKEND", None)
        return env

    def _command(self):
        return [self.python, "-m", "jupyterlab", "--no-browser", "--allow-root",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root_dir}", "--ServerApp.terminals_enabled=False",
                "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]

    def start(self, timeout=90.0):
        """Start the server and wait until its REST API answers (``RuntimeError`` if not)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = self._environment()
        for _attempt in range(3):  # another process may take the free port first
            self.port = _free_port()
            log = open(self.log_path, "ab")
            self.process = subprocess.Popen(self._command(), cwd=self.root_dir, env=env,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            start_new_session=True)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if self._api("GET", "/api/status", timeout=2) is not None:
                    return self
                time.sleep(0.3)
            self.stop()
        raise RuntimeError(f"JupyterLab did not start within {timeout:.0f} s; log:\n"
                           + self.log_tail())

    def _api(self, method, path, timeout=5.0):
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
        except (urllib.error.URLError, OSError):
            return None
        return json.loads(body) if body else {}

    def stop(self, timeout=20.0):
        """Shut down kernels and server through the API, then terminate, then kill."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        self._api("POST", "/api/shutdown", timeout=timeout)
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)  # the server's own process group only
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=10)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- reports ---------------------------------------------------------------------------------

@dataclass
class ExplorerResult:
    """What happened when one control of one explorer was moved."""

    index: int
    moved: str | None          # which control moved, e.g. "slider 'freq' 1.0 -> 1.1"
    redrawn: bool
    errors: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self):
        return bool(self.moved) and self.redrawn and not self.errors

    def describe(self):
        name = f"explorer {self.index + 1}"
        if not self.moved:
            return f"{name}: no control could be moved"
        if self.ok:
            return f"{name}: {self.moved}, redrawn in {self.seconds:.2f} s"
        parts = [f"{name}: {self.moved}"]
        if not self.redrawn:
            parts.append(f"figure did NOT change within {self.seconds:.1f} s")
        parts += [f"kernel error: {e}" for e in self.errors]
        return "; ".join(parts)


@dataclass
class NotebookReport:
    """The outcome of :meth:`LabBrowser.check_notebook` for one notebook."""

    notebook: str
    cell_errors: list = field(default_factory=list)
    explorers: list = field(default_factory=list)
    expected_explorers: int = 0
    screenshot: Path | None = None
    seconds: float = 0.0

    def failures(self):
        found = list(self.cell_errors)
        if len(self.explorers) < self.expected_explorers:
            found.append(f"{len(self.explorers)} explorer(s) on the page, expected at least "
                         f"{self.expected_explorers}")
        found += [e.describe() for e in self.explorers if not e.ok]
        return found

    @property
    def ok(self):
        return not self.failures()

    def describe(self):
        lines = [f"{self.notebook}: {'ok' if self.ok else 'FAILED'} in {self.seconds:.1f} s, "
                 f"{len(self.explorers)} explorer(s)"]
        lines += [f"  - {line}" for line in self.cell_errors]
        if len(self.explorers) < self.expected_explorers:
            lines.append(f"  - only {len(self.explorers)} of {self.expected_explorers} "
                         "expected explorers appeared")
        lines += [f"  - {e.describe()}" for e in self.explorers]
        if self.screenshot:
            lines.append(f"  screenshot: {self.screenshot}")
        return "\n".join(lines)


# -- the page ----------------------------------------------------------------------------------

# Runs in the page. Opens a notebook, waits for its kernel, and records kernel errors.
_OPEN = """async ([path, timeoutMs]) => {
  const app = window.jupyterapp;
  const within = (promise, what) => Promise.race([promise, new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`${what} took more than ${timeoutMs} ms`)), timeoutMs))]);
  const widget = await within(app.commands.execute('docmanager:open', {path, factory: 'Notebook'}),
                              'opening ' + path);
  await within(widget.context.ready, 'loading ' + path);
  await within(widget.sessionContext.ready, 'starting the kernel');
  app.shell.activateById(widget.id);
  app.shell.collapseLeft();
  app.shell.collapseRight();
  const state = {widget, errors: []};
  window.__course = state;
  widget.sessionContext.iopubMessage.connect((_, msg) => {
    const type = msg.header.msg_type, content = msg.content;
    const parent = (msg.parent_header || {}).msg_type || '?';
    if (type === 'error') {
      state.errors.push(`${content.ename}: ${content.evalue} (while handling ${parent})`);
    } else if (type === 'stream' && content.name === 'stderr'
               && /Traceback|\\w*(Warning|Error)\\b:/.test(content.text)) {
      state.errors.push(`stderr: ${content.text.trim().slice(-600)} (while handling ${parent})`);
    }
  });
  return widget.id;
}"""

# Runs all cells; resolves when the run finishes (or stops at an error).
_RUN_ALL = """async (timeoutMs) => {
  const done = window.jupyterapp.commands.execute('notebook:run-all-cells');
  const timeout = new Promise(resolve => setTimeout(() => resolve('timeout'), timeoutMs));
  return String(await Promise.race([done, timeout]));
}"""

_IDLE = """() => {
  const state = window.__course;
  const kernel = state.widget.sessionContext.session && state.widget.sessionContext.session.kernel;
  if (kernel && kernel.status === 'dead') return 'dead';
  if (!kernel || kernel.status !== 'idle') return false;
  const prompts = state.widget.node.querySelectorAll('.jp-InputPrompt');
  return !Array.from(prompts).some(p => p.textContent.includes('*'));
}"""

# Cell outputs from the notebook model (not the DOM): errors, stderr, cells not run.
_CELL_PROBLEMS = """() => {
  const cells = window.__course.widget.content.model.cells;
  const problems = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    const source = cell.sharedModel.getSource();
    const where = `cell ${i + 1} (${JSON.stringify(source.split('\\n')[0].slice(0, 60))})`;
    if (!source.trim()) continue;
    if (cell.executionCount === null) problems.push(`${where} was not executed`);
    const mayRaise = (cell.getMetadata('tags') || []).includes('raises-exception');
    for (const output of cell.outputs.toJSON()) {
      if (output.output_type === 'error' && !mayRaise) {
        problems.push(`${where} raised ${output.ename}: ${output.evalue}`);
      } else if (output.output_type === 'stream' && output.name === 'stderr') {
        const text = Array.isArray(output.text) ? output.text.join('') : output.text;
        const found = text.match(/Traceback|\\w*(Warning|Error)\\b:/);
        if (found) {
          problems.push(`${where} printed ${found[0]} on stderr: ${text.trim().slice(-300)}`);
        }
      }
    }
  }
  for (const node of window.__course.widget.node.querySelectorAll('.jp-OutputArea-output')) {
    const text = node.textContent || '';
    if (/Error displaying widget|Error rendering/.test(text)) {
      problems.push('a widget failed to render: ' + text.trim().slice(0, 200));
    }
  }
  return problems;
}"""

# Finds the explorers (Explorer.widget() boxes), tags them, returns their figures' src.
_EXPLORERS = """() => {
  const controls = '.widget-slider, select, .widget-toggle-buttons, .widget-checkbox, '
                 + '.widget-radio-box, .widget-toggle-button';
  const boxes = Array.from(window.__course.widget.node.querySelectorAll('.widget-vbox'))
      .filter(box => Array.from(box.children).some(c => c.matches('img.widget-image'))
                     && box.querySelector(controls));
  boxes.forEach((box, i) => box.setAttribute('data-course-explorer', String(i)));
  return boxes.map(box => Array.from(box.children).find(c => c.matches('img')).src || '');
}"""

_FIGURE_CHANGED_OR_ERROR = """([index, before]) => {
  const img = document.querySelector(`[data-course-explorer="${index}"] > img.widget-image`);
  return (img && img.src && img.src !== before) || window.__course.errors.length > 0;
}"""

_CLOSE = """async (timeoutMs) => {
  const state = window.__course;
  if (!state) return;
  window.__course = null;
  const stop = state.widget.sessionContext.shutdown().catch(() => null);
  await Promise.race([stop, new Promise(resolve => setTimeout(resolve, timeoutMs))]);
  state.widget.context.model.dirty = false;
  state.widget.close();
}"""

# Scrolls the notebook to y (px); returns where its scroller is and how tall its content is.
_SCROLL_TO = """(y) => {
  const node = window.__course.widget.content.node;
  const scroller = node.querySelector('.jp-WindowedPanel-outer') || node;
  scroller.scrollTop = y;
  const top = scroller.getBoundingClientRect().top;
  let bottom = 0;
  for (const cell of node.querySelectorAll('.jp-Cell')) {
    bottom = Math.max(bottom, cell.getBoundingClientRect().bottom - top + scroller.scrollTop);
  }
  const box = scroller.getBoundingClientRect();
  return {top: Math.floor(top), content: Math.ceil(bottom) + 20,
          left: Math.floor(box.left), width: Math.floor(box.width),
          visible: scroller.clientHeight, scrolled: scroller.scrollTop};
}"""


class LabBrowser:
    """Headless Chromium on a :class:`LabServer`; one page reused for every notebook."""

    def __init__(self, server, chromium):
        self.server = server
        self.chromium = chromium
        self._playwright = None
        self.browser = None
        self.page = None

    def start(self, timeout=90.0):
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self.browser = self._playwright.chromium.launch(
                executable_path=self.chromium, args=CHROMIUM_ARGS, headless=True)
            self.page = self.browser.new_page(viewport=VIEWPORT)
            self.page.set_default_timeout(timeout * 1000)
            self.page.goto(f"{self.server.url}/lab?reset&token={self.server.token}",
                           timeout=timeout * 1000)
            self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell",
                                        timeout=timeout * 1000)
            self.page.evaluate("async () => { await window.jupyterapp.restored; }")
        except Exception:
            self.stop()
            raise
        return self

    def stop(self):
        for close in (lambda: self.browser and self.browser.close(),
                      lambda: self._playwright and self._playwright.stop()):
            try:
                close()
            except Exception:  # already gone: nothing left to close
                pass
        self.browser = self._playwright = self.page = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- one notebook -------------------------------------------------------------------------
    def check_notebook(self, path, *, screenshot=None, expected_explorers=0,
                       run_timeout=300.0, redraw_timeout=10.0, render_timeout=30.0):
        """Open ``path`` (relative to the server's root), run all, move every explorer.

        ``expected_explorers`` is the least number of explorers the page must show (the
        registry's count for the notebook). Returns a :class:`NotebookReport`; never raises
        for a failing notebook, only for a broken browser or server.
        """
        page = self.page
        start = time.monotonic()
        report = NotebookReport(notebook=str(path), expected_explorers=expected_explorers)
        page.evaluate(_OPEN, [str(path), 120_000])
        try:
            outcome = page.evaluate(_RUN_ALL, int(run_timeout * 1000))
            if outcome == "timeout":
                report.cell_errors.append(f"Run All did not finish within {run_timeout:.0f} s")
            else:
                idle = page.wait_for_function(_IDLE, timeout=run_timeout * 1000, polling=250)
                if idle.json_value() == "dead":
                    report.cell_errors.append("the kernel died")
                report.cell_errors += page.evaluate(_CELL_PROBLEMS)
                sources = self._wait_for_explorers(expected_explorers, render_timeout)
                for index, before in enumerate(sources):
                    report.explorers.append(self._move_and_check(index, before, redraw_timeout))
            report.screenshot = self._screenshot(screenshot) if screenshot else None
        finally:
            page.evaluate(_CLOSE, 20_000)
        report.seconds = time.monotonic() - start
        return report

    def _wait_for_explorers(self, expected, timeout):
        """The figures' src once every expected explorer has rendered and the count is stable."""
        deadline = time.monotonic() + timeout
        previous = None
        while True:
            sources = self.page.evaluate(_EXPLORERS)
            settled = (len(sources) >= expected and all(sources) and sources == previous)
            if settled or time.monotonic() > deadline:
                return sources
            previous = sources
            time.sleep(0.5)

    def _move_and_check(self, index, before, timeout):
        page = self.page
        box = page.locator(f'[data-course-explorer="{index}"]')
        page.evaluate("() => { window.__course.errors = []; }")
        start = time.monotonic()
        moved = _move_one_control(page, box)
        result = ExplorerResult(index=index, moved=moved, redrawn=False)
        if moved:
            try:
                page.wait_for_function(_FIGURE_CHANGED_OR_ERROR, arg=[index, before],
                                       timeout=timeout * 1000, polling=100)
            except Exception as error:  # a timeout is the answer "not redrawn"
                if "Timeout" not in type(error).__name__:
                    raise
            after = box.locator(":scope > img.widget-image").first.get_attribute("src")
            result.redrawn = bool(after) and after != before
            result.errors = page.evaluate("() => window.__course.errors.slice()")
        result.seconds = time.monotonic() - start
        return result

    def _screenshot(self, target):
        """Save the whole notebook as one PNG: the page is made tall enough to show every
        cell; a notebook taller than Chromium can capture at once is captured in slices
        (scrolling its panel) and stitched."""
        page = self.page
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        where = page.evaluate(_SCROLL_TO, 0)
        needed = where["top"] + where["content"] + 40  # + the status bar
        height = int(min(max(needed, VIEWPORT["height"]), MAX_SCREENSHOT_HEIGHT))
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        try:
            page.wait_for_timeout(300)
            where = page.evaluate(_SCROLL_TO, 0)
            if needed <= MAX_SCREENSHOT_HEIGHT:
                page.screenshot(path=str(target))
                return target
            self._stitched_screenshot(target, where)
        finally:
            page.set_viewport_size(VIEWPORT)
        return target

    def _stitched_screenshot(self, target, where):
        import io

        from PIL import Image

        page = self.page
        width, top, visible = VIEWPORT["width"], where["top"], where["visible"]
        sheet = Image.new("RGB", (width, top + where["content"]), "white")
        first = page.screenshot(clip={"x": 0, "y": 0, "width": width, "height": top + visible})
        sheet.paste(Image.open(io.BytesIO(first)), (0, 0))
        left, panel_width = where["left"], where["width"]
        offset = visible
        while offset < where["content"]:  # the notebook panel only, slice by slice
            scrolled = page.evaluate(_SCROLL_TO, offset)["scrolled"]
            page.wait_for_timeout(150)
            piece = page.screenshot(clip={"x": left, "y": top, "width": panel_width,
                                          "height": visible})
            sheet.paste(Image.open(io.BytesIO(piece)), (left, top + scrolled))
            offset += visible
        sheet.save(target, optimize=False)


def _move_one_control(page, box):
    """Move one control of an explorer box as a learner would; describe it, or None.

    A slider gets ArrowRight on its handle (ArrowLeft if it is at its maximum); without a
    slider, a dropdown, toggle buttons, radio buttons or a checkbox changes value.
    """
    sliders = box.locator(".widget-slider")
    for i in range(sliders.count()):
        slider = sliders.nth(i)
        if slider.locator(".noUi-target[disabled]").count():
            continue  # greyed out by the explorer: a learner cannot move it either
        label = _label(slider)
        for handle in slider.locator(".noUi-handle").all():
            before = _slider_state(slider, handle)
            handle.focus()
            for key in ("ArrowRight", "ArrowLeft"):
                page.keyboard.press(key)
                now = _wait_for_change(lambda: _slider_state(slider, handle), before)
                if now != before:
                    return f"slider {label!r} {before[1]} -> {now[1]}"
    select = box.locator("select").first
    if select.count():
        options = select.locator("option")
        current = select.input_value()
        for j in range(options.count()):
            value = options.nth(j).get_attribute("value")
            if value != current:
                select.select_option(value=value)
                return f"dropdown {_label(box.locator('.widget-dropdown').first)!r} -> option {j}"
    for selector, kind in ((".widget-toggle-buttons button:not(.mod-active)", "toggle button"),
                           (".widget-radio-box input:not(:checked)", "radio button"),
                           (".widget-checkbox input", "checkbox"),
                           ("button.widget-toggle-button", "toggle")):
        target = box.locator(selector).first
        if target.count():
            target.click()
            return kind
    return None


def _slider_state(slider, handle):
    """(handle position, readout text): the readout shows fine steps the aria value rounds."""
    readout = slider.locator(".widget-readout").first
    text = readout.inner_text(timeout=1000).strip() if readout.count() else ""
    return handle.get_attribute("aria-valuenow"), text


def _wait_for_change(read, before, timeout=0.5):
    deadline = time.monotonic() + timeout
    while True:
        now = read()
        if now != before or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


def _label(control):
    try:
        return control.locator(".widget-label").first.inner_text(timeout=1000).strip()
    except Exception:  # a control without a visible label
        return "?"
