"""The seed story in a kernel that *this* interpreter's Jupyter starts: a script for other envs.

usage: python seed_story_in_env.py KERNEL_NAME WORKDIR

The install tests run it with the Python of a throwaway environment, so that the kernelspec is
found and started the way a Jupyter running in that environment would: jupyter_client there
looks the name up on its own search path and puts its own interpreter in place of a kernel.json
argv[0] of "python". It prints one JSON object: what the story's cells showed, and which Python
and which reload_kernel the kernel ran.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any


def seed_story(notebook: Any) -> dict[str, str | None]:
    """Write foo_file.py, import bar from it, edit bar, and call it again: what each call showed."""
    notebook.write("foo_file.py", "def bar():\n    return 'old'\n")
    notebook.run("from foo_file import bar").check()
    before = notebook.value("bar()")
    notebook.write("foo_file.py", "def bar():\n    return 'new'\n")
    return {"before": before, "after": notebook.value("bar()")}


def where_the_kernel_runs(notebook: Any) -> dict[str, str]:
    """The kernel's interpreter and the reload_kernel package it imported."""
    notebook.run("import sys as _sys, reload_kernel as _reload_kernel").check()
    return {
        "python": ast.literal_eval(notebook.value("_sys.executable")),
        "reload_kernel": ast.literal_eval(notebook.value("_reload_kernel.__file__")),
    }


def main(kernel_name: str, workdir: str) -> None:
    # Run as a script, this file's directory is sys.path[0]: the harness imports from there.
    from harness import Notebook

    with Notebook(Path(workdir), kernel_name=kernel_name) as notebook:
        outcome = {**seed_story(notebook), **where_the_kernel_runs(notebook)}
    print(json.dumps(outcome))


if __name__ == "__main__":
    main(*sys.argv[1:])
