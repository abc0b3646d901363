"""Terminal client: ``jupyter console --kernel autoreload`` in a real terminal (tmux).

tmux gives the console a real terminal, so prompt_toolkit runs its full interface, and
``capture-pane`` returns the screen as a user sees it, without escape sequences.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import KERNEL_NAME, START_TIMEOUT, kernel_environment, short_ipc_path

SCREEN_TIMEOUT = 60
POLL_INTERVAL = 0.1

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="needs tmux (CI installs it: apt-get install tmux)"
)


class Terminal:
    """One tmux session on a private server, running a single command."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self._tmux = ["tmux", "-S", socket_path]

    def tmux(self, *arguments: str) -> str:
        finished = subprocess.run(
            [*self._tmux, *arguments],
            capture_output=True,
            text=True,
            timeout=SCREEN_TIMEOUT,
            check=True,
        )
        return finished.stdout

    def start(self, command: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        # The tmux server is started here, so it (and the command) inherits this environment.
        subprocess.run(
            [*self._tmux, "new-session", "-d", "-x", "200", "-y", "50", "-c", str(cwd), *command],
            env=env,
            timeout=SCREEN_TIMEOUT,
            check=True,
        )

    def type_line(self, text: str) -> None:
        self.tmux("send-keys", "-l", text)
        self.tmux("send-keys", "Enter")

    def screen(self) -> str:
        """Everything shown so far, scrollback included, wrapped lines joined."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-")

    def wait_for(self, text: str, timeout: float = SCREEN_TIMEOUT) -> str:
        """Poll the screen until ``text`` is on it; return the screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not shown within {timeout}s; screen:\n{screen}")
            time.sleep(POLL_INTERVAL)

    def is_running(self) -> bool:
        checked = subprocess.run([*self._tmux, "has-session"], capture_output=True, check=False)
        return checked.returncode == 0

    def wait_until_closed(self, timeout: float = SCREEN_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while self.is_running():
            if time.monotonic() > deadline:
                raise AssertionError(f"the terminal did not close; screen:\n{self.screen()}")
            time.sleep(POLL_INTERVAL)

    def kill(self) -> None:
        subprocess.run([*self._tmux, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    socket_path = short_ipc_path()
    running = Terminal(socket_path)
    yield running
    running.kill()
    shutil.rmtree(os.path.dirname(socket_path), ignore_errors=True)


def jupyter_console_command(kernel_socket_path: str) -> list[str]:
    """``jupyter console --kernel autoreload``, on the ipc transport so parallel runs never race
    for TCP ports."""
    jupyter = str(Path(sys.executable).with_name("jupyter"))
    return [
        jupyter,
        "console",
        "--kernel",
        KERNEL_NAME,
        "--transport=ipc",
        f"--ip={kernel_socket_path}",
    ]


def answers_between_prompts(screen: str) -> tuple[list[str], list[str]]:
    """The lines shown after ``In [1]`` and after ``In [2]``, each up to the next prompt."""
    first_start, second_start = screen.index("In [1]:"), screen.index("In [2]:")
    first = screen[first_start:second_start].splitlines()[1:]
    second = screen[second_start : screen.index("In [3]:")].splitlines()[1:]
    return first, second


def test_console_picks_up_an_edit_saved_between_two_inputs(
    terminal: Terminal, tmp_path: Path
) -> None:
    module = tmp_path / "foo_file.py"
    module.write_text("def bar():\n    return 'old'\n")
    kernel_socket = str(Path(terminal.socket_path).with_name("kernel"))
    terminal.start(jupyter_console_command(kernel_socket), cwd=tmp_path, env=kernel_environment())
    terminal.wait_for("In [1]:", timeout=START_TIMEOUT)

    terminal.type_line("from foo_file import bar; bar()")
    terminal.wait_for("In [2]:")
    module.write_text("def bar():\n    return 'new'\n")
    terminal.type_line("bar()")
    screen = terminal.wait_for("In [3]:")

    first_cell, second_cell = answers_between_prompts(screen)
    assert "Out[1]: 'old'" in first_cell
    assert "reloaded" not in "\n".join(first_cell)
    # The kernel writes its own start-up warnings (debugpy's) straight to the terminal, so
    # other lines may be interleaved; the notice must come before the new result.
    assert second_cell.index("↻ reloaded foo_file (bar)") < second_cell.index("Out[2]: 'new'")

    terminal.type_line("exit")
    terminal.wait_until_closed()
