"""Which files are the user's: the standard library and installed packages are not, links are
followed to where the file really is, and ``include`` brings an installed package in."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from reload_kernel.engine import usercode
from reload_kernel.engine.usercode import UserCodePolicy


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pretend interpreter: ``lib/python3`` is its standard library (with a site-packages
    inside, as a system Python has), ``home`` is a user's checkout."""
    root = tmp_path.resolve()
    stdlib = root / "lib" / "python3"
    for directory in (stdlib / "json", stdlib / "site-packages" / "pkg", root / "home" / "src"):
        directory.mkdir(parents=True)
    monkeypatch.setattr(usercode, "_library_roots", lambda: (str(stdlib),))
    return root


def touch(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x = 1\n", encoding="utf-8")
    return str(path)


def test_the_standard_library_and_installed_packages_are_not_user_code(tree: Path) -> None:
    policy = UserCodePolicy()
    assert not policy.is_user_path(touch(tree / "lib/python3/json/decoder.py"))
    assert not policy.is_user_path(touch(tree / "lib/python3/site-packages/pkg/core.py"))
    assert not policy.is_user_path(touch(tree / "venv/lib/site-packages/other/__init__.py"))
    assert policy.is_user_path(touch(tree / "home/src/analysis.py"))
    assert not policy.is_user_path(touch(tree / "home/src/native.so"))


def test_an_included_package_is_user_code_wherever_it_is_installed(tree: Path) -> None:
    policy = UserCodePolicy(include=["pkg"])
    assert policy.is_user_path(touch(tree / "lib/python3/site-packages/pkg/core.py"))
    assert policy.is_user_path(touch(tree / "lib/python3/site-packages/pkg/__init__.py"))
    assert not policy.is_user_path(touch(tree / "lib/python3/site-packages/pkgx/core.py"))


def test_links_into_site_packages_lead_to_the_users_files(tree: Path) -> None:
    """``flit install --symlink`` links a module file, or a package directory, into
    site-packages: they are the user's files, edited in the checkout."""
    site = tree / "lib/python3/site-packages"
    (site / "single.py").symlink_to(touch(tree / "home/src/single.py"))
    touch(tree / "home/src/mypkg/__init__.py")
    (site / "mypkg").symlink_to(tree / "home/src/mypkg")
    policy = UserCodePolicy()
    assert policy.is_user_path(str(site / "single.py"))
    assert policy.is_user_path(str(site / "mypkg/__init__.py"))
    assert not policy.is_user_path(touch(site / "pkg/core.py"))


def test_a_link_to_an_installed_package_leads_out_of_user_code(tree: Path) -> None:
    installed = touch(tree / "lib/python3/site-packages/pkg/core.py")
    (tree / "home/src/vendored").symlink_to(Path(installed).parent)
    (tree / "home/src/core_link.py").symlink_to(installed)
    policy = UserCodePolicy()
    assert not policy.is_user_path(str(tree / "home/src/vendored/core.py"))
    assert not policy.is_user_path(str(tree / "home/src/core_link.py"))


def test_a_link_in_the_standard_library_is_the_systems_own(tree: Path) -> None:
    """Debian's ``sitecustomize.py`` links to a file in /etc: not the user's code."""
    (tree / "lib/python3/sitecustomize.py").symlink_to(touch(tree / "etc/sitecustomize.py"))
    assert not UserCodePolicy().is_user_path(str(tree / "lib/python3/sitecustomize.py"))


def test_paths_that_are_not_normalised_are_classified_by_where_they_lead(tree: Path) -> None:
    touch(tree / "home/src/analysis.py")
    touch(tree / "lib/python3/json/decoder.py")
    policy = UserCodePolicy()
    assert policy.is_user_path(str(tree / "home/other/../src/./analysis.py"))
    assert not policy.is_user_path(str(tree / "home/src/../../lib/python3/json/decoder.py"))


def test_verdicts_match_resolving_every_path_in_full(tree: Path) -> None:
    """Random trees of directories, files and links (to directories and to files, chained,
    some dangling): the verdict is the one resolving the whole path with ``realpath`` gives
    (the policy resolves each directory once, from its parent's resolution)."""
    stdlib = str(tree / "lib/python3")
    rng = random.Random(20261126)
    for trial in range(20):
        base = tree / "random" / str(trial)
        bases = [base / "home", tree / "lib/python3" / f"t{trial}", base / "site-packages"]
        directories = [b / f"d{index}" for b in bases for index in range(3)]
        files = []
        for directory in directories:
            for index in range(2):
                files.append(touch(directory / f"m{index}.py"))
        for index in range(8):
            link = rng.choice(directories) / f"link{index}"
            target = rng.choice([*directories, *map(Path, files), link.with_name("nowhere")])
            name = link.name + (".py" if target.suffix == ".py" else "")
            if not link.with_name(name).exists():
                link.with_name(name).symlink_to(target)
        candidates = sorted(path for b in bases for path in _python_files(b, depth=3))
        policy = UserCodePolicy()
        verdicts = {path: policy.is_user_path(path) for path in candidates}
        expected = {path: _verdict_in_full(path, stdlib) for path in candidates}
        assert verdicts == expected, json.dumps(
            {path: verdicts[path] for path in candidates if verdicts[path] != expected[path]}
        )


def _python_files(directory: Path, depth: int) -> list[str]:
    """The ``.py`` paths below ``directory``, through links, ``depth`` levels deep (links may
    make cycles)."""
    found = []
    for entry in sorted(os.scandir(directory), key=lambda entry: entry.name):
        if entry.name.endswith(".py"):
            found.append(entry.path)
        elif depth > 0 and entry.is_dir():
            found.extend(_python_files(Path(entry.path), depth - 1))
    return found


def _verdict_in_full(path: str, stdlib: str) -> bool:
    """The rule, spelled out once per path: where the file really is decides."""
    directory = os.path.realpath(os.path.dirname(path))
    parts = directory.split(os.sep)
    in_site_packages = "site-packages" in parts or "dist-packages" in parts
    if (directory + os.sep).startswith(stdlib + os.sep) and not in_site_packages:
        return False  # the standard library's own directories, links there included
    real_parts = os.path.realpath(path).split(os.sep)
    if "site-packages" in real_parts or "dist-packages" in real_parts:
        return False
    return not os.path.realpath(path).startswith(stdlib + os.sep)
