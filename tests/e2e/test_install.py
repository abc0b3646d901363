"""Every way to install the kernel, each proven by starting a kernel from the installed spec.

The proof is the seed story (write foo_file.py, ``from foo_file import bar``, edit bar, call it
again) in a kernel that Jupyter started from the spec, plus where that kernel came from. Routes:
pip (from a wheel and from a checkout) into a throwaway environment, and pip uninstall;
``python -m reload_kernel install`` with --user, --sys-prefix, --prefix and each option;
``jupyter kernelspec install`` from a checkout and ``jupyter kernelspec remove``; a classroom
install serving Jupyter in another environment; the default kernel of Jupyter Server; and
``jupyter console --kernel autoreload``. Refusals are checked with a real unprivileged process.

A throwaway environment is a venv that sees this one's packages through a .pth file (so nothing
is downloaded) but not reload_kernel, which is editable-installed here through a .pth that the
throwaway venv does not process.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reload_kernel import __version__

from .harness import CELL_TIMEOUT, Notebook, short_ipc_path
from .seed_story_in_env import seed_story

ROOT = Path(__file__).resolve().parents[2]
CHECKOUT_SPEC = ROOT / "kernelspec" / "autoreload"
DRIVER = Path(__file__).with_name("seed_story_in_env.py")
JUPYTER = str(Path(sys.executable).parent / "jupyter")
SPEC_FILES = ["kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"]
COMMAND_TIMEOUT = 240  # pip builds a wheel; a kernel starts and runs the story
STORY = {"before": "'old'", "after": "'new'"}


def story_of(outcome: dict[str, str]) -> dict[str, str]:
    """What the seed story's two calls of bar() showed, out of a driver's outcome."""
    return {"before": outcome["before"], "after": outcome["after"]}


def run(
    command: list[str],
    *,
    cwd: Path | None = None,
    stdin: str = "",
    timeout: float = COMMAND_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def succeed(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
    """Run a command that must exit 0; fail with its output otherwise (also when it hangs)."""
    try:
        done = run(command, **options)
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"{command} still running after {hung.timeout} s\n{hung.stdout}{hung.stderr}")
    assert done.returncode == 0, f"{command} exited {done.returncode}\n{done.stdout}{done.stderr}"
    return done


def jupyter_kernelspecs(python_or_jupyter: list[str]) -> dict[str, Any]:
    """What ``jupyter kernelspec list --json`` shows, run by the given command prefix."""
    listed = succeed([*python_or_jupyter, "list", "--json"])
    specs: dict[str, Any] = json.loads(listed.stdout)["kernelspecs"]
    return specs


def this_jupyter_kernelspecs() -> dict[str, Any]:
    return jupyter_kernelspecs([JUPYTER, "kernelspec"])


def read_spec(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "kernel.json").read_text(encoding="utf-8"))


def kernels_in(prefix: Path) -> Path:
    return prefix / "share" / "jupyter" / "kernels"


@pytest.fixture(autouse=True)
def private_jupyter_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own user data dir and config dir, and no extra search path."""
    for variable, name in [("JUPYTER_DATA_DIR", "data"), ("JUPYTER_CONFIG_DIR", "config")]:
        (tmp_path / name).mkdir()
        monkeypatch.setenv(variable, str(tmp_path / name))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "no-extra-path"))
    return tmp_path


@pytest.fixture
def socket_path() -> Iterator[str]:
    """A short unix socket path (they are limited to ~100 bytes), removed afterwards."""
    path = short_ipc_path()
    yield path
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def search_first(monkeypatch: pytest.MonkeyPatch, prefix: Path) -> None:
    """Make Jupyter search prefix's kernelspecs before any other (as it does /usr/local's)."""
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))


# --- throwaway environments --------------------------------------------------------------------


@dataclass
class Environment:
    """A throwaway venv seeing this environment's packages, but not reload_kernel."""

    prefix: Path

    @property
    def python(self) -> str:
        return str(self.prefix / "bin" / "python")

    @property
    def site_packages(self) -> Path:
        paths = sysconfig.get_paths(vars={"base": str(self.prefix), "platbase": str(self.prefix)})
        return Path(paths["purelib"])

    @property
    def kernels(self) -> Path:
        return kernels_in(self.prefix)

    def python_command(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """Run this environment's Python, away from the checkout (which is importable from it)."""
        return succeed([self.python, *arguments], cwd=self.prefix)

    def kernelspecs(self) -> dict[str, Any]:
        """``jupyter kernelspec list`` as Jupyter running in this environment sees it."""
        return jupyter_kernelspecs([self.python, "-m", "jupyter_client.kernelspecapp"])

    def seed_story(self, kernel_name: str, workdir: Path) -> dict[str, str]:
        """Start the kernel the way this environment's Jupyter would, and run the seed story."""
        told = self.python_command(str(DRIVER), kernel_name, str(workdir))
        outcome: dict[str, str] = json.loads(told.stdout)
        return outcome

    def can_import_reload_kernel(self) -> bool:
        return run([self.python, "-c", "import reload_kernel"], cwd=self.prefix).returncode == 0


@pytest.fixture
def environment(tmp_path: Path) -> Environment:
    env = Environment(tmp_path / "env")
    # --without-pip: pip, like every other package, comes from this environment via the .pth.
    succeed([sys.executable, "-m", "venv", "--without-pip", str(env.prefix)])
    here = sysconfig.get_paths()
    parent_site_packages = sorted({here["purelib"], here["platlib"]})
    (env.site_packages / "_parent_environment.pth").write_text(
        "".join(f"{path}\n" for path in parent_site_packages), encoding="utf-8"
    )
    assert not env.can_import_reload_kernel()
    return env


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, built once (with hatchling from the test extra, offline)."""
    directory = tmp_path_factory.mktemp("wheel")
    succeed(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
            *("--quiet", "--wheel-dir", str(directory), str(ROOT)),
        ]
    )
    (built,) = directory.glob("reload_kernel-*.whl")
    return built


# --- pip -----------------------------------------------------------------------------------------


def test_wheel_carries_the_kernelspec_as_shared_data(wheel: Path) -> None:
    shared = f"reload_kernel-{__version__}.data/data/share/jupyter/kernels/autoreload/"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert sorted(n for n in names if n.startswith(shared)) == [shared + f for f in SPEC_FILES]
        for file_name in SPEC_FILES:
            assert archive.read(shared + file_name) == (CHECKOUT_SPEC / file_name).read_bytes()
    assert "reload_kernel/__main__.py" in names
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]


@pytest.mark.parametrize("source", ["wheel", "checkout"])
def test_pip_install_registers_a_working_kernel_and_pip_uninstall_removes_it(
    environment: Environment, wheel: Path, tmp_path: Path, source: str
) -> None:
    # "pip install reload-kernel" installs the published wheel; "pip install ." builds one.
    if source == "wheel":
        environment.python_command("-m", "pip", "install", "--no-deps", str(wheel))
    else:
        environment.python_command(
            *("-m", "pip", "install", "--no-deps", "--no-build-isolation", str(ROOT))
        )

    listed = environment.kernelspecs()["autoreload"]
    assert listed["resource_dir"] == str(environment.kernels / "autoreload")
    assert listed["spec"]["display_name"] == "Python (autoreload)"
    assert sorted(os.listdir(listed["resource_dir"])) == SPEC_FILES
    outcome = environment.seed_story("autoreload", tmp_path / "work")
    assert story_of(outcome) == STORY
    assert outcome["python"] == environment.python
    assert Path(outcome["reload_kernel"]).is_relative_to(environment.site_packages)

    environment.python_command("-m", "pip", "uninstall", "--yes", "reload-kernel")

    still_listed = environment.kernelspecs().get("autoreload", {})
    assert still_listed.get("resource_dir") != str(environment.kernels / "autoreload")
    assert not (environment.kernels / "autoreload").exists()


# --- python -m reload_kernel install -----------------------------------------------------------


def install_command(python: str, *arguments: str) -> list[str]:
    return [python, "-m", "reload_kernel", "install", *arguments]


def test_sys_prefix_install_writes_the_environments_interpreter_into_its_spec(
    environment: Environment, wheel: Path, tmp_path: Path
) -> None:
    environment.python_command("-m", "pip", "install", "--no-deps", str(wheel))

    environment.python_command("-m", "reload_kernel", "install", "--sys-prefix")

    spec_dir = environment.kernels / "autoreload"
    assert read_spec(spec_dir)["argv"][0] == environment.python
    assert environment.kernelspecs()["autoreload"]["resource_dir"] == str(spec_dir)
    outcome = environment.seed_story("autoreload", tmp_path / "work")
    assert story_of(outcome) == STORY
    assert outcome["python"] == environment.python


def test_user_install_serves_jupyter_running_in_another_environment(
    environment: Environment, private_jupyter_paths: Path, tmp_path: Path
) -> None:
    succeed(install_command(sys.executable, "--user"))

    spec_dir = private_jupyter_paths / "data" / "kernels" / "autoreload"
    assert read_spec(spec_dir)["argv"][0] == sys.executable
    assert environment.kernelspecs()["autoreload"]["resource_dir"] == str(spec_dir)
    outcome = environment.seed_story("autoreload", tmp_path / "work")
    assert story_of(outcome) == STORY
    assert outcome["python"] == sys.executable


def test_classroom_prefix_install_serves_jupyter_running_in_another_environment(
    environment: Environment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As "sudo /opt/jupyterhub/bin/python -m reload_kernel install --prefix /usr/local", whose
    # share/jupyter every Jupyter searches; here a temp prefix put on JUPYTER_PATH instead.
    prefix = tmp_path / "usr-local"
    succeed(install_command(sys.executable, "--prefix", str(prefix)))
    search_first(monkeypatch, prefix)

    assert environment.kernelspecs()["autoreload"]["resource_dir"] == str(
        kernels_in(prefix) / "autoreload"
    )
    outcome = environment.seed_story("autoreload", tmp_path / "work")
    assert story_of(outcome) == STORY
    assert outcome["python"] == sys.executable


@dataclass(frozen=True)
class Route:
    """Installer arguments (after --prefix), the kernel name they give, and what else to check."""

    arguments: tuple[str, ...]
    kernel_name: str = "autoreload"
    display_name: str = "Python (autoreload)"
    check: Callable[[Notebook], None] | None = None


def kernel_sees_the_environment_variable(notebook: Notebook) -> None:
    assert notebook.value("__import__('os').environ['RELOAD_KERNEL_TEST']") == "'from kernel.json'"


def kernel_reports_verbosely(notebook: Notebook) -> None:
    assert notebook.value("get_ipython().kernel.report") == "'verbose'"


ROUTES = {
    "prefix": Route(()),
    "name": Route(("--name", "reload-dev"), kernel_name="reload-dev"),
    "display-name": Route(("--display-name", "Py (reloads)"), display_name="Py (reloads)"),
    "env": Route(
        ("--env", "RELOAD_KERNEL_TEST", "from kernel.json"),
        check=kernel_sees_the_environment_variable,
    ),
    "kernel-option": Route(("--ReloadKernel.report=verbose",), check=kernel_reports_verbosely),
    "readme-example": Route(
        (
            *("--name", "autoreload-verbose", "--display-name", "Python (autoreload, verbose)"),
            "--ReloadKernel.report=verbose",
        ),
        kernel_name="autoreload-verbose",
        display_name="Python (autoreload, verbose)",
        check=kernel_reports_verbosely,
    ),
}


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_installer_option_reaches_the_kernel(
    route: Route, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = tmp_path / "prefix"
    succeed(install_command(sys.executable, "--prefix", str(prefix), *route.arguments))
    search_first(monkeypatch, prefix)

    spec_dir = kernels_in(prefix) / route.kernel_name
    assert read_spec(spec_dir)["argv"][0] == sys.executable
    listed = this_jupyter_kernelspecs()[route.kernel_name]
    assert (listed["resource_dir"], listed["spec"]["display_name"]) == (
        str(spec_dir),
        route.display_name,
    )
    with Notebook(tmp_path / "work", kernel_name=route.kernel_name) as notebook:
        assert seed_story(notebook) == STORY
        if route.check is not None:
            route.check(notebook)


# --- refusals, by a process that really lacks the permission ----------------------------------


def unprivileged(command: list[str]) -> list[str]:
    """The command without the power to write where file permissions forbid it.

    root ignores permission bits through the DAC capabilities; dropping them from the bounding
    set before exec makes it obey them like any user.
    """
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "read-only"
    directory.mkdir()
    directory.chmod(0o555)
    yield directory
    directory.chmod(0o755)  # so that pytest can clean it up


def test_installer_refuses_a_prefix_it_cannot_write_in_one_line(read_only_dir: Path) -> None:
    refused = run(unprivileged(install_command(sys.executable, "--prefix", str(read_only_dir))))

    assert (refused.returncode, refused.stdout) == (1, "")
    kernels = kernels_in(read_only_dir)
    assert refused.stderr == f"error: cannot write to {kernels}: Permission denied\n"
    assert list(read_only_dir.iterdir()) == []


def test_installer_refuses_system_wide_without_permission_in_one_line(
    read_only_dir: Path,
) -> None:
    # The real command line, with Jupyter's system directory moved to a place we can test.
    system = read_only_dir / "jupyter"
    as_system_wide_install = (
        "import jupyter_core.paths, sys; "
        f"jupyter_core.paths.SYSTEM_JUPYTER_PATH[0] = {str(system)!r}; "
        "from reload_kernel.__main__ import main; sys.exit(main(['install']))"
    )

    refused = run(unprivileged([sys.executable, "-c", as_system_wide_install]))

    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        f"error: cannot write to {system / 'kernels'}: Permission denied "
        "(without administrator rights, use --user or --sys-prefix)\n"
    )
    assert list(read_only_dir.iterdir()) == []


# --- jupyter kernelspec install / remove -------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    [("--user", "--name", "autoreload-checkout"), ("--prefix", "{prefix}")],
    ids=["user", "prefix"],
)
def test_jupyter_kernelspec_install_from_a_checkout_runs_jupyters_python(
    where: tuple[str, ...],
    private_jupyter_paths: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = tmp_path / "prefix"
    arguments = [argument.format(prefix=prefix) for argument in where]
    succeed([JUPYTER, "kernelspec", "install", str(CHECKOUT_SPEC), *arguments])
    if "--prefix" in where:
        search_first(monkeypatch, prefix)
        kernel_name, spec_dir = "autoreload", kernels_in(prefix) / "autoreload"
    else:
        kernel_name = "autoreload-checkout"
        spec_dir = private_jupyter_paths / "data" / "kernels" / kernel_name

    assert this_jupyter_kernelspecs()[kernel_name]["resource_dir"] == str(spec_dir)
    with Notebook(tmp_path / "work", kernel_name=kernel_name) as notebook:
        assert seed_story(notebook) == STORY
        # kernel.json says "python": Jupyter ran its own interpreter.
        assert notebook.value("__import__('sys').executable") == repr(sys.executable)


def test_jupyter_kernelspec_remove_uninstalls_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = tmp_path / "prefix"
    succeed(install_command(sys.executable, "--prefix", str(prefix)))
    search_first(monkeypatch, prefix)
    spec_dir = kernels_in(prefix) / "autoreload"
    assert this_jupyter_kernelspecs()["autoreload"]["resource_dir"] == str(spec_dir)

    succeed([JUPYTER, "kernelspec", "remove", "autoreload"], stdin="y\n")

    assert not spec_dir.exists()
    still_listed = this_jupyter_kernelspecs().get("autoreload", {})
    assert still_listed.get("resource_dir") != str(spec_dir)


# --- using it: jupyter console, and the default kernel of Jupyter Server ------------------------


def test_jupyter_console_runs_the_seed_story(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, socket_path: str
) -> None:
    prefix = tmp_path / "prefix"
    succeed(install_command(sys.executable, "--prefix", str(prefix)))
    search_first(monkeypatch, prefix)
    work = tmp_path / "work"
    work.mkdir()
    # The user's edits, typed as cells: a piped console reads one line per cell.
    cells = [
        "open('foo_file.py', 'w').write('def bar():\\n    return \"old\"\\n')",
        "from foo_file import bar",
        "bar()",
        "open('foo_file.py', 'w').write('def bar():\\n    return \"new\"\\n')",
        "bar()",
    ]

    console = succeed(
        [
            *(JUPYTER, "console", "--kernel", "autoreload", "--simple-prompt"),
            *("--transport=ipc", f"--ip={socket_path}"),
        ],
        cwd=work,
        stdin="".join(f"{cell}\n" for cell in cells),
        timeout=CELL_TIMEOUT * 1.5,  # (below pytest's timeout: a hang then shows the output)
    )

    assert "Out[3]: 'old'" in console.stdout
    assert "Out[5]: 'new'" in console.stdout


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over the unix socket a Jupyter Server listens on (no TCP port to race for)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


@dataclass
class JupyterServer:
    socket_path: str
    token: str

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        connection = UnixHTTPConnection(self.socket_path, timeout=CELL_TIMEOUT)
        try:
            connection.request(
                method,
                path,
                body=None if body is None else json.dumps(body),
                headers={"Authorization": f"token {self.token}"},
            )
            response = connection.getresponse()
            text = response.read().decode()
            assert response.status < 300, f"{method} {path}: {response.status} {text}"
            return json.loads(text) if text else None
        finally:
            connection.close()


def wait_until_serving(process: subprocess.Popen[bytes], socket_path: str, log: Path) -> None:
    """Wait until the server accepts connections on its unix socket; fail if it exits first.

    Jupyter Server binds its socket in the first callback of its event loop, after it logs
    "is running at", and logs nothing once it has: all there is to watch is the socket.
    """
    deadline = time.monotonic() + CELL_TIMEOUT * 2
    while True:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(socket_path)
                return
            except (FileNotFoundError, ConnectionRefusedError):
                pass
        problem = "exited" if process.poll() is not None else "timed out"
        if problem == "exited" or time.monotonic() > deadline:
            raise AssertionError(f"Jupyter Server {problem}:\n{log.read_text()}")
        time.sleep(0.05)


@pytest.fixture
def start_jupyter_server(
    tmp_path: Path, socket_path: str
) -> Iterator[Callable[..., JupyterServer]]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(*arguments: str) -> JupyterServer:
        assert not processes, "one Jupyter Server per test: they would share the socket path"
        server = JupyterServer(socket_path=socket_path, token="reload-kernel-test")
        (tmp_path / "root").mkdir(exist_ok=True)
        log = tmp_path / "server.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [
                    *(JUPYTER, "server", "--no-browser", "--allow-root"),
                    *("--sock", server.socket_path, f"--IdentityProvider.token={server.token}"),
                    *arguments,
                ],
                cwd=tmp_path / "root",
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        wait_until_serving(process, server.socket_path, log)
        return server

    yield start
    for process in processes:
        process.terminate()  # Jupyter Server shuts its kernels down on SIGTERM
        try:
            process.wait(timeout=CELL_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=CELL_TIMEOUT)


@pytest.mark.parametrize("how", ["config-file", "command-line"])
def test_default_kernel_of_jupyter_server(
    how: str,
    start_jupyter_server: Callable[..., JupyterServer],
    private_jupyter_paths: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = tmp_path / "prefix"
    succeed(install_command(sys.executable, "--prefix", str(prefix)))
    search_first(monkeypatch, prefix)
    option = "MultiKernelManager.default_kernel_name"
    if how == "config-file":
        config = private_jupyter_paths / "config" / "jupyter_server_config.py"
        config.write_text(f'c.{option} = "autoreload"\n', encoding="utf-8")
        server = start_jupyter_server()
    else:
        server = start_jupyter_server(f"--{option}=autoreload")

    assert server.request("GET", "/api/kernelspecs")["default"] == "autoreload"
    started = server.request("POST", "/api/kernels", {})
    assert started["name"] == "autoreload"
    server.request("DELETE", f"/api/kernels/{started['id']}")
