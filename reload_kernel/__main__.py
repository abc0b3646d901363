"""``python -m reload_kernel``: launch the kernel, or ``install`` its kernelspec."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["install"]:
        from .install import main as install_main

        return install_main(args[1:])
    from .app import launch

    launch(args)
    return 0


if __name__ == "__main__":
    # Like ipykernel_launcher: keep the working directory off sys.path while the kernel's own
    # modules import, so a user's file named like one of them cannot shadow it. IPython puts
    # it back for the user's code.
    if sys.path and (sys.path[0] in ("", ".") or sys.path[0] == __import__("os").getcwd()):
        del sys.path[0]
    sys.exit(main())
