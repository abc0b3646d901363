"""ReloadKernel: IPython's kernel with a reload step before each cell.

The kernel adapts IPython to the engine and nothing more: it runs ``Reloader.reload`` before
each cell of the main shell, shows the report on stderr, refuses the cell in strict mode, keeps
IPython's own autoreload from reloading a second time, and holds the settings that
``%reload_kernel`` reads and changes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from ipykernel.ipkernel import IPythonKernel
from traitlets import Bool, CaselessStrEnum, List, Unicode, observe, validate

from . import __version__
from .engine import Reloader, Report, UserCodePolicy
from .magics import IPYTHON_AUTORELOAD_MODULE, ReloadKernelMagics, switch_off_ipython_autoreload
from .messages import (
    AUTORELOAD_NOTE,
    INTERRUPTED_NOTE,
    INTERRUPTED_SUMMARY,
    LastReload,
    ReloadState,
    Status,
    Verbosity,
    interrupted_lines,
    refusal_lines,
    refusal_summary,
    render,
)
from .wire import stream_frames

#: A cell made only of these magics runs even in strict mode: it is how one gets out of it.
_CONTROL_MAGIC = "%reload_kernel"

#: How long after a cell its imports are recorded and the versions it replaced freed (see
#: ``_after_cell``): enough for the event loop to wait once, and for the reply to leave meanwhile.
_WHEN_IDLE_SECONDS = 0.001


class ReloadError(Exception):
    """Strict mode: a cell was not run because one of the user's modules failed to reload."""


class ReloadKernel(IPythonKernel):
    """Before each cell, load every edit saved to the user's modules."""

    implementation = "reload_kernel"
    implementation_version = __version__
    banner = "Python (autoreload): edits to your modules are loaded before each cell."

    enabled = Bool(
        True,
        help="Reload changed modules before each cell. False starts the kernel with nothing "
        "tracked, like a plain IPython kernel (`%reload_kernel resume` turns it on).",
    ).tag(config=True)
    report = CaselessStrEnum(
        [verbosity.value for verbosity in Verbosity],
        default_value=Verbosity.BRIEF.value,
        help="What to say about reloads: off (nothing, not even failures), brief (one line "
        "naming what was reloaded, each failure once) or verbose (also how and why).",
    ).tag(config=True)
    strict = Bool(
        False,
        help="When a module fails to reload, do not run the cell: reply with an error instead "
        "of running it on the module's previous version.",
    ).tag(config=True)
    exclude = List(
        Unicode(), help="Modules or packages never reloaded (a package covers its submodules)."
    ).tag(config=True)
    include = List(
        Unicode(),
        help="Packages reloaded even though they are installed in site-packages.",
    ).tag(config=True)

    @observe("strict")
    def _strict_changed(self, change: dict[str, Any]) -> None:
        self._strict = change["new"]

    @validate("exclude", "include")
    def _module_names(self, proposal: dict[str, Any]) -> list[str]:
        return module_names(proposal["value"])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._shell: Any = cast(Any, self.shell)
        """The InteractiveShell, made by ipykernel's ``__init__`` for the kernel's life (typed
        Optional there; read at every cell, and a plain attribute costs less than the trait)."""
        self.reloader = Reloader(UserCodePolicy(include=self.include, exclude=self.exclude))
        self.last_reload: LastReload | None = None
        self._engine_started = False
        self._ipython_autoreload_seen = False
        self._cell_to_record: str | None = None
        """The last cell of the main shell, until its imports are recorded."""
        self._stock_transforms = tuple(list(part) for part in self._input_transforms())
        self._strict = self.strict
        """``strict``, as read before every cell (a trait costs a few calls to read)."""
        self._main_thread_ident = threading.main_thread().ident
        """Cells run on this thread are the main shell's (ipykernel 7's subshells run theirs
        on threads of their own)."""
        if self.enabled:
            self._start_engine()
        self._shell.register_magics(ReloadKernelMagics(self._shell, self))

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
        # concurrently with the main shell. Silent requests are frontends' own probes.
        user_cell = not silent and threading.get_ident() == self._main_thread_ident
        if user_cell:
            refusal = self._before_cell(code, store_history)
            if refusal is not None:
                return refusal
        reply: dict[str, Any] = await super().do_execute(  # type: ignore[no-untyped-call]
            code, silent, store_history, user_expressions, allow_stdin, **kwargs
        )
        if user_cell:
            self._after_cell(code)
        elif not silent:  # a subshell's cell binds names in the same namespace: record them too
            self._record_cell(code)
        return reply

    # --- around each cell -----------------------------------------------------------------

    def _before_cell(self, code: str, store_history: bool) -> dict[str, Any] | None:
        """The reload step. Returns an error reply when the cell must not run."""
        try:
            if self._nothing_to_do_before_cell():
                return None  # most cells
            self._record_previous_cell()  # (if its timer has not fired yet)
            return self._reload_step(code, store_history)
        except KeyboardInterrupt:
            return self._interrupted(code, store_history)
        except Exception as error:  # a bug in the reloader must never cost the user a cell
            self.log.exception("reload step failed")
            self._say(f"⚠ the reloader failed ({error!r}); running the cell anyway\n")
            return None

    def _nothing_to_do_before_cell(self) -> bool:
        """Most cells: nothing was saved or imported since the last step, the previous cell's
        imports are recorded, IPython's autoreload was never imported, and no failing module
        could refuse the cell (not strict). Told in few steps: every cell's reply waits for
        them, and the code a cell runs around IPython's also slows IPython's own down (the
        processor's caches), by twice its own time or more."""
        return (
            self._cell_to_record is None
            and IPYTHON_AUTORELOAD_MODULE not in sys.modules
            and not self._strict
            and self.reloader.up_to_date()
        )

    def _reload_step(self, code: str, store_history: bool) -> dict[str, Any] | None:
        self._keep_ipython_autoreload_off()
        if not self.enabled:
            return None
        report = self._reload(before_a_cell=True)
        if not report and not self.strict:
            return None  # most cells
        failures = self.reloader.failures if self.strict else []
        if failures and not _is_control_cell(code):
            self._show(dataclasses.replace(report, failed=[]))  # the error below says those
            error = ReloadError(refusal_summary(failures))
            return self._cell_not_run(code, store_history, error, refusal_lines(failures))
        if report:  # (an empty report says nothing)
            self._show(report)
        return None

    def _interrupted(self, code: str, store_history: bool) -> dict[str, Any]:
        """Interrupted in the reload step: the cell stops, as if interrupted while running.

        (The engine has put back the module it was loading.) Like any interrupted cell, the
        reply is an error, so "Run All" stops here too.
        """
        error = KeyboardInterrupt(INTERRUPTED_SUMMARY)
        try:
            self._say(INTERRUPTED_NOTE)
            return self._cell_not_run(code, store_history, error, interrupted_lines())
        except BaseException:  # interrupted again while saying so: answer all the same
            return _error_reply(error, [], self._shell.execution_count - 1)

    def _after_cell(self, code: str) -> None:
        """After a cell of the main shell: what is left to do once its reply is on its way is
        done when the kernel is idle (and the imports recorded before the next cell's reload
        step at the latest): recording the names the cell imported, and freeing the module
        versions its reload step replaced (the engine keeps them for that).

        Most cells import nothing, which a look at the cell tells at once, and reload nothing:
        they leave nothing to do after the reply. The rest is done by a timer rather than on
        the event loop's next turn: ipykernel hands the reply to another thread (the shell
        channel's, on ipykernel 7; the event loop's next turn, on 6), which needs the GIL to
        pass it on and gets it only when the main thread next blocks, so Python work right
        after the reply would delay it.
        """
        try:
            self._keep_ipython_autoreload_off()  # loaded by this cell: say so in this cell
        except (Exception, KeyboardInterrupt):  # the cell's reply must still be sent
            self.log.exception("could not switch IPython's autoreload off")
        if self._worth_recording(code):
            self._cell_to_record = code
        elif not self.reloader.holds_replaced:
            return  # most cells
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # (no event loop runs this kernel: do it now)
            self._when_idle()
        else:
            loop.call_later(_WHEN_IDLE_SECONDS, self._when_idle)

    def _when_idle(self) -> None:
        self._record_previous_cell()
        try:
            self.reloader.let_go_of_replaced()
        except (Exception, KeyboardInterrupt):  # (interrupted while freeing them)
            self.log.exception("could not free the replaced module versions")

    def _record_previous_cell(self) -> None:
        code, self._cell_to_record = self._cell_to_record, None
        if code is not None:  # (only a cell worth recording is left here: see _after_cell)
            self._record_imports(code)

    def _record_cell(self, code: str) -> None:
        """Tell the engine which names the cell imported, if it may have imported any."""
        if self._worth_recording(code):
            self._record_imports(code)

    def _record_imports(self, code: str) -> None:
        """Tell the engine which names the cell imported (see ``Reloader.record_cell``)."""
        try:
            python = self._shell.input_transformer_manager.transform_cell(code)
            self.reloader.record_cell(python, self._shell.user_ns)
        except (Exception, KeyboardInterrupt):  # a cell's reply must never wait on this
            self.log.exception("could not record the cell's imports")

    def _worth_recording(self, code: str) -> bool:
        """Whether the cell's imports are worth telling the engine about (False when that
        cannot be told: a cell's reply must never wait on this)."""
        try:
            return self._engine_started and self._may_bind_imported_names(code)
        except (Exception, KeyboardInterrupt):
            self.log.exception("could not look at the cell's imports")
            return False

    def _may_bind_imported_names(self, code: str) -> bool:
        """Whether the cell may have changed the notebook's ``from m import x`` bindings.

        Most cells cannot, and this question spares them IPython's transforms and a parse
        (some 40 µs a cell). It is read from the cell as typed, which holds only while the
        transforms are IPython's own: one an extension adds may write anything.
        """
        if self._input_transforms() != self._stock_transforms:
            return True
        return self.reloader.cell_may_bind(code)

    def _input_transforms(self) -> tuple[list[Any], list[Any], list[Any]]:
        manager = self._shell.input_transformer_manager
        return manager.cleanup_transforms, manager.line_transforms, manager.token_transformers

    def _reload(self, before_a_cell: bool) -> Report:
        report = self.reloader.reload(self._shell.user_ns)
        if report:  # (the cell's number is asked for only then: most cells reload nothing)
            cell = self.execution_count if before_a_cell else None
            self.last_reload = LastReload(report, datetime.now(), cell)
        return report

    @property
    def verbosity(self) -> Verbosity:
        return Verbosity(self.report)

    def _show(self, report: Report) -> None:
        text = render(report, self.verbosity)
        if text:
            self._say(text)

    def _say(self, text: str) -> None:
        """Show ``text`` as the cell's stderr, ahead of anything the cell itself prints.

        Sent as a stream message of its own, on ipykernel's IOPub thread (which owns the
        socket). Writing to ``sys.stderr`` would need a flush to come out first, and a flush
        from the main thread waits for the IOPub thread (~0.5 ms per reload). Scheduled now,
        it is sent before anything the cell prints, which the IOPub thread sends later in the
        same order. Its frames are made here, cheaply (see ``wire``): ipykernel's flush before
        the reply waits for the send anyway.
        """
        io_thread = getattr(self, "iopub_thread", None)
        if self.session is None or io_thread is None:  # not connected (e.g. embedded)
            sys.stderr.write(text)
            sys.stderr.flush()
            return
        parent = self.get_parent()  # type: ignore[no-untyped-call]
        topic = self._topic("stream")  # type: ignore[no-untyped-call]
        frames = stream_frames(self.session, parent, topic, "stderr", text)

        def send() -> None:  # on the IOPub thread
            if io_thread.socket is not None:  # None once the kernel shuts down
                io_thread.socket.send_multipart(frames)

        io_thread.schedule(send)

    def _cell_not_run(
        self, code: str, store_history: bool, error: BaseException, traceback: list[str]
    ) -> dict[str, Any]:
        """Show ``error`` as the cell's error output and reply without running the cell."""
        shell = self._shell
        # The shell's own error display: an `error` output, like any failed cell's.
        shell._showtraceback(type(error), error, traceback)
        if store_history:  # like a cell that raised: it keeps its number and its history
            if shell.history_manager is not None:
                shell.history_manager.store_inputs(shell.execution_count, code, code)
            shell.execution_count += 1
        return _error_reply(error, traceback, shell.execution_count - 1)

    def _keep_ipython_autoreload_off(self) -> None:
        """While this kernel reloads, IPython's autoreload would reload everything twice."""
        if not self._engine_started:
            return  # reloading is off: IPython's autoreload may do its usual job
        if switch_off_ipython_autoreload(self._shell, self):
            if not self._ipython_autoreload_seen and self.verbosity is not Verbosity.OFF:
                self._say(AUTORELOAD_NOTE)
            self._ipython_autoreload_seen = True

    def _start_engine(self) -> None:
        if not self._engine_started:
            self.reloader.start()
            self._engine_started = True

    # --- what %reload_kernel reads and changes --------------------------------------------

    def status(self) -> Status:
        if not self._engine_started:
            state = ReloadState.OFF
        else:
            state = ReloadState.ON if self.enabled else ReloadState.PAUSED
        return Status(
            state=state,
            verbosity=self.verbosity,
            strict=self.strict,
            tracked=self.reloader.tracked_modules,
            failures=self.reloader.failures,
            last_reload=self.last_reload,
            include=tuple(self.include),
            exclude=tuple(self.exclude),
            autoreload_neutralized=self._ipython_autoreload_seen,
        )

    def pause(self) -> None:
        """Stop reloading before each cell; imports and edits are still noticed (but saved
        modules are not compiled ahead of cells that will not load them)."""
        self.enabled = False
        self.reloader.compile_ahead = False

    def resume(self) -> None:
        """Reload before each cell again (the next cell loads the edits made meanwhile)."""
        self._start_engine()
        self.enabled = True
        self.reloader.compile_ahead = True

    def reload_now(self) -> Report:
        """Reload at once, paused or not."""
        self._start_engine()
        return self._reload(before_a_cell=False)

    def exclude_modules(self, names: list[str]) -> None:
        """Never reload these modules or packages again in this kernel."""
        new = [name for name in names if name not in self.exclude]
        self.exclude = [*self.exclude, *new]
        self.reloader.exclude(new)


def module_names(items: Iterable[str]) -> list[str]:
    """Module names however they were written: ``a``, ``a,b`` or ``['a', 'b']``.

    traitlets hands ``--ReloadKernel.exclude=['a', 'b']`` from kernel.json to the kernel as the
    single string "['a', 'b']" (it cannot parse options of a class the app does not list).
    No module name contains brackets, commas, quotes or spaces, so splitting is safe.
    """
    names: list[str] = []
    for item in items:
        for part in item.strip().strip("[]").split(","):
            name = part.strip().strip("'\"").strip()
            if name and name not in names:
                names.append(name)
    return names


def _error_reply(
    error: BaseException, traceback: list[str], execution_count: int
) -> dict[str, Any]:
    return {
        "status": "error",
        "ename": type(error).__name__,
        "evalue": str(error),
        "traceback": traceback,
        "execution_count": execution_count,
        "user_expressions": {},
        "payload": [],
    }


def _is_control_cell(code: str) -> bool:
    """True for a cell made only of ``%reload_kernel`` lines (and blanks or comments)."""
    lines = [line.strip() for line in code.splitlines()]
    statements = [line for line in lines if line and not line.startswith("#")]
    return bool(statements) and all(
        line == _CONTROL_MAGIC or line.startswith(_CONTROL_MAGIC + " ") for line in statements
    )
