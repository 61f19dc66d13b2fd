"""Notebook 02 (initialization and activations): its experiments, figures, explorers and exercises."""
