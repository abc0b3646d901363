"""The scenario table's vocabulary and its runner: files before → cells → edit → expected results.

A scenario reads as a user's session:

    Scenario(
        "function-body-edit",
        before={"shapes.py": "def area(r):\\n    return 3 * r * r\\n"},
        cells=["from shapes import area"],
        after={"shapes.py": "def area(r):\\n    return 3.14 * r * r\\n"},
        expect={"area(1)": "3.14"},
    )

``expect`` maps an expression to the ``repr()`` it must have after the edit (``"!TypeError"``:
evaluating it must raise that exception). Many scenarios share one kernel, so every module name
is made unique per scenario: each top-level module or package named by a file of the scenario is
renamed ``s_<scenario id>__<name>`` in every source, cell and expectation (a whole word, not
after a dot: ``shapes`` and ``shapes.area`` are renamed, ``obj.shapes`` is not).

After the edit the runner runs the ``then`` cells, evaluates ``expect`` in one cell, then checks
what every scenario must satisfy:

* the first cell after the edit sees it, and its stderr holds ``stderr`` (the default
  ``RELOADED``: a reload line and no warning; ``QUIET``: nothing at all);
* the cell after that prints nothing (each reload or failure is shown once);
* unless the edit fails to load, every edited module has the names a fresh import of its file
  gives.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from .harness import Cell, Notebook

#: The first cell after the edit says a module was reloaded, and warns of nothing.
RELOADED: tuple[str, ...] = ("↻",)
#: The first cell after the edit prints nothing at all.
QUIET: tuple[str, ...] = ()
WARNING = "⚠"

#: Files written as ``Old(...)`` and ``Restored(...)`` carry this modification time.
AN_HOUR = 3600 * 1_000_000_000


@dataclass(frozen=True)
class Old:
    """A file whose mtime is an hour back (as if saved long ago)."""

    source: str


@dataclass(frozen=True)
class Restored:
    """A file restored from a backup (``cp -p``, ``tar x``): its mtime is that of ``Old`` files."""

    source: str


@dataclass(frozen=True)
class RenamedOver:
    """Saved like editors' "safe write": a new file renamed over the old one."""

    source: str


Before = str | Old
After = str | Restored | RenamedOver | None  # None: the file is deleted


@dataclass(frozen=True)
class Scenario:
    id: str
    before: dict[str, Before]
    cells: list[str]
    after: dict[str, After]
    expect: dict[str, str]
    then: list[str] = field(default_factory=list)
    stderr: tuple[str, ...] = RELOADED
    """Text the first cell after the edit must print on stderr; ``QUIET``: nothing."""
    loads: bool = True
    """False when the edit must fail to load (the module keeps its previous version)."""
    fresh_check: bool = True
    """Compare edited modules' names with a fresh import (off when executing a module again
    has effects the scenario counts)."""

    @property
    def prefix(self) -> str:
        return "s_" + self.id.replace("-", "_") + "__"


def module_stems(scenario: Scenario) -> list[str]:
    """Top-level module and package names the scenario's files define."""
    stems = set()
    for relative in [*scenario.before, *scenario.after]:
        first = relative.split("/")[0]
        stems.add(first.removesuffix(".py"))
    return sorted(stems, key=len, reverse=True)


def rename(text: str, scenario: Scenario) -> str:
    """``text`` with the scenario's module names made unique (see the module docstring)."""
    for stem in module_stems(scenario):
        text = re.sub(rf"(?<![\w.]){re.escape(stem)}\b", scenario.prefix + stem, text)
    return text


def module_name(relative: str, scenario: Scenario) -> str:
    """The (renamed) module a file defines: ``pkg/__init__.py`` → ``s_x__pkg``."""
    parts = rename(relative, scenario).removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class ScenarioRunner:
    """Plays scenarios in one running kernel, each with its own module names.

    If a scenario leaves the kernel dead, the next one gets a new kernel (in a new directory),
    so one failure never turns into many.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._kernels = 0
        self.notebook: Notebook | None = None

    def close(self) -> None:
        if self.notebook is not None:
            self.notebook.stop()
            self.notebook = None

    def _running_notebook(self) -> Notebook:
        if self.notebook is not None and self.notebook.manager.is_alive():
            return self.notebook
        self.close()
        self._kernels += 1
        self.notebook = Notebook(self._root / f"kernel-{self._kernels}").start()
        probe = (Path(__file__).parent / "fresh_probe.py").read_text("utf-8")
        self.notebook.write("_rk_fresh.py", probe)
        return self.notebook

    @property
    def workdir(self) -> Path:
        assert self.notebook is not None
        return self.notebook.workdir

    def play(self, scenario: Scenario) -> None:
        notebook = self._running_notebook()
        notebook.run("%reset -f").check()
        old_mtime_ns = time.time_ns() - AN_HOUR
        for relative, content in scenario.before.items():
            self._save(relative, content, scenario, old_mtime_ns)
        for cell in scenario.cells:
            ran = notebook.run(rename(cell, scenario)).check()
            assert WARNING not in ran.stderr, ran.stderr
        for relative, content in scenario.after.items():
            self._save(relative, content, scenario, old_mtime_ns)
        then = [rename(cell, scenario) for cell in scenario.then]
        first = notebook.run(then[0]).check() if then else None
        for cell in then[1:]:
            notebook.run(cell).check()
        evaluated = notebook.run(self._evaluation_cell(scenario)).check()
        first = first or evaluated
        self._check_first_cell(scenario, first)
        results = json.loads(evaluated.stdout.strip().splitlines()[-1])
        expected = {rename(k, scenario): rename(v, scenario) for k, v in scenario.expect.items()}
        wrong = {
            k: f"{results.get(k)} (expected {v})"
            for k, v in expected.items()
            if results.get(k) != v
        }
        assert not wrong, f"after the edit: {wrong}\nfirst cell's stderr: {first.stderr}"
        if evaluated is not first:
            assert evaluated.stderr == "", "shown twice:\n" + evaluated.stderr
        quiet = notebook.run("None").check()
        assert quiet.stderr == "", "shown twice:\n" + quiet.stderr
        assert quiet.output_types == []
        if scenario.loads and scenario.fresh_check:
            self._check_fresh_import(scenario)

    def _save(self, relative: str, content: Before | After, scenario: Scenario, old: int) -> None:
        path = self.workdir / rename(relative, scenario)
        if content is None:
            path.unlink()
            return
        source = rename(textwrap.dedent(_source_of(content)), scenario)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, RenamedOver):
            temporary = path.with_name(path.name + ".swp")
            temporary.write_text(source, encoding="utf-8")
            os.replace(temporary, path)
        else:
            path.write_text(source, encoding="utf-8")
        if isinstance(content, (Old, Restored)):
            os.utime(path, ns=(old, old))

    @staticmethod
    def _evaluation_cell(scenario: Scenario) -> str:
        expressions = [rename(expression, scenario) for expression in scenario.expect]
        return textwrap.dedent(
            f"""\
            import json as _rk_json
            _rk_results = {{}}
            for _rk_expression in {expressions!r}:
                try:
                    _rk_results[_rk_expression] = repr(eval(_rk_expression))
                except Exception as _rk_error:
                    _rk_results[_rk_expression] = "!" + type(_rk_error).__name__
            print(_rk_json.dumps(_rk_results))
            """
        )

    @staticmethod
    def _check_first_cell(scenario: Scenario, first: Cell) -> None:
        assert "error" not in first.output_types
        if scenario.stderr == QUIET:
            assert first.stderr == "", first.stderr
            return
        for text in scenario.stderr:
            assert rename(text, scenario) in first.stderr, first.stderr
        if not any(WARNING in text for text in scenario.stderr):
            assert WARNING not in first.stderr, first.stderr

    def _check_fresh_import(self, scenario: Scenario) -> None:
        names = [
            module_name(relative, scenario)
            for relative, content in scenario.after.items()
            if content is not None and relative.endswith(".py")
        ]
        assert self.notebook is not None
        cell = self.notebook.run(
            f"import _rk_fresh\nprint(_rk_fresh.json_differences({names!r}))"
        ).check()
        differences = json.loads(cell.stdout)
        assert differences == {}, f"differs from a fresh import: {differences}"


def _source_of(content: Before | After) -> str:
    if isinstance(content, str):
        return content
    assert content is not None
    return content.source
