"""ReloadKernel: IPython's kernel with a reload step before each cell."""

from __future__ import annotations

import sys
import threading
from typing import Any

from ipykernel.ipkernel import IPythonKernel
from traitlets import Bool, List, Unicode, UseEnum

from . import __version__
from .engine import Reloader, Report, UserCodePolicy
from .messages import Verbosity, render


class ReloadKernel(IPythonKernel):
    """Before each cell, load every edit saved to the user's modules."""

    implementation = "reload_kernel"
    implementation_version = __version__
    banner = "Python (autoreload): edits to your modules are loaded before each cell."

    enabled = Bool(True, help="Reload changed modules before each cell.").tag(config=True)
    report = UseEnum(
        Verbosity,
        default_value=Verbosity.BRIEF,
        help="What to say about reloads: off, brief or verbose.",
    ).tag(config=True)
    exclude = List(
        Unicode(), help="Modules or packages never reloaded (a package covers its submodules)."
    ).tag(config=True)
    include = List(
        Unicode(),
        help="Packages reloaded even though they are installed in site-packages.",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        policy = UserCodePolicy(include=self.include, exclude=self.exclude)
        self.reloader = Reloader(policy)
        self.reloader.start()

    async def do_execute(
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict[str, Any] | None = None,
        allow_stdin: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        # Only the main shell reloads: on ipykernel 7 subshells run cells on other threads,
        # concurrently with the main shell.
        runs_reload = self.enabled and not silent and _on_main_thread()
        if runs_reload:
            self._reload_step()
        reply: dict[str, Any] = await super().do_execute(  # type: ignore[no-untyped-call]
            code, silent, store_history, user_expressions, allow_stdin, **kwargs
        )
        if runs_reload:
            self._record_imports(code)
        return reply

    @property
    def _shell(self) -> Any:
        """The InteractiveShell (typed Optional by ipykernel, always set once running)."""
        return self.shell

    def _reload_step(self) -> None:
        try:
            report = self.reloader.reload(self._shell.user_ns)
        except KeyboardInterrupt:
            print("↻ reload interrupted; modules keep their previous version", file=sys.stderr)
            return
        except Exception as error:  # a bug in the reloader must never cost the user a cell
            self.log.exception("reload step failed")
            print(f"⚠ the reloader failed ({error!r}); running the cell anyway", file=sys.stderr)
            return
        self._show(report)

    def _show(self, report: Report) -> None:
        text = render(report, self.report)
        if text:
            sys.stderr.write(text)
            sys.stderr.flush()

    def _record_imports(self, code: str) -> None:
        try:
            python = self._shell.input_transformer_manager.transform_cell(code)
            self.reloader.record_cell(python, self._shell.user_ns)
        except Exception:
            self.log.exception("could not record the cell's imports")


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
