"""Notebook softmax: its experiments, figures, explorers and exercises."""
