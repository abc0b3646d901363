"""reload_kernel: the "Python (autoreload)" Jupyter kernel, which loads saved edits before each cell."""

__version__ = "0.1.0"
