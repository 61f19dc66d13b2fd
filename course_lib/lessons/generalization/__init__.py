"""Notebook 05: generalization and the regularizers that are not dropout."""
