"""A private JupyterLab server and headless Chromium for the browser suite.

Chromium is Debian's (``apt-get install chromium``), driven through Playwright's Python package;
Playwright cannot download its own browsers here. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..e2e.harness import kernel_environment

CHROMIUM = os.environ.get("RELOAD_KERNEL_CHROMIUM", "/usr/bin/chromium")
# Flags for a headless browser on a machine with a closed network: without the background
# networking ones, Chromium keeps trying (and failing) to reach Google's services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_TIMEOUT = 120
SERVER_STOP_TIMEOUT = 30
BROWSER_TIMEOUT_MS = 60_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# JupyterLab asks on first start whether to fetch Jupyter news; the toast would cover the page.
QUIET_NOTIFICATIONS = {"fetchNews": "false", "checkForUpdates": False}


@dataclass
class JupyterLab:
    """A running ``jupyter lab`` on 127.0.0.1, serving ``root_dir``."""

    url: str
    token: str
    root_dir: Path

    def page_url(self, path: str = "lab") -> str:
        # "reset" starts from the default layout (the Launcher), whatever a workspace saved.
        return f"{self.url}{path}?reset&token={self.token}"


def private_jupyter_environment(home: Path) -> dict[str, str]:
    """Jupyter and IPython directories of this test's own; kernelspecs of the environment stay
    visible (``sys.prefix/share/jupyter`` is always searched)."""
    env = kernel_environment()
    for variable, name in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ]:
        (home / name).mkdir(parents=True)
        env[variable] = str(home / name)
    env["JUPYTER_PATH"] = str(home / "path")
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.pop("JUPYTER_PREFER_ENV_PATH", None)
    return env


def write_user_settings(settings_dir: Path) -> None:
    notification = settings_dir / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(json.dumps(QUIET_NOTIFICATIONS))


def jupyter_lab_command(root_dir: Path, token: str, settings_dir: Path) -> list[str]:
    jupyter = str(Path(sys.executable).with_name("jupyter"))
    command = [
        jupyter,
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        "--port=0",  # the OS picks a free port; the server's runtime file tells which
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        f"--LabApp.user_settings_dir={settings_dir}",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:  # CI containers run as root; Jupyter refuses that unless told
        command.append("--allow-root")
    return command


def wait_for_server_info(runtime_dir: Path, server: subprocess.Popen[bytes]) -> dict[str, Any]:
    """The server's runtime file (``jpserver-<pid>.json``), once the server has written it."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"jupyter lab exited with {server.returncode}")
        for info_file in runtime_dir.glob("jpserver-*.json"):
            try:
                info: dict[str, Any] = json.loads(info_file.read_text())
            except json.JSONDecodeError:  # still being written
                continue
            return info
        time.sleep(0.2)
    raise AssertionError(f"jupyter lab did not start within {SERVER_START_TIMEOUT}s")


# Straight to 127.0.0.1, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def api(lab: JupyterLab, path: str, method: str = "GET") -> bytes:
    """Call the server's REST API with the token."""
    request = urllib.request.Request(
        f"{lab.url}api/{path}", method=method, headers={"Authorization": f"token {lab.token}"}
    )
    with _DIRECT.open(request, timeout=SERVER_STOP_TIMEOUT) as response:
        body: bytes = response.read()
        return body


def stop_server(lab: JupyterLab | None, server: subprocess.Popen[bytes]) -> None:
    """Ask the server to shut down (it stops its kernels), kill it if it does not."""
    if lab is not None and server.poll() is None:
        with contextlib.suppress(urllib.error.URLError, ConnectionError):  # already going down
            api(lab, "shutdown", method="POST")
    try:
        server.wait(timeout=SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=SERVER_STOP_TIMEOUT)


def save_screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
