"""IPython adapters: the ``%reload_kernel`` magic and the switch-off for IPython's autoreload.

The magic only translates words into calls on the kernel (``Controls``); the kernel owns the
state. IPython's own ``autoreload`` extension would reload the same modules a second time (with
``importlib.reload``, which replaces objects instead of updating them), so while this kernel
reloads, the extension's hooks are unregistered and its magics replaced by thin stand-ins.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Protocol

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from .engine import Report
from .messages import Status, Verbosity, render, render_status

#: The module whose ``AutoreloadMagics`` methods IPython's autoreload registers as event hooks.
IPYTHON_AUTORELOAD_MODULE = "IPython.extensions.autoreload"
_AUTORELOAD_EVENTS = ("pre_run_cell", "post_execute")
_AUTORELOAD_MODES_ON = frozenset({"1", "2", "3", "explicit", "all", "complete"})
_AUTORELOAD_MODES_OFF = frozenset({"0", "off"})
_AUTORELOAD_MODES_NOW = frozenset({"", "now"})
_VERBOSITY_ORDER = [Verbosity.OFF, Verbosity.BRIEF, Verbosity.VERBOSE]


class Controls(Protocol):
    """What the magics need from the kernel."""

    report: str
    """A ``Verbosity`` value: off, brief or verbose."""
    strict: bool

    def status(self) -> Status: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def reload_now(self) -> Report: ...

    def exclude_modules(self, names: list[str]) -> None: ...


def _on_off(word: str) -> bool:
    if word in ("on", "true", "yes", "1"):
        return True
    if word in ("off", "false", "no", "0"):
        return False
    raise UsageError(f"expected on or off, not {word!r}")


@magics_class
class ReloadKernelMagics(Magics):  # type: ignore[misc]  # IPython is untyped here
    """``%reload_kernel``: see and change the reloading at run time."""

    def __init__(self, shell: Any, controls: Controls) -> None:
        super().__init__(shell)
        self.controls = controls

    @line_magic  # type: ignore[untyped-decorator]
    def reload_kernel(self, line: str = "") -> None:
        """See and change how this kernel reloads your modules, without a restart.

        Usage::

          %reload_kernel                     same as status
          %reload_kernel status              what is tracked, the last reload, what fails
          %reload_kernel pause               stop reloading before each cell
          %reload_kernel resume              reload before each cell again (edits made
                                             while paused are loaded by the next cell)
          %reload_kernel now                 reload right now, even while paused
          %reload_kernel off|brief|verbose   how much to say about each reload
          %reload_kernel strict on|off       on: a cell does not run while one of your
                                             modules fails to reload
          %reload_kernel exclude NAME ...    never reload these modules or packages
                                             (a package covers its submodules)

        Changes last until the kernel restarts. To keep them, set the kernel's options
        (ReloadKernel.enabled, .report, .strict, .exclude, .include) in kernel.json or in
        ipython_kernel_config.py: see the README's "Configuration" section.
        """
        words = line.split()
        command, arguments = (words[0].lower(), words[1:]) if words else ("status", [])
        action = {
            "status": self._status,
            "pause": self._pause,
            "resume": self._resume,
            "now": self._now,
            "strict": self._strict,
            "exclude": self._exclude,
        }.get(command)
        if action is not None:
            action(arguments)
        elif command in {verbosity.value for verbosity in Verbosity} and not arguments:
            self.controls.report = command
            print(f"reload_kernel: report set to {command}")
        else:
            raise UsageError(
                f"unknown %reload_kernel command {line.strip()!r}; "
                "see %reload_kernel? for the commands"
            )

    def _status(self, arguments: list[str]) -> None:
        _no_arguments("status", arguments)
        sys.stdout.write(render_status(self.controls.status()))

    def _pause(self, arguments: list[str]) -> None:
        _no_arguments("pause", arguments)
        self.controls.pause()
        print("reload_kernel: paused; `%reload_kernel resume` reloads before each cell again")

    def _resume(self, arguments: list[str]) -> None:
        _no_arguments("resume", arguments)
        self.controls.resume()
        print("reload_kernel: reloading before each cell")

    def _now(self, arguments: list[str]) -> None:
        _no_arguments("now", arguments)
        show_reload_now(self.controls)

    def _strict(self, arguments: list[str]) -> None:
        if len(arguments) != 1:
            raise UsageError("usage: %reload_kernel strict on|off")
        self.controls.strict = _on_off(arguments[0].lower())
        if self.controls.strict:
            print("reload_kernel: strict on; a cell does not run while a module fails to reload")
        else:
            print("reload_kernel: strict off; cells run on the previous version of a module")

    def _exclude(self, arguments: list[str]) -> None:
        if not arguments:
            raise UsageError("usage: %reload_kernel exclude NAME [NAME ...]")
        self.controls.exclude_modules(arguments)
        print(f"reload_kernel: no longer reloading {', '.join(arguments)}")


def _no_arguments(command: str, arguments: list[str]) -> None:
    if arguments:
        raise UsageError(f"%reload_kernel {command} takes no arguments")


def show_reload_now(controls: Controls) -> None:
    """Reload at once and say what happened, even when the answer is "nothing"."""
    # An explicit request deserves an answer, even when reports are off.
    verbosity = max(Verbosity(controls.report), Verbosity.BRIEF, key=_VERBOSITY_ORDER.index)
    text = render(controls.reload_now(), verbosity) or "↻ nothing to reload\n"
    sys.stderr.write(text)
    sys.stderr.flush()


# --- IPython's autoreload -----------------------------------------------------------------


def switch_off_ipython_autoreload(shell: Any, controls: Controls) -> bool:
    """Unregister IPython autoreload's hooks and stand in for its magics.

    Returns True when the extension's hooks were found (it was loaded since the last look).
    Cheap enough to call around every cell: it reads two short callback lists, and nothing at
    all while the extension's module was never imported (its hooks are methods of its class).
    """
    if IPYTHON_AUTORELOAD_MODULE not in sys.modules:
        return False
    found = False
    for event in _AUTORELOAD_EVENTS:
        for callback in list(shell.events.callbacks.get(event, ())):
            owner = getattr(callback, "__self__", None)
            if type(owner).__module__ == IPYTHON_AUTORELOAD_MODULE:
                shell.events.unregister(event, callback)
                found = True
    if found:
        shell.register_magics(AutoreloadStandIns(shell, controls))
    return found


@magics_class
class AutoreloadStandIns(Magics):  # type: ignore[misc]  # IPython is untyped here
    """``%autoreload`` and ``%aimport`` for notebooks written for IPython's autoreload."""

    def __init__(self, shell: Any, controls: Controls) -> None:
        super().__init__(shell)
        self.controls = controls

    @line_magic  # type: ignore[untyped-decorator]
    def autoreload(self, line: str = "") -> None:
        """Kept for notebooks written for IPython's autoreload; this kernel reloads anyway.

        ``%autoreload`` or ``%autoreload now`` reloads now; ``%autoreload 0`` (``off``) pauses
        reloading; ``%autoreload 1|2|3`` (``explicit|all|complete``) resumes it. Options
        such as ``--print`` are accepted and ignored. See ``%reload_kernel?``.
        """
        modes = [word for word in line.split() if not word.startswith("-")]
        mode = (modes[0] if modes else "").lower().removesuffix("-")
        if mode in _AUTORELOAD_MODES_NOW:
            show_reload_now(self.controls)
        elif mode in _AUTORELOAD_MODES_OFF:
            self.controls.pause()
        elif mode in _AUTORELOAD_MODES_ON:
            self.controls.resume()
        else:
            raise UsageError(f'Unrecognized autoreload mode "{mode}".')

    @line_magic  # type: ignore[untyped-decorator]
    def aimport(self, line: str = "") -> None:
        """``%aimport foo, bar as b`` imports modules into the notebook, as IPython's does.

        Every one of your modules is reloaded here, so marking is not needed;
        ``%aimport -foo`` stops reloading ``foo`` (like ``%reload_kernel exclude foo``).
        """
        entries = [entry.strip() for entry in line.split(",") if entry.strip()]
        if not entries:
            print("Modules to reload:\nall-except-skipped (this kernel reloads all your modules)")
            return
        for entry in entries:
            if entry.startswith("-"):
                self.controls.exclude_modules([entry[1:].strip()])
                continue
            name, _, alias = (part.strip() for part in entry.partition(" as "))
            importlib.import_module(name)
            top_name = name.split(".")[0]
            module = sys.modules[name] if alias else sys.modules[top_name]
            shell: Any = self.shell
            shell.push({alias or top_name: module})
