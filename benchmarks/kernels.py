"""A small jupyter_client helper for benchmarks: start kernels, time cells as a frontend sees them.

Every kernel runs with private Jupyter/IPython directories, the ipc transport on a short unique
socket path, and its own working directory, so several can run side by side.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

CELL_TIMEOUT = 600.0
START_TIMEOUT = 120.0


@dataclass(frozen=True)
class KernelKind:
    """One of the kernels compared: a kernelspec plus the cells that set it up."""

    name: str
    label: str
    argv: list[str]
    setup_cells: list[str] = field(default_factory=list)


def kernel_kinds() -> list[KernelKind]:
    python = sys.executable
    ipykernel = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return [
        KernelKind("plain", "plain ipykernel", ipykernel),
        KernelKind(
            "autoreload",
            "ipykernel + %autoreload 2",
            ipykernel,
            ["%load_ext autoreload", "%autoreload 2"],
        ),
        KernelKind("reload_kernel", "reload_kernel", reload_kernel_argv()),
    ]


def reload_kernel_argv() -> list[str]:
    """The argv of the kernelspec this repository ships, run by this interpreter (each kernel
    is started the way its own kernelspec starts it)."""
    spec = Path(__file__).resolve().parent.parent / "kernelspec" / "autoreload" / "kernel.json"
    try:
        argv: list[str] = json.loads(spec.read_text(encoding="utf-8"))["argv"]
    except (OSError, ValueError, KeyError):
        argv = ["python", "-m", "reload_kernel", "-f", "{connection_file}"]
    return [sys.executable if argument == "python" else argument for argument in argv]


class JupyterHome:
    """Private Jupyter and IPython directories holding one kernelspec per kernel kind."""

    def __init__(self, kinds: list[KernelKind]) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="rk-bench-"))
        for kind in kinds:
            spec_dir = self.root / "path" / "kernels" / f"bench-{kind.name}"
            spec_dir.mkdir(parents=True)
            spec = {"argv": kind.argv, "display_name": kind.label, "language": "python"}
            (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        for variable, name in [
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("IPYTHONDIR", "ipython"),
            ("JUPYTER_PATH", "path"),
        ]:
            (self.root / name).mkdir(exist_ok=True)
            os.environ[variable] = str(self.root / name)
        os.environ["JUPYTER_PLATFORM_DIRS"] = "1"

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def kernel_environment() -> dict[str, str]:
    """The same environment for every kernel.

    Bytecode caches are off for all three: IPython's autoreload trusts ``__pycache__`` (mtime
    in whole seconds plus size), so same-size edits within a second would load stale code and
    the benchmark would measure reloads that did not happen. reload_kernel never uses them for
    user modules anyway.
    """
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("RELOAD_KERNEL_POLL", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["MPLBACKEND"] = "Agg"
    return env


@dataclass
class CellResult:
    status: str
    seconds: float
    stdout: str = ""
    stderr: str = ""
    error: str = ""


class Kernel:
    """A running kernel of one kind, with a working directory of its own."""

    def __init__(self, kind: KernelKind, workdir: Path) -> None:
        self.kind = kind
        self.workdir = workdir
        self._ipc_dir = tempfile.mkdtemp(prefix="rkb-", dir="/tmp")
        self.manager = KernelManager(
            kernel_name=f"bench-{kind.name}",
            transport="ipc",
            ip=os.path.join(self._ipc_dir, "k"),
        )
        self.client: Any = None

    def start(self) -> float:
        """Start the kernel and run an empty cell: seconds from launch to that cell's reply."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        self.manager.start_kernel(cwd=str(self.workdir), env=kernel_environment())
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=START_TIMEOUT)
        self.run("pass")
        elapsed = time.perf_counter() - started
        for cell in self.kind.setup_cells:
            self.check(cell)
        return elapsed

    def stop(self) -> None:
        if self.client is not None:
            self.client.stop_channels()
        if self.manager.has_kernel:
            self.manager.shutdown_kernel(now=True)
        shutil.rmtree(self._ipc_dir, ignore_errors=True)

    @property
    def pid(self) -> int:
        provisioner: Any = self.manager.provisioner  # (a local one: it has a process)
        return int(provisioner.process.pid)

    def rss_bytes(self) -> int:
        """The kernel process's resident memory now."""
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc status")

    def run(self, code: str, timeout: float = CELL_TIMEOUT, *, silent: bool = False) -> CellResult:
        """Execute a cell; ``seconds`` is from sending the request to receiving the reply.

        A silent cell runs without the reload step of either reloading kernel (and shows
        nothing): for timing a reload from inside the kernel."""
        started = time.perf_counter()
        msg_id = self.client.execute(code, silent=silent)
        while True:
            reply = self.client.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        seconds = time.perf_counter() - started
        result = CellResult(reply["content"]["status"], seconds)
        self._collect_output(msg_id, result, timeout)
        return result

    def _collect_output(self, msg_id: str, result: CellResult, timeout: float) -> None:
        """Read the cell's output up to its idle status (not part of the timing)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self.client.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                break
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    result.stdout += content["text"]
                else:
                    result.stderr += content["text"]
            elif kind == "error":
                result.error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                return

    def check(self, code: str, timeout: float = CELL_TIMEOUT, *, silent: bool = False) -> str:
        """Run a cell that must succeed; its stdout."""
        result = self.run(code, timeout, silent=silent)
        if result.status != "ok":
            raise RuntimeError(f"{self.kind.label}: cell failed: {result.error}\n{code}")
        return result.stdout

    def value(self, expression: str) -> Any:
        """An expression's value, through JSON."""
        return json.loads(self.check(f"import json as _j; print(_j.dumps({expression}))"))
