"""The installer, layer by layer: argv → kernel.json → spec directory → install → command line.

These run no kernel (tests/e2e/test_install.py launches kernels from installed specs). Every spec
is written under a temp dir; the user's and the system's directories come from an injected
KernelSpecManager or a patched path, never the real ones.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpecManager

from reload_kernel import __main__ as module_main
from reload_kernel import install as installer
from reload_kernel.install import (
    DEFAULT_DISPLAY_NAME,
    DEFAULT_NAME,
    LOGO_FILES,
    InstallError,
    check_kernel_name,
    check_kernel_options,
    install,
    kernel_argv,
    kernel_dict,
    kernels_directory,
    main,
    search_path_note,
    write_kernel_spec,
)
from reload_kernel.kernel import ReloadKernel

ROOT = Path(__file__).resolve().parents[1]
CHECKOUT_SPEC = ROOT / "kernelspec" / "autoreload"
PACKAGED_LOGOS = ROOT / "reload_kernel" / "resources"
SPEC_FILES = sorted(["kernel.json", *LOGO_FILES])
PYTHON = "/opt/python/bin/python3"


@pytest.fixture
def manager(tmp_path: Path) -> KernelSpecManager:
    """A KernelSpecManager whose user directory and search path are both under tmp_path."""
    data_dir = tmp_path / "user-data"
    return KernelSpecManager(data_dir=str(data_dir), kernel_dirs=[str(data_dir / "kernels")])


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    return tmp_path / "prefix"


def kernels_in(prefix: Path) -> Path:
    return prefix / "share" / "jupyter" / "kernels"


def read_spec(directory: Path | str) -> dict[str, Any]:
    return json.loads((Path(directory) / "kernel.json").read_text(encoding="utf-8"))


def tree(root: Path) -> list[str]:
    """Every path under root, relative, sorted: what an install left behind."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


# --- kernel_argv and kernel_dict ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), [PYTHON, "-Xfrozen_modules=off", "-m", "reload_kernel", "-f", "{connection_file}"]),
        (
            ("--ReloadKernel.report=VERBOSE", "--ReloadKernel.exclude=big"),
            [
                *(PYTHON, "-Xfrozen_modules=off", "-m", "reload_kernel", "-f", "{connection_file}"),
                *("--ReloadKernel.report=VERBOSE", "--ReloadKernel.exclude=big"),
            ],
        ),
    ],
    ids=["no-options", "options-after-the-connection-file"],
)
def test_kernel_argv_runs_the_module_on_the_connection_file(
    options: tuple[str, ...], expected: list[str]
) -> None:
    assert kernel_argv(PYTHON, options) == expected


def test_kernel_dict_is_a_python_kernel_with_the_debugger() -> None:
    assert kernel_dict(PYTHON, display_name="Reloading") == {
        "argv": kernel_argv(PYTHON),
        "display_name": "Reloading",
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"debugger": True},
    }


@pytest.mark.parametrize(
    ("env", "has_env"), [(None, False), ({}, False), ({"A": "1"}, True)], ids=str
)
def test_kernel_dict_has_env_only_when_some_is_given(
    env: dict[str, str] | None, has_env: bool
) -> None:
    assert ("env" in kernel_dict(PYTHON, env=env)) is has_env
    if has_env:
        assert kernel_dict(PYTHON, env=env)["env"] == env


def test_checkout_kernelspec_is_the_spec_for_the_launching_python() -> None:
    # Jupyter replaces an argv[0] of "python" with its own interpreter.
    assert read_spec(CHECKOUT_SPEC) == kernel_dict("python")


@pytest.mark.parametrize("logo", LOGO_FILES)
def test_checkout_kernelspec_logos_are_the_packaged_logos(logo: str) -> None:
    assert (CHECKOUT_SPEC / logo).read_bytes() == (PACKAGED_LOGOS / logo).read_bytes()


# --- write_kernel_spec -------------------------------------------------------------------------


def test_write_kernel_spec_writes_kernel_json_and_the_logos(tmp_path: Path) -> None:
    spec = kernel_dict(PYTHON, env={"A": "1"})

    directory = write_kernel_spec(str(tmp_path / "spec"), spec)

    assert sorted(os.listdir(directory)) == SPEC_FILES
    assert read_spec(directory) == spec
    for logo in LOGO_FILES:
        assert (Path(directory) / logo).read_bytes() == (PACKAGED_LOGOS / logo).read_bytes()


@pytest.fixture
def private_umask() -> Iterator[None]:
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("private_umask")
def test_written_spec_is_readable_by_everyone_whatever_the_umask(tmp_path: Path) -> None:
    directory = Path(write_kernel_spec(str(tmp_path / "spec"), kernel_dict(PYTHON)))

    assert stat.S_IMODE(directory.stat().st_mode) == 0o755
    assert {name: stat.S_IMODE((directory / name).stat().st_mode) for name in SPEC_FILES} == {
        name: 0o644 for name in SPEC_FILES
    }


# --- checking names and options ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "installed_as"),
    [
        ("autoreload", "autoreload"),
        ("py3.11_reload-dev", "py3.11_reload-dev"),
        ("AutoReload", "autoreload"),
    ],
    ids=["default", "all-allowed-characters", "uppercase-lowered-like-jupyter"],
)
def test_check_kernel_name_gives_the_name_jupyter_will_use(name: str, installed_as: str) -> None:
    assert check_kernel_name(name) == installed_as


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", ".hidden", "-dash", "a/b", "two words", "café"],
    ids=["empty", "dot", "dot-dot", "leading-dot", "leading-dash", "slash", "space", "accent"],
)
def test_check_kernel_name_refuses_names_jupyter_or_the_filesystem_would_misread(
    name: str,
) -> None:
    with pytest.raises(InstallError, match="invalid kernel name"):
        check_kernel_name(name)


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--ReloadKernel.report=verbose"],
        ["--ReloadKernel.report=off", "--ReloadKernel.enabled=False"],
        ["--ReloadKernel.exclude=big", "--ReloadKernel.exclude=huge.sub"],
        ["--ReloadKernel.stop_on_error_timeout=0.5"],
        ["--IPKernelApp.matplotlib=inline"],
    ],
    ids=[
        "none",
        "report-verbose",
        "report-off-and-disabled",
        "repeated-list-option",
        "inherited-trait-of-the-kernel",
        "other-class",
    ],
)
def test_check_kernel_options_accepts_what_the_kernel_accepts(options: list[str]) -> None:
    assert check_kernel_options(options) == options


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--usr", "unrecognized argument '--usr'"),
        ("verbose", "unrecognized argument 'verbose'"),
        ("--ReloadKernel.report", "take the form --Class.trait=value"),
        ("--ReloadKernel.reprot=brief", "unknown kernel option --ReloadKernel.reprot"),
        ("--ReloadKernel.report=loud", "invalid kernel option: .*'report' trait"),
        ("--ReloadKernel.enabled=maybe", "invalid kernel option: .*'enabled' trait"),
    ],
    ids=["typo-flag", "bare-word", "no-value", "unknown-trait", "bad-enum", "bad-bool"],
)
def test_check_kernel_options_refuses_what_would_stop_the_kernel(option: str, message: str) -> None:
    with pytest.raises(InstallError, match=message):
        check_kernel_options([option])


def test_unknown_option_message_lists_reload_kernels_own_options() -> None:
    with pytest.raises(InstallError) as refused:
        check_kernel_options(["--ReloadKernel.reprot=brief"])

    for name in ReloadKernel.class_own_traits(config=True):
        assert name in str(refused.value)


# --- kernels_directory -------------------------------------------------------------------------


def test_user_kernels_directory_is_the_managers(manager: KernelSpecManager) -> None:
    assert kernels_directory(user=True, kernel_spec_manager=manager) == manager.user_kernel_dir


def test_prefix_kernels_directory_is_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert kernels_directory(prefix="env") == str(kernels_in(tmp_path / "env"))


def test_system_kernels_directory_is_jupyters_first_system_path() -> None:
    from jupyter_core.paths import SYSTEM_JUPYTER_PATH

    assert kernels_directory() == os.path.join(SYSTEM_JUPYTER_PATH[0], "kernels")


def test_user_and_prefix_together_are_refused(prefix: Path) -> None:
    with pytest.raises(InstallError, match="not both"):
        kernels_directory(user=True, prefix=str(prefix))


# --- install -----------------------------------------------------------------------------------


def test_install_into_prefix_writes_the_spec_with_the_given_interpreter(prefix: Path) -> None:
    destination = install(
        prefix=str(prefix),
        executable=PYTHON,
        display_name="Reloading",
        env={"A": "1"},
        options=["--ReloadKernel.report=off"],
    )

    assert destination == str(kernels_in(prefix) / DEFAULT_NAME)
    assert read_spec(destination) == kernel_dict(
        PYTHON, display_name="Reloading", env={"A": "1"}, options=["--ReloadKernel.report=off"]
    )
    assert tree(kernels_in(prefix)) == [DEFAULT_NAME] + [
        f"{DEFAULT_NAME}/{name}" for name in SPEC_FILES
    ]


def test_install_runs_this_interpreter_by_default(prefix: Path) -> None:
    destination = install(prefix=str(prefix))

    assert read_spec(destination)["argv"][0] == sys.executable


def test_install_for_the_user_writes_into_the_managers_user_directory(
    manager: KernelSpecManager,
) -> None:
    destination = install(user=True, name="mine", kernel_spec_manager=manager)

    assert destination == os.path.join(manager.user_kernel_dir, "mine")
    assert manager.find_kernel_specs()["mine"] == destination


def test_install_names_the_spec_as_jupyter_will(prefix: Path) -> None:
    destination = install(prefix=str(prefix), name="AutoReload-Dev")

    assert os.path.basename(destination) == "autoreload-dev"


def test_install_replaces_an_existing_spec_entirely(prefix: Path) -> None:
    old = install(prefix=str(prefix), display_name="Old")
    (Path(old) / "stale.txt").write_text("from the old spec", encoding="utf-8")

    new = install(prefix=str(prefix), display_name="New")

    assert new == old
    assert read_spec(new)["display_name"] == "New"
    assert sorted(os.listdir(new)) == SPEC_FILES
    assert os.listdir(kernels_in(prefix)) == [DEFAULT_NAME]


def test_install_replaces_a_symlinked_spec_without_touching_its_target(
    prefix: Path, tmp_path: Path
) -> None:
    elsewhere = Path(write_kernel_spec(str(tmp_path / "elsewhere"), kernel_dict("python")))
    kernels_in(prefix).mkdir(parents=True)
    (kernels_in(prefix) / DEFAULT_NAME).symlink_to(elsewhere)

    destination = install(prefix=str(prefix), executable=PYTHON)

    assert not os.path.islink(destination)
    assert read_spec(destination)["argv"][0] == PYTHON
    assert read_spec(elsewhere)["argv"][0] == "python"


def failing_copy(*args: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_install_failing_midway_leaves_nothing_behind(
    prefix: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(installer.shutil, "copyfile", failing_copy)

    with pytest.raises(InstallError, match="No space left on device"):
        install(prefix=str(prefix))

    assert os.listdir(kernels_in(prefix)) == []


def test_install_failing_midway_keeps_the_existing_spec(
    prefix: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = install(prefix=str(prefix), display_name="Old")
    monkeypatch.setattr(installer.shutil, "copyfile", failing_copy)

    with pytest.raises(InstallError):
        install(prefix=str(prefix), display_name="New")

    assert read_spec(old)["display_name"] == "Old"
    assert sorted(os.listdir(old)) == SPEC_FILES
    assert os.listdir(kernels_in(prefix)) == [DEFAULT_NAME]


def test_install_puts_the_old_spec_back_when_the_new_one_cannot_take_its_place(
    prefix: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = install(prefix=str(prefix), display_name="Old")
    real_rename = os.rename

    def rename_refusing_the_new_spec(source: str, target: str) -> None:
        if source.endswith(".staging") and target == old:
            raise OSError(errno.EBUSY, "Device or resource busy")
        real_rename(source, target)

    monkeypatch.setattr(installer.os, "rename", rename_refusing_the_new_spec)

    with pytest.raises(InstallError, match="busy"):
        install(prefix=str(prefix), display_name="New")

    assert read_spec(old)["display_name"] == "Old"
    assert os.listdir(kernels_in(prefix)) == [DEFAULT_NAME]


def test_install_below_a_file_refuses_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")

    with pytest.raises(InstallError, match=r"cannot write to .*a-file.*: Not a directory"):
        install(prefix=str(tmp_path / "a-file" / "prefix"))

    assert tree(tmp_path) == ["a-file"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "a/b"}, "invalid kernel name"),
        ({"options": ["--ReloadKernel.report=loud"]}, "invalid kernel option"),
    ],
    ids=["bad-name", "bad-option"],
)
def test_install_checks_everything_before_writing(
    prefix: Path, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InstallError, match=message):
        install(prefix=str(prefix), **arguments)

    assert not prefix.exists()


# --- search_path_note --------------------------------------------------------------------------


def test_note_when_jupyter_does_not_search_the_directory(
    prefix: Path, manager: KernelSpecManager
) -> None:
    destination = install(prefix=str(prefix))

    note = search_path_note(DEFAULT_NAME, destination, manager)

    assert note is not None
    assert f"add {prefix / 'share' / 'jupyter'} to the JUPYTER_PATH" in note


def test_note_when_a_spec_of_the_same_name_comes_first(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for kernels in (first, second):
        write_kernel_spec(str(kernels / DEFAULT_NAME), kernel_dict(PYTHON))
    manager = KernelSpecManager(kernel_dirs=[str(first), str(second)])

    note = search_path_note(DEFAULT_NAME, str(second / DEFAULT_NAME), manager)

    assert note is not None
    assert f"will start the kernelspec 'autoreload' in {first / DEFAULT_NAME} instead" in note


def test_no_note_when_jupyter_finds_the_installed_spec(manager: KernelSpecManager) -> None:
    destination = install(user=True, kernel_spec_manager=manager)

    assert search_path_note(DEFAULT_NAME, destination, manager) is None


# --- main: the installer's command line --------------------------------------------------------


def test_main_installs_and_says_where(prefix: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--prefix", str(prefix)]) == 0

    destination = kernels_in(prefix) / DEFAULT_NAME
    out, err = capsys.readouterr()
    assert out == f"Installed kernelspec 'autoreload' ({DEFAULT_DISPLAY_NAME}) in {destination}\n"
    assert err.startswith("note: Jupyter does not look in")
    assert read_spec(destination)["argv"][0] == sys.executable


def test_main_sys_prefix_installs_into_this_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))

    assert main(["--sys-prefix"]) == 0

    assert read_spec(kernels_in(tmp_path / "env") / DEFAULT_NAME)["argv"][0] == sys.executable


def test_main_user_installs_into_jupyters_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))

    assert main(["--user", "--name", "mine"]) == 0

    assert read_spec(tmp_path / "data" / "kernels" / "mine")["argv"][0] == sys.executable


def test_main_writes_name_display_name_env_and_kernel_options_into_the_spec(
    prefix: Path,
) -> None:
    status = main(
        [
            *("--prefix", str(prefix), "--name", "reloading", "--display-name", "Reloading"),
            *("--env", "A", "1", "--env", "B", "two words"),
            *("--ReloadKernel.report=off", "--ReloadKernel.exclude=big"),
        ]
    )

    assert status == 0
    assert read_spec(kernels_in(prefix) / "reloading") == kernel_dict(
        sys.executable,
        display_name="Reloading",
        env={"A": "1", "B": "two words"},
        options=["--ReloadKernel.report=off", "--ReloadKernel.exclude=big"],
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--usr"], "error: unrecognized argument '--usr': "),
        (["--name", "a/b"], "error: invalid kernel name 'a/b': "),
        (["--ReloadKernel.report=loud"], "error: invalid kernel option: "),
        (["--ReloadKernel.reprot=off"], "error: unknown kernel option --ReloadKernel.reprot: "),
    ],
    ids=["unknown-argument", "bad-name", "bad-option-value", "unknown-option"],
)
def test_main_refuses_in_one_line_and_writes_nothing(
    prefix: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert main(["--prefix", str(prefix), *arguments]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert not prefix.exists()


def test_main_refuses_an_unwritable_prefix_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")

    assert main(["--prefix", str(tmp_path / "a-file")]) == 1

    out, err = capsys.readouterr()
    kernels = kernels_in(tmp_path / "a-file")
    assert (out, err) == ("", f"error: cannot write to {kernels}: Not a directory\n")


def test_main_suggests_a_user_install_when_system_wide_is_not_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    system = tmp_path / "system"
    monkeypatch.setattr("jupyter_core.paths.SYSTEM_JUPYTER_PATH", [str(system)])

    def permission_denied(path: str, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(installer.os, "makedirs", permission_denied)

    assert main([]) == 1

    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        f"error: cannot write to {system / 'kernels'}: Permission denied "
        "(without administrator rights, use --user or --sys-prefix)\n",
    )


def test_main_refuses_two_places_at_once_as_a_usage_error(
    prefix: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--user", "--prefix", str(prefix)])

    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert not prefix.exists()


def test_install_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])

    assert exited.value.code == 0
    text = capsys.readouterr().out
    for explained in [
        "--user",
        "--sys-prefix",
        "--prefix PATH",
        "--name NAME",
        "--display-name TEXT",
        "--env KEY VALUE",
        "--ReloadKernel.report=verbose",
        "JUPYTER_PATH",
        sys.executable,
    ]:
        assert explained in text


# --- python -m reload_kernel -------------------------------------------------------------------


def test_module_help_shows_both_commands_and_every_kernel_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert module_main.main(["--help"]) == 0

    text = capsys.readouterr().out
    assert "python -m reload_kernel install [--user | --sys-prefix | --prefix PATH]" in text
    assert "python -m reload_kernel [-f CONNECTION_FILE] [KERNEL OPTION]..." in text
    assert "python -m reload_kernel --help-all" in text
    for name, trait in ReloadKernel.class_own_traits(config=True).items():
        assert f"--ReloadKernel.{name}=" in text
        assert " ".join(trait.help.split()[:4]) in text


def test_module_help_is_printed_by_the_module_itself() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "reload_kernel", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (shown.returncode, shown.stderr) == (0, "")
    assert shown.stdout == module_main.usage()


def test_module_install_runs_the_installer(prefix: Path) -> None:
    assert module_main.main(["install", "--prefix", str(prefix)]) == 0

    assert read_spec(kernels_in(prefix) / DEFAULT_NAME)["argv"][0] == sys.executable


def test_module_version(capsys: pytest.CaptureFixture[str]) -> None:
    from reload_kernel import __version__

    assert module_main.main(["--version"]) == 0

    assert capsys.readouterr().out == f"reload_kernel {__version__}\n"
