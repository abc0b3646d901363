"""``python -m reload_kernel install``: write and install the "Python (autoreload)" kernelspec.

Layered so each step can be tested alone: the kernel's argv → the kernel.json dict → a spec
directory on disk → installation through jupyter_client → the command line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from importlib import resources
from typing import Any

DEFAULT_NAME = "autoreload"
DEFAULT_DISPLAY_NAME = "Python (autoreload)"
LOGO_FILES = ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg")


def kernel_argv(executable: str, options: Sequence[str] = ()) -> list[str]:
    """The command Jupyter runs to start the kernel."""
    return [executable, "-m", "reload_kernel", "-f", "{connection_file}", *options]


def kernel_dict(
    executable: str,
    *,
    display_name: str = DEFAULT_DISPLAY_NAME,
    env: dict[str, str] | None = None,
    options: Sequence[str] = (),
) -> dict[str, Any]:
    """The contents of kernel.json."""
    spec: dict[str, Any] = {
        "argv": kernel_argv(executable, options),
        "display_name": display_name,
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"debugger": True},
    }
    if env:
        spec["env"] = dict(env)
    return spec


def write_kernel_spec(directory: str, spec: dict[str, Any]) -> str:
    """Write kernel.json and the logos into ``directory``; return it."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "kernel.json"), "w", encoding="utf-8") as spec_file:
        json.dump(spec, spec_file, indent=1)
        spec_file.write("\n")
    logos = resources.files("reload_kernel") / "resources"
    for logo in LOGO_FILES:
        with resources.as_file(logos / logo) as source:
            shutil.copyfile(source, os.path.join(directory, logo))
    return directory


def install(
    *,
    user: bool = False,
    prefix: str | None = None,
    name: str = DEFAULT_NAME,
    display_name: str = DEFAULT_DISPLAY_NAME,
    env: dict[str, str] | None = None,
    options: Sequence[str] = (),
    executable: str | None = None,
    kernel_spec_manager: Any = None,
) -> str:
    """Install the kernelspec; return the directory it was installed into."""
    if kernel_spec_manager is None:
        from jupyter_client.kernelspec import KernelSpecManager

        kernel_spec_manager = KernelSpecManager()
    spec = kernel_dict(
        executable or sys.executable, display_name=display_name, env=env, options=options
    )
    with tempfile.TemporaryDirectory() as staging:
        source = write_kernel_spec(os.path.join(staging, name), spec)
        installed: str = kernel_spec_manager.install_kernel_spec(
            source, kernel_name=name, user=user, prefix=prefix
        )
    return installed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reload_kernel install",
        description=(
            "Install the 'Python (autoreload)' kernelspec, which runs this interpreter "
            f"({sys.executable}). Without --user, --sys-prefix or --prefix it installs "
            "system-wide (usually needs root)."
        ),
        epilog=(
            "Extra kernel options: append them after the options above, e.g. "
            "'--ReloadKernel.report=verbose'; they are written into kernel.json's argv."
        ),
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user only")
    where.add_argument(
        "--sys-prefix",
        action="store_true",
        help=f"install into this environment ({sys.prefix})",
    )
    where.add_argument("--prefix", metavar="PATH", help="install into PATH/share/jupyter/kernels")
    parser.add_argument(
        "--name", default=DEFAULT_NAME, help=f"kernelspec name (default: {DEFAULT_NAME})"
    )
    parser.add_argument(
        "--display-name",
        default=DEFAULT_DISPLAY_NAME,
        metavar="TEXT",
        help=f"name shown in launchers and menus (default: {DEFAULT_DISPLAY_NAME!r})",
    )
    parser.add_argument(
        "--env",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="set an environment variable for the kernel (repeatable)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the installer; returns the process exit code."""
    parser = _parser()
    args, options = parser.parse_known_args(argv)
    unknown = [option for option in options if not option.startswith("--ReloadKernel.")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    prefix = sys.prefix if args.sys_prefix else args.prefix
    try:
        directory = install(
            user=args.user,
            prefix=prefix,
            name=args.name,
            display_name=args.display_name,
            env=dict(args.env),
            options=options,
        )
    except OSError as error:
        print(f"error: could not install the kernelspec: {error}", file=sys.stderr)
        return 1
    print(f"Installed kernelspec {args.name!r} ({args.display_name}) in {directory}")
    return 0
