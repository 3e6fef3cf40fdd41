"""Figures and tables: one style for every figure, run figures, Markdown/LaTeX tables."""
