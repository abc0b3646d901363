"""``python -m reload_kernel``: run the kernel, or ``install`` its kernelspec."""

from __future__ import annotations

import enum
import os
import sys
import textwrap
from typing import Any

USAGE = """\
usage:
  python -m reload_kernel install [--user | --sys-prefix | --prefix PATH] [--name NAME]
                                  [--display-name TEXT] [--env KEY VALUE]... [KERNEL OPTION]...
      Install the "Python (autoreload)" kernelspec, which runs this interpreter.
      Every option: python -m reload_kernel install --help
  python -m reload_kernel [-f CONNECTION_FILE] [KERNEL OPTION]...
      Run the kernel. Jupyter does this with the argv of kernel.json.
  python -m reload_kernel --help-all
      Every option of the IPython kernel it is built on (--IPKernelApp.*, --IPythonKernel.*, ...).
  python -m reload_kernel --version

Kernel options, as --ReloadKernel.NAME=VALUE in kernel.json's argv (or passed to install), or as
c.ReloadKernel.NAME = VALUE in ipython_kernel_config.py:
"""


def usage() -> str:
    """The text of ``python -m reload_kernel --help``: the two commands, then the kernel options."""
    from traitlets import List

    from .kernel import ReloadKernel

    lines = [USAGE]
    for name, trait in sorted(ReloadKernel.class_own_traits(config=True).items()):
        repeat = " (repeat for several)" if isinstance(trait, List) else ""
        lines.append(f"  --ReloadKernel.{name}=...{repeat}  default: {_shown(trait.default())}")
        lines.append(
            textwrap.fill(trait.help, width=100, initial_indent=" " * 6, subsequent_indent=" " * 6)
        )
    return "\n".join(lines) + "\n"


def _shown(default: Any) -> str:
    return str(default.value) if isinstance(default, enum.Enum) else repr(default)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["install"]:
        from .install import main as install_main

        return install_main(args[1:])
    if args[:1] in (["-h"], ["--help"]):
        print(usage(), end="")
        return 0
    if args[:1] == ["--version"]:
        from . import __version__

        print(f"reload_kernel {__version__}")
        return 0
    from .app import launch

    launch(args)
    return 0


if __name__ == "__main__":
    # Like ipykernel_launcher: keep the working directory off sys.path while the kernel's own
    # modules import, so a user's file named like one of them cannot shadow it. IPython puts
    # it back for the user's code.
    if sys.path and sys.path[0] in ("", ".", os.getcwd()):
        del sys.path[0]
    sys.exit(main())
