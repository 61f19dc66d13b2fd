"""One notebook as a web page and as a reveal.js deck, with nbconvert.

The committed notebook is read, never changed or re-run; what the site needs is changed on an
in-memory copy:

- an explorer's output (a widget view next to its saved PNG) keeps only the PNG, marked so the
  page adds a note that the controls work in Jupyter, Colab or Binder; the saved widget state
  keeps only the widgets still shown (progress bars);
- every picture is written once to ``_images/<hash>.png`` and shared by the page and the deck;
- the Colab/Binder badges of the first cell become buttons of the page (their images live on
  other hosts);
- for the deck, each markdown cell starting with a ``#``/``##`` heading starts a slide, and
  text that follows code starts a sub-slide under it.
"""
from __future__ import annotations

import copy
import hashlib
import html
import re
from base64 import b64decode
from pathlib import Path

from course_info import strip_badges
from nbconvert import HTMLExporter, SlidesExporter
from vendor import URLS

TEMPLATES = Path(__file__).resolve().parent / "templates"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg"}


def _outputs(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            yield from cell.get("outputs", [])


def _keep_explorer_pictures(nb):
    """Explorer outputs show their saved picture; returns how many explorers were found."""
    explorers = 0
    for output in _outputs(nb):
        data = output.get("data", {})
        if WIDGET_VIEW in data and "image/png" in data:
            del data[WIDGET_VIEW]
            output.setdefault("metadata", {})["course_explorer"] = True
            explorers += 1
    return explorers


def _prune_widget_state(nb):
    """Keep only the saved widgets that a remaining widget view needs (and what they refer to)."""
    widgets = nb.metadata.get("widgets", {}).get(WIDGET_STATE)
    if not widgets:
        return
    state = widgets.get("state", {})
    needed = [o["data"][WIDGET_VIEW]["model_id"] for o in _outputs(nb)
              if WIDGET_VIEW in o.get("data", {})]
    keep = set()
    while needed:
        model = needed.pop()
        if model in keep or model not in state:
            continue
        keep.add(model)
        needed += re.findall(r"IPY_MODEL_([0-9a-f]+)", repr(state[model]))
    if not keep:
        del nb.metadata["widgets"]
        return
    widgets["state"] = {k: v for k, v in state.items() if k in keep}


def _drop_unrenderable_views(nb):
    """A widget view whose model was not saved can only show an error; show its text instead."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for output in _outputs(nb):
        data = output.get("data", {})
        if WIDGET_VIEW in data and data[WIDGET_VIEW].get("model_id") not in state:
            del data[WIDGET_VIEW]
            if not data:
                data["text/plain"] = ""


def _write_images(nb, images_dir):
    """Each picture to ``_images/<sha1>.<ext>`` (written once), referred to by its file name."""
    images_dir.mkdir(parents=True, exist_ok=True)
    for output in _outputs(nb):
        data = output.get("data", {})
        for mime, ext in IMAGE_TYPES.items():
            if mime not in data:
                continue
            raw = b64decode(data[mime])
            name = f"{hashlib.sha1(raw).hexdigest()[:16]}.{ext}"
            target = images_dir / name
            if not target.exists():
                target.write_bytes(raw)
            output.setdefault("metadata", {}).setdefault("filenames", {})[mime] = \
                f"{images_dir.name}/{name}"
            data[mime] = ""


def _mark_slides(nb):
    """A ``#``/``##`` heading starts a slide; text after code starts a sub-slide below it, which
    carries the code and figures that follow (a projected slide holds one idea)."""
    previous = None
    for cell in nb.cells:
        slide = "-"
        if cell.cell_type == "markdown":
            first = cell.source.lstrip().split("\n", 1)[0]
            if re.match(r"##? ", first):
                slide = "slide"
            elif previous is not None and previous.cell_type == "code":
                slide = "subslide"
        cell.metadata["slideshow"] = {"slide_type": slide}
        previous = cell


def prepare(nb, images_dir, *, slides=False):
    """The in-memory copy of ``nb`` the site renders (see the module docstring)."""
    nb = copy.deepcopy(nb)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    first.source = strip_badges(first.source)
    _keep_explorer_pictures(nb)
    _prune_widget_state(nb)
    _drop_unrenderable_views(nb)
    _write_images(nb, images_dir)
    if slides:
        _mark_slides(nb)
    return nb


def _common_config(exporter):
    exporter.require_js_url = "_static/" + URLS["require_js"]
    exporter.mathjax_url = "_static/" + URLS["mathjax"]
    exporter.widget_renderer_url = "_static/" + URLS["widget_renderer"]
    exporter.jquery_url = "_static/" + URLS["jquery"]
    # The templates never load mermaid (no notebook draws a diagram); an empty URL keeps
    # another host's address out of the pages.
    exporter.mermaid_js_url = ""
    exporter.mermaid_layout_elk_js_url = ""
    exporter.exclude_anchor_links = False
    return exporter


def page_exporter():
    exporter = HTMLExporter(template_name="course_page", extra_template_basedirs=[str(TEMPLATES)],
                            extra_template_paths=[str(TEMPLATES)])
    return _common_config(exporter)


def slides_exporter():
    exporter = SlidesExporter(template_name="course_slides",
                              extra_template_basedirs=[str(TEMPLATES)],
                              extra_template_paths=[str(TEMPLATES)])
    exporter.reveal_url_prefix = "_static/" + URLS["reveal"]
    exporter.reveal_theme = "white"
    exporter.reveal_transition = "none"
    exporter.reveal_scroll = True
    exporter.reveal_number = "c/t"
    return _common_config(exporter)


_HEADING = re.compile(r'<h2 id="(?P<id>[^"]+)">(?P<text>.*?)<a class="anchor-link"', re.S)
_IPYNB_LINK = re.compile(r'href="(?P<stem>[0-9][0-9A-Za-z_-]*)\.ipynb(?P<anchor>#[^"]*)?"')


def headings(body):
    """``[(id, text)]`` of the page's sections (its ``##`` headings), in order."""
    return [(m.group("id"), re.sub(r"<[^>]+>", "", m.group("text")).strip())
            for m in _HEADING.finditer(body)]


def link_pages(body, stems, suffix=".html"):
    """Links to notebooks of the course point to their pages instead."""
    def replace(match):
        if match.group("stem") in stems:
            return f'href="{match.group("stem")}{suffix}{match.group("anchor") or ""}"'
        return match.group(0)
    return _IPYNB_LINK.sub(replace, body)


def contents(sections):
    """The page's table of contents as an HTML list."""
    items = "".join(f'<li><a href="#{html.escape(id_, quote=True)}">{text}</a></li>'
                    for id_, text in sections)
    return f'<ul class="toc-list">{items}</ul>'


def render(nb, course, images_dir, stems):
    """``(page html, slides html, sections)`` of one notebook; ``course`` goes to the templates
    (``info``, ``site``, ``prev``, ``next``)."""
    resources = {"course": course}
    page_nb = prepare(nb, images_dir)
    body, _ = page_exporter().from_notebook_node(page_nb, resources=dict(resources))
    sections = headings(body)
    body = body.replace("<!--COURSE-TOC-->", contents(sections))
    body = link_pages(body, stems)
    deck_nb = prepare(nb, images_dir, slides=True)
    deck, _ = slides_exporter().from_notebook_node(deck_nb, resources=dict(resources))
    deck = link_pages(deck, stems)
    return body, deck, sections
