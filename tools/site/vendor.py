"""The site's scripts, styles and fonts, copied from npm packages into ``_static/``.

A page of the site loads nothing from another host: the widget renderer, require.js,
MathJax 2, reveal.js, jQuery (used by nbconvert's slide template) and the fonts are fetched
once with ``npm pack`` (the npm registry is the only host the build talks to), kept in a
cache outside the repository, and only the files a page needs are copied.
"""
from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

# package spec -> (folder under _static/, file patterns inside the package, relative to package/)
PACKAGES = {
    "@jupyter-widgets/html-manager@1.0.15": ("widgets", [
        "dist/embed-amd.js", "dist/*.woff2", "dist/*.woff"]),
    "requirejs@2.3.8": ("requirejs", ["require.js"]),
    "jquery@3.7.1": ("jquery", ["dist/jquery.min.js"]),
    "mathjax@2.7.9": ("mathjax", [
        "MathJax.js", "config/TeX-AMS_CHTML-full.js", "config/Safe.js",
        "extensions/*.js", "extensions/TeX/*.js", "jax/input/TeX/*",
        "jax/output/CommonHTML/*", "jax/output/CommonHTML/*/*", "jax/output/CommonHTML/*/*/*",
        "jax/element/mml/*", "jax/element/mml/*/*", "fonts/HTML-CSS/TeX/woff/*"]),
    "reveal.js@4.6.0": ("reveal.js", [
        "dist/reveal.js", "dist/reveal.css", "dist/theme/white.css",
        "dist/theme/fonts/source-sans-pro/*.css", "dist/theme/fonts/source-sans-pro/*.woff",
        "plugin/notes/notes.js"]),
    "@fontsource/source-sans-3@5.3.1": ("fonts", [
        "files/source-sans-3-latin-[467]00-normal.woff2",
        "files/source-sans-3-latin-[467]00-italic.woff2"]),
}
# Korean (the glossaries): only the unicode-range slices holding characters the site uses.
KOREAN_FONT = "@fontsource/noto-sans-kr@5.3.0"

# What a page links to, relative to _static/.
URLS = {
    "widget_renderer": "widgets/dist/embed-amd.js",
    "require_js": "requirejs/require.js",
    "jquery": "jquery/dist/jquery.min.js",
    "mathjax": "mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    "reveal": "reveal.js",
}


def cache_dir():
    """Where npm tarballs are kept between builds (outside the repository)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "course-site" / "npm"


def tarball_path(spec, cache=None):
    """Where the npm tarball of ``spec`` (``name@version``) is cached (npm pack's file name)."""
    name, version = spec.rsplit("@", 1)
    return Path(cache or cache_dir()) / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def fetch(spec, cache=None):
    """The path of the npm tarball of ``spec`` (``name@version``), packed once into the cache."""
    cache = Path(cache or cache_dir())
    cache.mkdir(parents=True, exist_ok=True)
    tarball = tarball_path(spec, cache)
    if tarball.exists():
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the site build needs `npm` (Node.js) to vendor its scripts and fonts; "
                           "install Node.js, or put the tarballs in " + str(cache))
    result = subprocess.run([npm, "pack", "--silent", spec, "--pack-destination", str(cache)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or not tarball.exists():
        raise RuntimeError(f"`npm pack {spec}` failed:\n{result.stderr.strip()}")
    return tarball


def _copy_members(tarball, patterns, target):
    """Copy the members of ``tarball`` matching ``patterns`` (under ``package/``) into target."""
    copied = 0
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.startswith("package/"):
                continue
            inner = member.name[len("package/"):]
            if not any(fnmatch.fnmatchcase(inner, pattern) and
                       inner.count("/") == pattern.count("/") for pattern in patterns):
                continue
            destination = target / inner
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
            copied += 1
    if not copied:
        raise RuntimeError(f"nothing matched {patterns} in {tarball.name}")


_FACE = re.compile(r"@font-face\s*{(?P<body>[^}]*)}", re.S)


def _in_ranges(codepoint, ranges):
    for part in ranges.split(","):
        bounds = part.strip().upper().removeprefix("U+").split("-")
        low = int(bounds[0].replace("?", "0"), 16)
        high = int(bounds[-1].replace("?", "F"), 16)
        if low <= codepoint <= high:
            return True
    return False


def _korean_font(static, text, cache):
    """The @font-face rules (and woff2 files) of Noto Sans KR covering the Hangul in ``text``."""
    wanted = {ord(ch) for ch in text if ord(ch) >= 0x1100 and not ch.isspace()}
    if not wanted:
        return ""
    tarball = fetch(KOREAN_FONT, cache)
    rules = []
    with tarfile.open(tarball) as archive:
        css = archive.extractfile("package/400.css").read().decode()
        for face in _FACE.finditer(css):
            body = face.group("body")
            ranges = re.search(r"unicode-range:\s*([^;]+);", body).group(1)
            if not any(_in_ranges(cp, ranges) for cp in wanted):
                continue
            woff2 = re.search(r"url\(\./files/([^)]+\.woff2)\)", body).group(1)
            with archive.extractfile("package/files/" + woff2) as source:
                (static / "fonts" / woff2).write_bytes(source.read())
            rules.append("@font-face {\n  font-family: 'Noto Sans KR';\n  font-style: normal;\n"
                         "  font-weight: 400;\n  font-display: swap;\n"
                         f"  src: url(./{woff2}) format('woff2');\n"
                         f"  unicode-range: {ranges};\n}}\n")
    return "".join(rules)


def _latin_font():
    rules = []
    for weight in (400, 600, 700):
        for style in ("normal", "italic"):
            rules.append("@font-face {\n  font-family: 'Source Sans 3';\n"
                         f"  font-style: {style};\n  font-weight: {weight};\n"
                         "  font-display: swap;\n"
                         f"  src: url(./files/source-sans-3-latin-{weight}-{style}.woff2) "
                         "format('woff2');\n}\n")
    return "".join(rules)


def vendor(static, korean_text="", cache=None):
    """Fill ``static`` (the site's ``_static/``) with every third-party file a page loads."""
    static = Path(static)
    for spec, (folder, patterns) in PACKAGES.items():
        _copy_members(fetch(spec, cache), patterns, static / folder)
    fonts_css = _latin_font() + _korean_font(static, korean_text, cache)
    (static / "fonts" / "fonts.css").write_text(fonts_css)
    # nbconvert's own notebook styles, linked once instead of inlined in every page.
    lab_static = _nbconvert_templates() / "lab" / "static"
    (static / "lab").mkdir(parents=True, exist_ok=True)
    for name in ("index.css", "theme-light.css"):
        shutil.copyfile(lab_static / name, static / "lab" / name)


def _nbconvert_templates():
    from jupyter_core.paths import jupyter_path
    for folder in jupyter_path("nbconvert", "templates"):
        if (Path(folder) / "lab" / "static" / "index.css").exists():
            return Path(folder)
    raise RuntimeError("nbconvert's lab template was not found (pip install nbconvert)")
