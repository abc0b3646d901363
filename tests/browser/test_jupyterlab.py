"""JupyterLab in a real browser: the Launcher offers "Python (autoreload)" and a notebook started
from it sees an edit saved on disk when its cell is re-run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .lab import JupyterLab, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

KERNEL_DISPLAY_NAME = "Python (autoreload)"
NOTEBOOK_CARD = f'.jp-LauncherCard[data-category="Notebook"][title="{KERNEL_DISPLAY_NAME}"]'
OUR_LOGO = Path(__file__).resolve().parents[2] / "kernelspec" / "autoreload" / "logo-svg.svg"

OLD_MODULE = "def bar():\n    return 'old'\n"
NEW_MODULE = "def bar():\n    return 'new'\n"


def run_cell_in_place(page: Any, cell: Any) -> None:
    """Put the cursor in the cell's editor and press Ctrl+Enter (run, stay on the cell)."""
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+Enter")


def test_launcher_shows_autoreload_kernel_with_its_logo(
    jupyter_lab: JupyterLab, browser_page: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(jupyter_lab.page_url())

    card = page.locator(NOTEBOOK_CARD)
    expect(card).to_contain_text(KERNEL_DISPLAY_NAME)
    logo = card.locator("img.jp-Launcher-kernelIcon")
    expect(logo).to_have_attribute("src", re.compile(r"/kernelspecs/autoreload/logo-svg\.svg$"))
    assert logo.evaluate("image => image.complete && image.naturalWidth > 0"), "logo not drawn"
    served = page.request.get(logo.evaluate("image => image.src"))
    assert served.ok
    assert served.body() == OUR_LOGO.read_bytes()
    save_screenshot(page, "jupyterlab-launcher")


def test_notebook_from_launcher_sees_module_edit_when_cell_is_rerun(
    jupyter_lab: JupyterLab, browser_page: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    module = jupyter_lab.root_dir / "foo_file.py"
    module.write_text(OLD_MODULE)
    page.goto(jupyter_lab.page_url())
    page.locator(NOTEBOOK_CARD).click()
    notebook = page.locator(".jp-NotebookPanel")
    expect(notebook.locator(".jp-Toolbar-kernelName")).to_have_text(KERNEL_DISPLAY_NAME)
    expect(notebook.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute(
        "data-status", "idle"
    )
    cell = notebook.locator(".jp-Cell").first
    outputs = cell.locator(".jp-OutputArea-output")
    cell.locator(".cm-content").click()
    page.keyboard.type("from foo_file import bar; bar()")
    page.keyboard.press("Control+Enter")
    expect(cell.locator(".jp-InputArea-prompt")).to_have_text("[1]:")
    expect(outputs).to_have_text(["'old'"])

    module.write_text(NEW_MODULE)
    run_cell_in_place(page, cell)

    expect(cell.locator(".jp-InputArea-prompt")).to_have_text("[2]:")
    expect(outputs).to_have_text(["↻ reloaded foo_file (bar)", "'new'"])
    expect(outputs.first).to_have_attribute("data-mime-type", "application/vnd.jupyter.stderr")
    save_screenshot(page, "jupyterlab-after-edit")
