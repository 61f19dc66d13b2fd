"""The course website and slide decks in a real browser (headless Chromium).

The site is built once (``tools/site/build.py``) into a temporary folder from the committed
notebooks and served from 127.0.0.1. Every page and deck must: load without a console error
or a failed request; ask nothing of another host (such requests are blocked and reported);
show every ``<img>`` (explorer pictures included); typeset its math; have internal links and
anchors that resolve. A screenshot of each page lands in ``artifacts/screenshots/site/``
(ignored by git) for a person to look at.

Without Chromium the tests are skipped with instructions, except under CI (``CI=true``).
"""
from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urldefrag, urlsplit

import pytest
from browser_driver import CHROMIUM_ARGS, require_chromium, unavailable
from conftest import NOTEBOOK_DIR, ROOT

pytestmark = pytest.mark.browser

BUILDER = ROOT / "tools" / "site" / "build.py"
SCREENSHOTS = ROOT / "artifacts" / "screenshots" / "site"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
MAX_SHOT_HEIGHT = 16000  # px; Chromium captures at most 16384 at once
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

STEMS = sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
PAGES = (["index.html", "glossary.html"] + [f"{s}.html" for s in STEMS]
         + [f"{s}.slides.html" for s in STEMS])


def _explorer_count(stem):
    """Outputs that carry an explorer: a widget view saved with its PNG."""
    nb = json.loads((NOTEBOOK_DIR / f"{stem}.ipynb").read_text())
    return sum(WIDGET_VIEW in o.get("data", {}) and "image/png" in o.get("data", {})
               for cell in nb["cells"] if cell["cell_type"] == "code"
               for o in cell.get("outputs", []))


@pytest.fixture(scope="session")
def chromium():
    return require_chromium("site browser test")


def _npm_or_cache():
    """The build vendors its scripts with npm, or from tarballs a previous build cached."""
    sys.path.insert(0, str(BUILDER.parent))
    try:
        import vendor
    finally:
        sys.path.remove(str(BUILDER.parent))
    cached = all(vendor.tarball_path(spec).exists()
                 for spec in [*vendor.PACKAGES, vendor.KOREAN_FONT])
    return shutil.which("npm") is not None or cached


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    if not _npm_or_cache():
        unavailable("site browser test", "npm (Node.js) is missing and no earlier build cached its packages")
    out = tmp_path_factory.mktemp("site") / "site"
    start = time.monotonic()
    result = subprocess.run([sys.executable, str(BUILDER), "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"the site build failed:\n{result.stdout}\n{result.stderr}"
    print(f"site built in {time.monotonic() - start:.1f} s: {result.stdout.strip()}")
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A page that moves on before a file is sent closes the connection; not an error.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True,
                                              args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def checked_urls():
    """Internal URLs already fetched (many pages share links and files): url -> status."""
    return {}


class PageVisit:
    """One page opened in a fresh browser context, with what it did recorded."""

    def __init__(self, browser, server, name, viewport=DESKTOP):
        self.server = server
        self.errors, self.foreign, self.failed = [], [], []
        self.context = browser.new_context(viewport=viewport)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("requestfailed", lambda request: self.failed.append(
            f"{request.url} ({request.failure})"))
        self.page.on("response", self._response)
        self.page.goto(f"{server}/{name}", wait_until="load", timeout=60_000)

    def _route(self, route):
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            self.foreign.append(route.request.url)
            route.abort()

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")

    def _response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.url} (HTTP {response.status})")

    def close(self):
        self.context.close()


_MATH_DONE = """() => new Promise(resolve => {
  if (!window.MathJax || !MathJax.Hub) { resolve('no mathjax'); return; }
  MathJax.Hub.Queue(() => resolve('typeset'));
})"""

_BROKEN_IMAGES = """() => Array.from(document.images)
  .filter(img => !img.complete || img.naturalWidth === 0)
  .map(img => (img.getAttribute('src') || '').slice(0, 120))"""

_WIDGETS_RENDERED = """() => Array.from(document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]'))
  .every(s => s.parentElement.querySelector('.jupyter-widgets, .widget-inline-hbox, .lm-Widget'))"""

_LINKS = """() => Array.from(document.querySelectorAll('a[href], link[href], script[src], img[src]'))
  .map(e => e.href || e.src).filter(u => u && !u.startsWith('data:') && !u.startsWith('blob:'))"""

# As a browser does: the fragment as written, then percent-decoded. "#/..." are reveal.js's
# own slide addresses.
_MISSING_ANCHORS = """() => Array.from(document.querySelectorAll('a[href^="#"]'))
  .map(a => a.getAttribute('href').slice(1))
  .filter(id => id && !id.startsWith('/') && !document.getElementById(id)
                && !document.getElementById(decodeURIComponent(id)))"""

_MATH_ERRORS = """() => Array.from(document.querySelectorAll('.MathJax_Error, merror, .mjx-merror'))
  .map(e => e.textContent.slice(0, 80))"""


def _fetch_status(url):
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError) as error:
        return f"unreachable: {error}"


def _screenshot(page, target):
    target.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("() => document.documentElement.scrollHeight")
    if height <= MAX_SHOT_HEIGHT:
        page.screenshot(path=str(target), full_page=True)
    else:  # the top of a very long page
        width = page.viewport_size["width"]
        page.screenshot(path=str(target), full_page=True,
                        clip={"x": 0, "y": 0, "width": width, "height": MAX_SHOT_HEIGHT})


@pytest.mark.parametrize("name", PAGES)
def test_page(name, browser, site, server, checked_urls):
    assert (site / name).exists(), f"the build did not write {name}"
    visit = PageVisit(browser, server, name)
    page = visit.page
    problems = []
    try:
        assert page.evaluate(_MATH_DONE) in {"typeset", "no mathjax"}
        try:
            page.wait_for_function(_WIDGETS_RENDERED, timeout=15_000, polling=200)
        except Exception as error:  # a timeout is the answer "a widget did not render"
            if "Timeout" not in type(error).__name__:
                raise
            problems.append("a saved widget (e.g. a progress bar) did not render")
        if name.endswith(".slides.html"):
            # reveal.js, loaded through require.js, marks its root "ready" once laid out.
            page.wait_for_selector(".reveal.ready", state="attached", timeout=20_000)
            slides = page.locator(".reveal .slides > section").count()
            if slides < 3:
                problems.append(f"the deck has only {slides} slides")
        elif name not in {"index.html", "glossary.html"}:
            stem = name[:-len(".html")]
            pictures = page.locator("figure.explorer img").count()
            if pictures != _explorer_count(stem):
                problems.append(f"{pictures} explorer pictures on the page, the notebook has "
                                f"{_explorer_count(stem)} explorers")
            if page.locator(".toc-list li").count() < 3:
                problems.append("the page's contents list has fewer than 3 sections")
        page.wait_for_load_state("networkidle", timeout=20_000)
        problems += [f"image not loaded: {src}" for src in page.evaluate(_BROKEN_IMAGES)]
        problems += [f"math error: {text}" for text in page.evaluate(_MATH_ERRORS)]
        problems += [f"anchor #{a} has no target" for a in page.evaluate(_MISSING_ANCHORS)]
        for url in sorted(set(page.evaluate(_LINKS))):
            url = urldefrag(url)[0]
            if urlsplit(url).hostname != "127.0.0.1":
                continue
            if url not in checked_urls:
                checked_urls[url] = _fetch_status(url)
            if checked_urls[url] != 200:
                problems.append(f"internal link {url} -> {checked_urls[url]}")
        stem = name[:-len(".html")]
        _screenshot(page, SCREENSHOTS / f"{stem}.png")
        if name in {"index.html", f"{STEMS[0]}.html"}:
            page.set_viewport_size(PHONE)
            page.reload(wait_until="networkidle")  # as a phone would first lay it out
            page.evaluate(_MATH_DONE)
            _screenshot(page, SCREENSHOTS / f"{stem}.phone.png")
    finally:
        visit.close()
    problems += visit.errors
    problems += [f"request to another host (blocked): {url}" for url in visit.foreign]
    problems += [f"failed request: {line}" for line in visit.failed]
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


def test_every_notebook_has_its_page_and_deck(site):
    import nbformat

    for stem in STEMS:
        for suffix in (".html", ".slides.html"):
            assert (site / f"{stem}{suffix}").stat().st_size > 0, f"{stem}{suffix} is missing"
        download = nbformat.read(site / "notebooks" / f"{stem}.ipynb", as_version=4)
        nbformat.validate(download)
        original = nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)
        assert download.cells[0].source == original.cells[0].source, \
            f"the download of {stem} is not the course's notebook"
    index = (site / "index.html").read_text()
    for stem in STEMS:
        assert f'href="{stem}.html"' in index, f"the index does not link {stem}.html"
    for number in range(10):
        assert f'id="nb-{number:02d}"' in index, f"the course map lacks {number:02d}"
