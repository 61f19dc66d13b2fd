"""Notebook schedules: its experiments, figures, explorers and exercises."""
