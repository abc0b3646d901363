"""Fixtures for the browser suite: a private JupyterLab server and a headless Chromium page."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .lab import (
    ARTIFACTS,
    BROWSER_TIMEOUT_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    JupyterLab,
    api,
    jupyter_lab_command,
    private_jupyter_environment,
    save_screenshot,
    stop_server,
    wait_for_server_info,
    write_user_settings,
)


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """One server for the module's tests (it takes long to start); its log is kept as an
    artifact."""
    home = tmp_path_factory.mktemp("jupyter-lab")
    root_dir = home / "notebooks"
    root_dir.mkdir()
    settings_dir = home / "user-settings"
    write_user_settings(settings_dir)
    env = private_jupyter_environment(home / "jupyter-home")
    token = secrets.token_hex(16)
    log_path = home / "jupyter-lab.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            jupyter_lab_command(root_dir, token, settings_dir),
            env=env,
            cwd=root_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    lab = None
    try:
        info = wait_for_server_info(Path(env["JUPYTER_RUNTIME_DIR"]), server)
        lab = JupyterLab(url=info["url"], token=token, root_dir=root_dir)
        api(lab, "status")
        yield lab
    finally:
        stop_server(lab, server)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(log_path, ARTIFACTS / "jupyter-lab.log")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium, driven by Playwright."""
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: apt-get install chromium (or set RELOAD_KERNEL_CHROMIUM)"
        )
    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page (own cookies and storage); its last state is saved as a screenshot."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(BROWSER_TIMEOUT_MS)
        yield page
        save_screenshot(page, f"{request.node.name}-last")
    finally:
        context.close()
