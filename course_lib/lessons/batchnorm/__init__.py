"""Notebook batchnorm: its experiments, figures, explorers and exercises."""
