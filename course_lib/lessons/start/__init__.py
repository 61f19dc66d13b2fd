"""Notebook start: its experiments, figures, explorers and exercises."""
