"""``python -m reload_kernel install``: write and install the "Python (autoreload)" kernelspec.

Layered so each step can be tested alone: the kernel's argv → the kernel.json dict → a spec
directory on disk → installation into a kernels directory → the command line.

Installing is all or nothing. The spec is written into a hidden staging directory beside its
destination and renamed into place, so a failure leaves no half-written spec and an existing
spec untouched. Nothing is written outside the chosen kernels directory. The library functions
raise :class:`InstallError`; :func:`main` turns it into one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from importlib import resources
from typing import Any

DEFAULT_NAME = "autoreload"
DEFAULT_DISPLAY_NAME = "Python (autoreload)"
PYTHON_OPTIONS = ("-Xfrozen_modules=off",)
LOGO_FILES = ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg")

# jupyter_client accepts letters, digits, ".", "_" and "-" (and lowercases the name). A leading
# letter or digit is our own rule: it keeps "." and ".." out, and our hidden staging names apart.
KERNEL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*", re.IGNORECASE)
# The traitlets command-line form the kernel app understands: --Class.trait=value.
KERNEL_OPTION = re.compile(r"--(?P<section>[A-Za-z_]\w*)\.(?P<trait>[A-Za-z_]\w*)=.*", re.DOTALL)

# A kernelspec is read by every user who runs Jupyter (a classroom's students, for a system-wide
# install), whatever the installer's umask; tempfile.mkdtemp would leave it private (0o700).
SPEC_DIRECTORY_MODE = 0o755
SPEC_FILE_MODE = 0o644


class InstallError(Exception):
    """The kernelspec was not installed; the message says what and why."""


# --- the spec ----------------------------------------------------------------------------------


def kernel_argv(executable: str, options: Sequence[str] = ()) -> list[str]:
    """The command Jupyter runs to start the kernel; ``options`` are kernel options.

    ``-Xfrozen_modules=off`` (ignored before Python 3.11) lets the debugger see the standard
    library's frozen modules and keeps debugpy's warning about them off the kernel's stderr.
    """
    return [executable, *PYTHON_OPTIONS, "-m", "reload_kernel", "-f", "{connection_file}", *options]


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
    """Write kernel.json and the logos into ``directory``, readable by everyone; return it."""
    os.makedirs(directory, exist_ok=True)
    logos = resources.files("reload_kernel") / "resources"
    for logo in LOGO_FILES:
        with resources.as_file(logos / logo) as source:
            shutil.copyfile(source, os.path.join(directory, logo))
    # kernel.json last: until it exists, Jupyter does not take the directory for a kernelspec.
    with open(os.path.join(directory, "kernel.json"), "w", encoding="utf-8") as spec_file:
        json.dump(spec, spec_file, indent=1)
        spec_file.write("\n")
    for file_name in (*LOGO_FILES, "kernel.json"):
        os.chmod(os.path.join(directory, file_name), SPEC_FILE_MODE)
    os.chmod(directory, SPEC_DIRECTORY_MODE)
    return directory


# --- checking what the user asked for ----------------------------------------------------------


def check_kernel_name(name: str) -> str:
    """The kernelspec name as Jupyter will know it (lowercase); InstallError if it is invalid."""
    if not KERNEL_NAME.fullmatch(name):
        raise InstallError(
            f"invalid kernel name {name!r}: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return name.lower()


def check_kernel_options(options: Sequence[str]) -> list[str]:
    """Kernel options to write into kernel.json's argv; InstallError for any the kernel rejects.

    Each must have the form ``--Class.trait=value``. ReloadKernel's options are checked by name
    and value now, the way the kernel will parse them, because a bad one would stop the kernel
    at every start. Options of other classes are passed on as they are.
    """
    reload_kernel_options = []
    for option in options:
        match = KERNEL_OPTION.fullmatch(option)
        if match is None:
            raise InstallError(
                f"unrecognized argument {option!r}: kernel options take the form "
                "--Class.trait=value, e.g. --ReloadKernel.report=verbose"
            )
        if match["section"] == "ReloadKernel":
            reload_kernel_options.append(option)
    if reload_kernel_options:
        _check_reload_kernel_options(reload_kernel_options)
    return list(options)


def _check_reload_kernel_options(options: list[str]) -> None:
    from traitlets import TraitError
    from traitlets.config import Configurable
    from traitlets.config.loader import KVArgParseConfigLoader

    from .kernel import ReloadKernel

    known = ReloadKernel.class_traits(config=True)
    own = ReloadKernel.class_own_traits(config=True)
    own_options = []
    for option in options:
        trait_name = KERNEL_OPTION.fullmatch(option)["trait"]  # type: ignore[index]
        if trait_name not in known:
            raise InstallError(
                f"unknown kernel option {option.partition('=')[0]}: ReloadKernel's options are "
                f"{', '.join(sorted(own))} (see python -m reload_kernel --help)"
            )
        if trait_name in own:
            own_options.append(option)
    # A stand-in class named ReloadKernel with copies of ReloadKernel's own traits: loading the
    # options into it parses and validates them exactly as the kernel will, without starting one.
    # (Traits inherited from IPythonKernel are IPython's to check, when the kernel starts.)
    stand_in = type("ReloadKernel", (Configurable,), {n: copy.copy(t) for n, t in own.items()})
    config = KVArgParseConfigLoader(argv=own_options, classes=[stand_in]).load_config()
    try:
        stand_in(config=config)
    except TraitError as error:
        raise InstallError(f"invalid kernel option: {error}") from error


# --- installing --------------------------------------------------------------------------------


def kernels_directory(
    *, user: bool = False, prefix: str | None = None, kernel_spec_manager: Any = None
) -> str:
    """Where kernelspecs go: the user's, ``prefix``'s, or else the system-wide directory."""
    if user and prefix:
        raise InstallError("choose either the user directory or a prefix, not both")
    if user:
        manager = kernel_spec_manager or _default_kernel_spec_manager()
        return str(manager.user_kernel_dir)
    if prefix:
        return os.path.join(os.path.abspath(prefix), "share", "jupyter", "kernels")
    from jupyter_core.paths import SYSTEM_JUPYTER_PATH

    return os.path.join(SYSTEM_JUPYTER_PATH[0], "kernels")


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
    """Install the kernelspec, replacing one of the same name; return its directory.

    ``executable`` (default: this interpreter) goes into kernel.json's argv as it is, so pass
    an absolute path. ``kernel_spec_manager`` (a jupyter_client KernelSpecManager) says where
    the user's kernelspecs live. Raises InstallError, having changed nothing, when it cannot.
    """
    name = check_kernel_name(name)
    spec = kernel_dict(
        executable or sys.executable,
        display_name=display_name,
        env=env,
        options=check_kernel_options(options),
    )
    kernels = kernels_directory(user=user, prefix=prefix, kernel_spec_manager=kernel_spec_manager)
    destination = os.path.join(kernels, name)
    try:
        os.makedirs(kernels, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{name}-", suffix=".staging", dir=kernels)
    except OSError as error:
        raise InstallError(f"cannot write to {kernels}: {_reason(error)}") from error
    try:
        write_kernel_spec(staging, spec)
        _move_into_place(staging, destination)
    except OSError as error:
        raise InstallError(f"cannot install {destination}: {_reason(error)}") from error
    finally:
        # Only left behind when something failed; it is ours alone, so remove it whatever it holds.
        shutil.rmtree(staging, ignore_errors=True)
    return destination


def _move_into_place(staging: str, destination: str) -> None:
    """Rename the staged spec to ``destination``; an existing one is only removed after that."""
    if not os.path.lexists(destination):
        os.rename(staging, destination)
        return
    # A directory cannot be renamed over a non-empty one: move the old spec aside first, and
    # back again if the new one cannot take its place.
    retired = f"{staging}-replaced"
    os.rename(destination, retired)
    try:
        os.rename(staging, destination)
    except OSError:
        os.rename(retired, destination)
        raise
    try:
        if os.path.isdir(retired) and not os.path.islink(retired):
            shutil.rmtree(retired)
        else:
            os.remove(retired)
    except OSError as error:
        raise InstallError(
            f"installed {destination}, but could not remove the spec it replaced, "
            f"moved to {retired}: {_reason(error)}"
        ) from error


def search_path_note(name: str, destination: str, kernel_spec_manager: Any = None) -> str | None:
    """Why Jupyter would not start the spec just installed at ``destination``, if it would not."""
    manager = kernel_spec_manager or _default_kernel_spec_manager()
    kernels = os.path.dirname(destination)
    if os.path.realpath(kernels) not in {os.path.realpath(d) for d in manager.kernel_dirs}:
        return (
            f"Jupyter does not look in {kernels}: add {os.path.dirname(kernels)} to the "
            "JUPYTER_PATH environment variable so that it finds this kernel"
        )
    found = manager.find_kernel_specs().get(name)
    if found and os.path.realpath(found) != os.path.realpath(destination):
        return (
            f"Jupyter will start the kernelspec {name!r} in {found} instead: it comes first on "
            "Jupyter's search path (remove it, or install under another --name)"
        )
    return None


def _default_kernel_spec_manager() -> Any:
    from jupyter_client.kernelspec import KernelSpecManager

    return KernelSpecManager()


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


# --- the command line --------------------------------------------------------------------------

DESCRIPTION = """\
Install the "Python (autoreload)" kernelspec. Its kernel.json runs this interpreter,
{executable}
so reload_kernel must stay installed here.

Where it goes (a spec of the same name there is replaced):
  --user          {user}
  --sys-prefix    {sys_prefix}
  --prefix PATH   PATH/share/jupyter/kernels (add PATH/share/jupyter to JUPYTER_PATH
                  unless Jupyter searches it already, as it does /usr/local
                  on Linux and macOS)
  none of these   {system} (system-wide: usually needs root)
"""

EPILOG = """\
kernel options:
  Any further --Class.trait=value arguments are written into kernel.json's argv and so
  apply every time the kernel starts, e.g.
    python -m reload_kernel install --user --ReloadKernel.report=verbose
    python -m reload_kernel install --user --ReloadKernel.exclude=bigpackage
  (repeat a list option for several values). ReloadKernel's options are checked now;
  python -m reload_kernel --help lists them.

examples:
  python -m reload_kernel install --user
  python -m reload_kernel install --sys-prefix --name autoreload-dev --display-name "Dev"
  sudo /opt/jupyterhub/bin/python -m reload_kernel install --prefix /usr/local
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reload_kernel install",
        usage="%(prog)s [-h] [--user | --sys-prefix | --prefix PATH] [--name NAME]\n"
        "       [--display-name TEXT] [--env KEY VALUE]... [--Class.trait=value]...",
        description=DESCRIPTION.format(
            executable=sys.executable,
            user=kernels_directory(user=True),
            sys_prefix=kernels_directory(prefix=sys.prefix),
            system=kernels_directory(),
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user only")
    where.add_argument(
        "--sys-prefix", action="store_true", help="install into this Python environment"
    )
    where.add_argument("--prefix", metavar="PATH", help="install under PATH/share/jupyter")
    parser.add_argument(
        "--name",
        default=DEFAULT_NAME,
        help=f"the kernelspec's name, as in 'jupyter console --kernel NAME' "
        f"(default: {DEFAULT_NAME})",
    )
    parser.add_argument(
        "--display-name",
        default=DEFAULT_DISPLAY_NAME,
        metavar="TEXT",
        help=f"the name shown in launchers and menus (default: {DEFAULT_DISPLAY_NAME})",
    )
    parser.add_argument(
        "--env",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="set an environment variable in the kernel (repeatable)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the installer; return the process exit status (0 installed, 1 refused)."""
    args, options = _parser().parse_known_args(argv)
    manager = _default_kernel_spec_manager()
    try:
        destination = install(
            user=args.user,
            prefix=sys.prefix if args.sys_prefix else args.prefix,
            name=args.name,
            display_name=args.display_name,
            env=dict(args.env),
            options=options,
            kernel_spec_manager=manager,
        )
    except InstallError as error:
        hint = ""
        system_wide = not (args.user or args.sys_prefix or args.prefix)
        if system_wide and isinstance(error.__cause__, PermissionError):
            hint = " (without administrator rights, use --user or --sys-prefix)"
        print(f"error: {error}{hint}", file=sys.stderr)
        return 1
    name = os.path.basename(destination)
    print(f"Installed kernelspec {name!r} ({args.display_name}) in {destination}")
    note = search_path_note(name, destination, manager)
    if note:
        print(f"note: {note}", file=sys.stderr)
    return 0
