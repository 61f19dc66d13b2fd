"""Interactive explorers: one module per notebook, all built on :class:`Explorer`.

``registry()`` lists every explorer of the course for the tests and benchmarks.
"""
from .base import BlitExplorer, Explorer, ExplorerSpec, encode_png, register, registry

__all__ = ["BlitExplorer", "Explorer", "ExplorerSpec", "encode_png", "register", "registry"]
