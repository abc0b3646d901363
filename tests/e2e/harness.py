"""Real kernels for end-to-end tests: start one, write files, run cells, read what a user sees."""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import textwrap
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

KERNEL_NAME = "autoreload"
START_TIMEOUT = 60
CELL_TIMEOUT = 60


@dataclass
class Cell:
    """What one executed cell produced, as a frontend would see it."""

    status: str
    stdout: str = ""
    stderr: str = ""
    result: str | None = None
    error: tuple[str, str] | None = None
    traceback: list[str] = field(default_factory=list)
    output_types: list[str] = field(default_factory=list)
    streams: list[tuple[str, str]] = field(default_factory=list)
    """Each stream message as (name, text), in the order the frontend got them."""

    def add_output(self, kind: str, content: dict[str, Any]) -> None:
        """Take one iopub output message addressed to this cell."""
        self.output_types.append(kind)
        if kind == "stream":
            self.streams.append((content["name"], content["text"]))
            if content["name"] == "stdout":
                self.stdout += content["text"]
            else:
                self.stderr += content["text"]
        elif kind == "execute_result":
            self.result = content["data"].get("text/plain")
        elif kind == "error":
            self.error = (content["ename"], content["evalue"])
            self.traceback = content["traceback"]

    def check(self) -> Cell:
        """Fail with the kernel's own words when the cell did not run cleanly."""
        assert self.status == "ok", f"cell failed: {self.error}\n" + "\n".join(self.traceback)
        return self


def short_ipc_path() -> str:
    """A unique, short socket path (unix sockets allow ~100 bytes) not shared with other tests."""
    directory = tempfile.mkdtemp(prefix="rk-", dir="/tmp")
    return os.path.join(directory, "k")


def kernel_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a user's kernel would have: bytecode caches are written, as usual."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPATH", None)
    env.update(extra or {})
    return env


class Notebook:
    """A running kernel with a working directory of its own."""

    def __init__(
        self,
        workdir: Path,
        *,
        kernel_name: str = KERNEL_NAME,
        env: dict[str, str] | None = None,
        extra_arguments: list[str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.kernel_name = kernel_name
        self._env = env
        self._extra_arguments = extra_arguments or []
        ipc_path = short_ipc_path()
        self._ipc_dir = os.path.dirname(ipc_path)
        self.manager = KernelManager(kernel_name=kernel_name, transport="ipc", ip=ipc_path)
        self.client: Any = None

    def start(self) -> Notebook:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.manager.start_kernel(
            cwd=str(self.workdir),
            env=kernel_environment(self._env),
            extra_arguments=self._extra_arguments,
        )
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=START_TIMEOUT)
        return self

    def stop(self) -> None:
        if self.client is not None:
            self.client.stop_channels()
        if self.manager.has_kernel:
            self.manager.shutdown_kernel(now=True)
        shutil.rmtree(self._ipc_dir, ignore_errors=True)

    def __enter__(self) -> Notebook:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- what a user does -----------------------------------------------------------------

    def write(self, relative_path: str, text: str) -> Path:
        """Save a file (dedented) the way an editor does: truncate and write in place."""
        path = self.workdir / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def run(self, code: str, *, timeout: float = CELL_TIMEOUT, **execute_options: Any) -> Cell:
        """Execute a cell and collect everything the frontend would show for it."""
        cell = Cell(status="")

        def collect(message: dict[str, Any]) -> None:
            kind = message["msg_type"]
            content = message["content"]
            if kind not in ("status", "execute_input"):
                cell.add_output(kind, content)

        reply = self.client.execute_interactive(
            textwrap.dedent(code), output_hook=collect, timeout=timeout, **execute_options
        )
        content = reply["content"]
        cell.status = content["status"]
        if content["status"] == "error" and cell.error is None:
            cell.error = (content.get("ename", ""), content.get("evalue", ""))
        return cell

    def value(self, expression: str) -> str | None:
        """The text/plain repr of an expression, evaluated in a cell that must succeed."""
        return self.run(expression).check().result

    def flush_iopub(self) -> None:
        """Drop any output not yet read (e.g. after a timed-out cell)."""
        while True:
            try:
                self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                return


StartKernel = Callable[..., Notebook]
"""The ``start_kernel`` fixture: start a kernel with Notebook's options, stopped after the test."""


def unique_name(prefix: str = "m") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"
