"""Scripts users run (``python -m analyses.NAME`` from the repository root): tables, figures."""
