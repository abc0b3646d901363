"""Protocol conformance: jupyter_kernel_test's checks against the installed "autoreload" kernel.

The kernel runs in a directory holding a user module that the first cell imports, so every check
below runs with the reloader tracking a module, the way a real notebook session does. A reload
step that printed anything on an unchanged cell would break ``test_error`` and the stream checks.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

import jupyter_kernel_test

from .harness import KERNEL_NAME, Notebook

SETUP_CELL = "from helpers_for_conformance import answer\nassert answer() == 42"


class AutoreloadKernelConformance(jupyter_kernel_test.KernelTests):
    """The samples jupyter_kernel_test ships for ipykernel, run against our kernel."""

    kernel_name = KERNEL_NAME
    language_name = "python"
    file_extension = ".py"

    code_hello_world = "print('hello, world')"
    code_stderr = "import sys; print('test', file=sys.stderr)"
    code_generate_error = "raise"
    code_page_something = "zip?"
    code_inspect_sample = "zip"
    code_clear_output = "from IPython.display import clear_output; clear_output()"

    completion_samples: ClassVar[list[dict[str, object]]] = [
        {"text": "zi", "matches": {"zip"}},
        {"text": "helpers_for_conformance.ans", "matches": {"answer"}},
    ]
    complete_code_samples: ClassVar[list[str]] = [
        "1",
        "print('hello, world')",
        "def f(x):\n  return x*2\n\n\n",
    ]
    incomplete_code_samples: ClassVar[list[str]] = ["print('''hello", "def f(x):\n  x*2"]
    invalid_code_samples: ClassVar[list[str]] = ["import = 7q"]

    code_execute_result: ClassVar[list[dict[str, str]]] = [
        {"code": "1+2+3", "result": "6"},
        {"code": "[n*n for n in range(1, 4)]", "result": "[1, 4, 9]"},
        {"code": "answer()", "result": "42"},
    ]
    code_display_data: ClassVar[list[dict[str, str]]] = [
        {
            "code": "from IPython.display import HTML, display; display(HTML('<b>test</b>'))",
            "mime": "text/html",
        },
        {
            "code": "from IPython.display import Math, display; display(Math('\\\\frac{1}{2}'))",
            "mime": "text/latex",
        },
    ]
    code_history_pattern = "1?2*"
    # Not "range": for the current session IPython answers with session number 0 rather than the
    # one "tail" reported, so jupyter_kernel_test's range check fails on plain ipykernel too.
    supported_history_operations = ("tail", "search")

    _notebook: ClassVar[Notebook]
    _workdir: ClassVar[str]

    @classmethod
    def setUpClass(cls) -> None:
        # The harness's kernel: ipc transport on a unique socket path, isolated environment.
        cls._workdir = tempfile.mkdtemp(prefix="rk-conformance-")
        notebook = Notebook(Path(cls._workdir))
        notebook.write("helpers_for_conformance.py", "def answer():\n    return 42\n")
        cls._notebook = notebook.start()
        cls.km, cls.kc = notebook.manager, notebook.client
        setup = notebook.run(SETUP_CELL + "\nimport helpers_for_conformance").check()
        assert setup.output_types == [], setup

    @classmethod
    def tearDownClass(cls) -> None:
        cls._notebook.stop()
        shutil.rmtree(cls._workdir, ignore_errors=True)
