"""Build the course website and slide decks from the committed notebooks.

    python tools/site/build.py [--out site] [--notebooks notebooks]

Writes, into ``--out`` (``site/`` by default, ignored by git):

- ``index.html``: the course map (00..09, with those still in preparation), how to run it;
- ``NN_topic.html``: each notebook as a page (text, code, outputs, explorer pictures, contents,
  previous/next, Colab/Binder/download buttons) and ``NN_topic.slides.html`` as a reveal.js deck;
- ``glossary.html``: every notebook's English-Korean glossary, each term linked to its notebook;
- ``notebooks/*.ipynb`` (the downloads), ``_images/`` (every picture, once), ``_static/``
  (MathJax, require.js, the widget renderer, reveal.js and fonts, vendored from npm).

The notebooks are read as committed (with outputs), never re-run. No page loads anything
from another host; the build fails if one would.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jinja2
import nbformat
from nbconvert.filters.markdown_mistune import markdown2html_mistune

sys.path.insert(0, str(Path(__file__).resolve().parent))

import course_info  # noqa: E402
import notebook_pages  # noqa: E402
import vendor  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TITLE = "Training and tuning deep networks"
MARKER = ".course-site"  # marks a folder this builder made, so a rebuild may empty it
# Hosts a reader may follow a link to; nothing is ever loaded from them.
LINK_HOSTS = ("colab.research.google.com", "mybinder.org", "github.com")


def inline_markdown(text):
    """Markdown of one line or list item as HTML, without the surrounding paragraph."""
    rendered = markdown2html_mistune(text).strip()
    return re.sub(r"^<p>(.*)</p>$", r"\1", rendered, flags=re.S)


def _site_info(infos):
    repo_url, binder_url = "", ""
    for info in infos:
        found = re.search(r"colab\.research\.google\.com/github/([^/]+/[^/]+)/", info.colab_url)
        if found and not repo_url:
            repo_url = f"https://github.com/{found.group(1)}"
        if info.binder_url and not binder_url:
            binder_url = info.binder_url.split("?")[0]
    return {"title": TITLE, "repo_url": repo_url, "binder_url": binder_url}


def _render_one(job):
    path, course, out, stems = job
    nb = nbformat.read(path, as_version=4)
    page, deck, sections = notebook_pages.render(nb, course, out / "_images", stems)
    (out / course["info"].page).write_text(page, encoding="utf-8")
    (out / course["info"].slides).write_text(deck, encoding="utf-8")
    return course["info"].stem, sections


def _glossary(notebooks, sections_of):
    rows = []
    for path, info in notebooks:
        anchor = next((id_ for id_, text in sections_of[info.stem] if "glossary" in text.lower()),
                      "")
        nb = nbformat.read(path, as_version=4)
        for row in course_info.glossary_rows(nb):
            english = row.get("english", "")
            if not english:
                continue
            rows.append({"english": inline_markdown(english),
                         "korean": inline_markdown(row.get("korean", "")),
                         "meaning": inline_markdown(row.get("meaning", "")),
                         "number": info.number, "page": info.page,
                         "href": info.page + (f"#{anchor}" if anchor else ""),
                         "key": re.sub(r"[^a-z0-9 ]", "", english.lower())})
    return sorted(rows, key=lambda r: (r["key"], r["number"]))


def _prepare_out(out):
    out = Path(out)
    if out.exists():
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise SystemExit(f"{out} exists and was not made by this builder; "
                             "choose another --out or remove it")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("built by tools/site/build.py\n")
    return out


def external_references(out):
    """``[(file, url)]`` of every src/href in the site's HTML that points to another host,
    except links (``<a href>``) to Colab, Binder and GitHub."""
    found = []
    attribute = re.compile(r'<(?P<tag>[a-zA-Z]+)[^>]*?\s(?P<attr>src|href)\s*=\s*["\']'
                           r'(?P<url>(?:https?:)?//[^"\']+)["\']')
    for page in sorted(Path(out).glob("*.html")):
        text = page.read_text(encoding="utf-8")
        for match in attribute.finditer(text):
            url, tag = match.group("url"), match.group("tag").lower()
            host = re.sub(r"^(?:https?:)?//", "", url).split("/")[0].split(":")[0]
            if tag == "a" and match.group("attr") == "href" and host in LINK_HOSTS:
                continue
            found.append((page.name, url))
    return found


def folder_size(folder):
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())


def build(out, notebooks_dir, readme, *, jobs=4, log=print):
    """Build the site into ``out``; returns a dict of timings and sizes."""
    start = time.monotonic()
    out = _prepare_out(out)
    paths = sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise SystemExit(f"no notebooks NN_topic.ipynb in {notebooks_dir}")
    notebooks = []
    korean = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        info = course_info.notebook_info(path, nb)
        info.learn_html = [inline_markdown(item) for item in info.learn]
        info.time_html = inline_markdown(info.time)
        notebooks.append((path, info))
        korean += [row.get("korean", "") for row in course_info.glossary_rows(nb)]
    infos = [info for _, info in notebooks]
    site = _site_info(infos)

    vendor.vendor(out / "_static", korean_text="".join(korean))
    for name in ("course.css", "course-slides.css", "favicon.svg"):
        shutil.copyfile(HERE / "static" / name, out / "_static" / name)
    vendored = time.monotonic()

    stems = {info.stem for info in infos}
    work = []
    for i, (path, info) in enumerate(notebooks):
        course = {"info": info, "site": site,
                  "prev": infos[i - 1] if i > 0 else None,
                  "next": infos[i + 1] if i + 1 < len(infos) else None}
        work.append((path, course, out, stems))
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            sections_of = dict(pool.map(_render_one, work))
    else:
        sections_of = dict(map(_render_one, work))
    rendered = time.monotonic()

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=False, trim_blocks=True, lstrip_blocks=True)
    places = course_info.course_map(infos, readme)
    for place in places:
        place.teaches_html = inline_markdown(place.teaches) if place.teaches else ""
    common = {"site": site, "mathjax_url": vendor.URLS["mathjax"]}
    (out / "index.html").write_text(env.get_template("index.html.j2").render(
        places=places, current="index", **common), encoding="utf-8")
    (out / "glossary.html").write_text(env.get_template("glossary.html.j2").render(
        rows=_glossary(notebooks, sections_of), current="glossary", **common), encoding="utf-8")
    (out / "notebooks").mkdir()
    for path, _ in notebooks:
        shutil.copyfile(path, out / "notebooks" / path.name)

    leaks = external_references(out)
    if leaks:
        listing = "\n".join(f"  {page}: {url}" for page, url in leaks[:20])
        raise SystemExit(f"pages would load from another host:\n{listing}")
    report = {"notebooks": len(notebooks), "seconds": time.monotonic() - start,
              "vendor_seconds": vendored - start, "render_seconds": rendered - vendored,
              "bytes": folder_size(out)}
    log(f"site: {len(notebooks)} notebooks -> {out} in {report['seconds']:.1f} s "
        f"(vendoring {report['vendor_seconds']:.1f} s, pages and decks "
        f"{report['render_seconds']:.1f} s); {report['bytes'] / 1e6:.1f} MB")
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "site"), help="output folder (default: site/)")
    parser.add_argument("--notebooks", default=str(ROOT / "notebooks"),
                        help="folder of the executed NN_topic.ipynb notebooks")
    parser.add_argument("--readme", default=str(ROOT / "README.md"),
                        help="README whose course-map table names the notebooks in preparation")
    parser.add_argument("--jobs", type=int, default=4, help="notebooks rendered in parallel")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    build(args.out, args.notebooks, args.readme, jobs=args.jobs)


if __name__ == "__main__":
    main()
