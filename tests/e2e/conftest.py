"""Fixtures for end-to-end tests: isolated Jupyter directories and running kernels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import Notebook, StartKernel


@pytest.fixture(autouse=True, scope="session")
def isolated_jupyter_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point every Jupyter and IPython directory at a private temp dir for the whole session.

    Kernelspecs installed into this environment (``pip install``) stay visible: they live in
    ``sys.prefix/share/jupyter``, which is always searched.
    """
    root = tmp_path_factory.mktemp("jupyter-home")
    with pytest.MonkeyPatch.context() as patch:
        for variable, name in [
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("IPYTHONDIR", "ipython"),
        ]:
            (root / name).mkdir()
            patch.setenv(variable, str(root / name))
        patch.setenv("JUPYTER_PATH", str(root / "path"))
        patch.setenv("JUPYTER_PLATFORM_DIRS", "1")
        patch.delenv("JUPYTER_PREFER_ENV_PATH", raising=False)
        yield root


@pytest.fixture
def notebook(tmp_path: Path) -> Iterator[Notebook]:
    """A fresh "Python (autoreload)" kernel whose working directory is an empty temp dir."""
    with Notebook(tmp_path / "work") as running:
        yield running


@pytest.fixture
def start_kernel(tmp_path: Path) -> Iterator[StartKernel]:
    """Start a kernel with options (``extra_arguments=[...]``, ``env={...}``); stopped after."""
    started: list[Notebook] = []

    def start(**options: Any) -> Notebook:
        notebook = Notebook(tmp_path / "work", **options).start()
        started.append(notebook)
        return notebook

    yield start
    for notebook in started:
        notebook.stop()
