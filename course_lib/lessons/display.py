"""Showing the library's own code inside a notebook, so the code read is the code run."""
from __future__ import annotations

import inspect
import textwrap


def source_of(obj):
    """The source text of a function, method or class, dedented."""
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError) as err:
        raise TypeError(f"obj must be a function, method or class defined in Python source; "
                        f"got {obj!r} ({err}).") from None


def show_source(obj):
    """Display ``obj``'s source with syntax highlighting (plain text outside IPython)."""
    text = source_of(obj)
    try:
        from IPython.display import Code, display
    except ImportError:  # pragma: no cover - plain Python
        print(text)
        return
    display(Code(text, language="python"))
