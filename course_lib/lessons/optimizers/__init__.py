"""Notebook optimizers: its experiments, figures, explorers and exercises."""
