"""Scripts users run (``python analyses/NAME.py``): tables and paper figures."""
