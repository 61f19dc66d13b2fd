"""What the site says about the course, read from the notebooks and the README.

- :func:`course_map` -- every place of the course (00..09): the notebook there, or the README's
  line for a notebook still in preparation.
- :func:`notebook_info` -- a notebook's title, what it teaches, its time and its badge links,
  from its first markdown cell.
- :func:`glossary_rows` -- the rows of the English-Korean table under a notebook's "Glossary"
  heading.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

PLACES = [f"{n:02d}" for n in range(10)]

_COLAB = re.compile(r"\((https://colab\.research\.google\.com/[^)\s]+)\)")
_BINDER = re.compile(r"\((https://mybinder\.org/v2/[^)\s]+)\)")
_BADGE_LINE = re.compile(r"^\s*\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)\s*$", re.M)
_LEARN = re.compile(r"\*\*What you will learn[^*]*\*\*:?\s*\n(?P<items>(?:\s*[-*] .*\n?|[ \t]+\S.*\n?)+)",
                    re.I)
_TIME = re.compile(r"\*\*Time[^*]*\*\*:?\s*(?P<time>[^\n]+(?:\n(?!\s*\n)[^\n]+)*)", re.I)


@dataclass
class NotebookInfo:
    """One notebook as the site shows it."""

    number: str                 # "03"
    stem: str                   # "03_optimizers"
    title: str                  # the first "# " heading, without its "3 · " prefix
    learn: list = field(default_factory=list)   # markdown items of "What you will learn"
    time: str = ""              # markdown text after "Time"
    colab_url: str = ""
    binder_url: str = ""

    @property
    def page(self):
        return f"{self.stem}.html"

    @property
    def slides(self):
        return f"{self.stem}.slides.html"

    @property
    def download(self):
        return f"notebooks/{self.stem}.ipynb"


@dataclass
class Place:
    """A place of the course map: its notebook, or what it will teach (``notebook`` None)."""

    number: str
    title: str
    teaches: str
    notebook: NotebookInfo | None = None


def _first_markdown(nb):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            return cell.source
    raise ValueError("the notebook has no markdown cell (expected its title first)")


def notebook_info(path, nb=None):
    """A :class:`NotebookInfo` for the notebook at ``path`` (read unless ``nb`` is given)."""
    path = Path(path)
    nb = nb if nb is not None else nbformat.read(path, as_version=4)
    first = _first_markdown(nb)
    title_line = next((line for line in first.splitlines() if line.startswith("# ")), None)
    if title_line is None:
        raise ValueError(f"{path.name}: its first markdown cell has no '# ' title line")
    title = re.sub(r"^\d+\s*[·.:-]\s*", "", title_line[2:].strip())
    learn = []
    found = _LEARN.search(first)
    if found:
        for line in found.group("items").splitlines():
            if re.match(r"\s*[-*] ", line):
                learn.append(re.sub(r"^\s*[-*] ", "", line).strip())
            elif line.strip() and learn:
                learn[-1] += " " + line.strip()
    time = _TIME.search(first)
    colab, binder = _COLAB.search(first), _BINDER.search(first)
    return NotebookInfo(number=path.stem[:2], stem=path.stem, title=title, learn=learn,
                        time=" ".join(time.group("time").split()) if time else "",
                        colab_url=colab.group(1) if colab else "",
                        binder_url=binder.group(1) if binder else "")


def strip_badges(markdown):
    """The markdown without its Colab/Binder badge lines (their images live on other hosts)."""
    return _BADGE_LINE.sub("", markdown)


def readme_map(readme):
    """``{number: (title, teaches)}`` from the README's course-map table."""
    places = {}
    if not Path(readme).exists():
        return places
    for line in Path(readme).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"\d\d", cells[0]):
            title = re.sub(r"\(in preparation\)", "", cells[1])
            title = re.sub(r"\[`?([^`\]]+)`?\]\([^)]*\)", r"\1", title).strip(" `")
            places[cells[0]] = (title.replace("_", " "), cells[2])
    return places


def course_map(notebooks, readme):
    """Every place 00..09 (and any other numbered notebook), in order, as :class:`Place`."""
    by_number = {info.number: info for info in notebooks}
    from_readme = readme_map(readme)
    places = []
    for number in sorted(set(PLACES) | set(by_number)):
        title, teaches = from_readme.get(number, (f"notebook {number}", ""))
        info = by_number.get(number)
        places.append(Place(number=number, title=info.title if info else title,
                            teaches=teaches, notebook=info))
    return places


def glossary_rows(nb):
    """The glossary table of a notebook: a list of dicts keyed by its header's lowercased names.

    The table is the first markdown table after a heading containing "Glossary".
    """
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        heading = re.search(r"^#+ .*glossary.*$", cell.source, re.I | re.M)
        if not heading:
            continue
        lines = cell.source[heading.end():].splitlines()
        table = [line for line in _table_block(lines)]
        if len(table) < 2:
            continue
        header = [c.strip().lower() for c in _split_row(table[0])]
        return [dict(zip(header, _split_row(row))) for row in table[2:]]
    return []


def _table_block(lines):
    started = False
    for line in lines:
        if line.strip().startswith("|"):
            started = True
            yield line
        elif started:
            return


def _split_row(row):
    # A "|" inside $...$ or `...` belongs to the cell (e.g. $|x|$); split on the others.
    cells, current, math, code = [], "", False, False
    text = row.strip()
    text = text[1:] if text.startswith("|") else text
    text = text[:-1] if text.endswith("|") and not text.endswith("\\|") else text
    for ch in text:
        if ch == "$" and not code:
            math = not math
        elif ch == "`" and not math:
            code = not code
        if ch == "|" and not math and not code:
            cells.append(current.strip())
            current = ""
        else:
            current += ch
    cells.append(current.strip())
    return cells
