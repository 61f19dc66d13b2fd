"""Notebook dropout: its experiments, figures, explorers and exercises."""
