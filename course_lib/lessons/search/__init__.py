"""Notebook search: its experiments, figures, explorers and exercises."""
