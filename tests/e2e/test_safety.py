"""What the reloader never does: run code nobody imported, or read files that are not user code.

* It only re-executes modules the notebook already imported (and still has in ``sys.modules``):
  a new ``.py`` file appearing in a watched folder, a module whose first import failed, or one
  the user removed from ``sys.modules`` is never executed by it, whatever is edited around.
* During the reload step it opens user files only: never a standard-library or installed
  module's file, not even to show a traceback that passes through one. This is checked inside
  the kernel process with an audit hook (``sys.addaudithook``) on the ``open`` event, recording
  only while ``Reloader.reload`` runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Notebook, unique_name

#: A module that leaves a trace when it is executed: ``<its file>.ran``.
LEAVES_A_TRACE = """\
from pathlib import Path

Path(__file__ + ".ran").touch()
VERSION = {version}
"""


@pytest.fixture(scope="module")
def shared_notebook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notebook]:
    with Notebook(tmp_path_factory.mktemp("safety") / "work") as running:
        yield running


def executed(path: Path) -> bool:
    return Path(str(path) + ".ran").exists()


def run_cells(notebook: Notebook, count: int = 3) -> None:
    """A few cells, each with its reload step, as a user goes on working."""
    for _ in range(count):
        notebook.run("pass").check()


def test_new_files_in_watched_folders_are_never_executed(shared_notebook: Notebook) -> None:
    notebook, package = shared_notebook, unique_name("pkg")
    notebook.write(f"{package}/__init__.py", "VERSION = 1\n")
    notebook.write(f"{package}/known.py", "VERSION = 1\n")
    notebook.run(f"import {package}.known").check()

    new_in_package = notebook.write(f"{package}/newcomer.py", LEAVES_A_TRACE.format(version=1))
    new_beside = notebook.write(f"{package}_newcomer.py", LEAVES_A_TRACE.format(version=1))
    notebook.write(f"{package}/__init__.py", "VERSION = 2\n")  # re-runs the package itself
    notebook.write(f"{package}/known.py", "VERSION = 2\n")
    run_cells(notebook)

    assert notebook.value(f"{package}.VERSION, {package}.known.VERSION") == "(2, 2)"
    assert not executed(new_in_package)
    assert not executed(new_beside)
    imported = f"[name for name in sys.modules if name.startswith('{package}')]"
    assert notebook.value(f"import sys; sorted({imported})") == str(
        sorted([package, f"{package}.known"])
    )


def test_module_whose_first_import_failed_is_not_executed_when_fixed(
    shared_notebook: Notebook,
) -> None:
    notebook, name = shared_notebook, unique_name("failing")
    notebook.write(f"{name}.py", "raise RuntimeError('not ready')\n")
    assert notebook.run(f"import {name}").status == "error"

    fixed = notebook.write(f"{name}.py", LEAVES_A_TRACE.format(version=1))
    run_cells(notebook)

    assert not executed(fixed)
    notebook.run(f"import {name}").check()  # the user's own import runs it, of course
    assert executed(fixed)


def test_module_removed_from_sys_modules_is_not_executed_when_edited(
    shared_notebook: Notebook,
) -> None:
    notebook, name = shared_notebook, unique_name("dropped")
    path = notebook.write(f"{name}.py", "VERSION = 1\n")
    notebook.run(f"import sys, {name}\ndel sys.modules[{name!r}]").check()

    notebook.write(f"{name}.py", LEAVES_A_TRACE.format(version=2))
    run_cells(notebook)

    assert not executed(path)
    assert notebook.value(f"{name}.VERSION") == "1"


# --- files read during the reload step ------------------------------------------------------

#: Installed in the kernel: records every file opened while ``Reloader.reload`` runs, and by
#: the thread that compiles saved modules ahead of the cell.
RECORD_OPENS = """\
import linecache, sys, threading

opened_during_reload, _recording = [], [False]

def _by_the_reloader():
    return _recording[0] or threading.current_thread().name == "reload_kernel: compile ahead"

def _record_open(event, arguments):
    if event == "open" and _by_the_reloader() and isinstance(arguments[0], (str, bytes)):
        opened_during_reload.append(str(arguments[0], "utf-8", "replace")
                                    if isinstance(arguments[0], bytes) else arguments[0])

sys.addaudithook(_record_open)
_reloader = get_ipython().kernel.reloader
_reload = _reloader.reload

def _recorded_reload(*args, **kwargs):
    _recording[0] = True
    try:
        return _reload(*args, **kwargs)
    finally:
        _recording[0] = False

_reloader.reload = _recorded_reload
linecache.clearcache()  # so a traceback's lines would have to be read again from the files
"""

#: Edits whose reload touches the most machinery: a failure whose traceback passes through the
#: standard library, a class re-run in place, a function body patched, a module imported anew.
EDITS = {
    "through_stdlib.py": "import json\n\nCONFIG = json.loads('{')\n",
    "shapes.py": "import dataclasses\n\n@dataclasses.dataclass\nclass Shape:\n    sides: int = 4\n",
    "helpers.py": "def helper():\n    return 'patched'\n",
}
ORIGINALS = {
    "through_stdlib.py": "import json\n\nCONFIG = json.loads('{}')\n",
    "shapes.py": "import dataclasses\n\n@dataclasses.dataclass\nclass Shape:\n    sides: int = 3\n",
    "helpers.py": "def helper():\n    return 'original'\n",
}

#: Not code: the file watcher reads the mount table once, to poll network filesystems.
SYSTEM_INFORMATION = {"/proc/self/mountinfo"}


def test_reload_step_opens_only_user_files(notebook: Notebook) -> None:
    for file, text in ORIGINALS.items():
        notebook.write(file, text)
    notebook.run(
        "import through_stdlib, shapes, helpers, json, email.mime.text, xml.dom.minidom"
    ).check()
    notebook.run(RECORD_OPENS).check()

    for file, text in EDITS.items():
        notebook.write(file, text)
    cell = notebook.run("shapes.Shape().sides, helpers.helper()")
    listing = notebook.run("import json; print(json.dumps(opened_during_reload))").check()
    opened = json.loads(listing.stdout)

    assert cell.result == "(4, 'patched')"
    assert "through_stdlib.py line 3: JSONDecodeError" in cell.stderr
    workdir = os.path.realpath(notebook.workdir)
    outside = {
        path
        for path in opened
        if not os.path.realpath(path).startswith(workdir + os.sep)
        and path not in SYSTEM_INFORMATION
    }
    assert outside == set()
    assert {os.path.basename(path) for path in opened} >= set(EDITS), opened
