"""reload_kernel: a Jupyter kernel, "Python (autoreload)", that loads saved edits before each cell."""

__version__ = "0.1.0"
