"""reload_kernel: the "Python (autoreload)" Jupyter kernel, which loads saved edits."""

__version__ = "0.1.0"
