"""The benchmark's table: the paired difference's interval, and a saved run printed again."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from .benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def run() -> ModuleType:
    return load_benchmark("run.py", "run_benchmark")


def test_the_interval_holds_the_median_and_narrows_with_more_rounds(run: ModuleType) -> None:
    assert run.median_interval([0.001] * 9) is None  # too few rounds to say
    assert run.median_interval([0.002] * 40) == (0.002, 0.002)
    noisy = [0.001 * ((index * 7919) % 13) for index in range(40)]
    low, high = run.median_interval(noisy)
    assert low < statistics.median(noisy) < high
    assert run.median_interval(noisy) == (low, high)  # the same samples, the same table
    low_more, high_more = run.median_interval(noisy * 10)
    assert high_more - low_more < high - low


def test_a_saved_run_prints_its_table_again(
    run: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = [0.800 + 0.001 * (index % 5) for index in range(16)]
    ours = [value + 0.050 for value in plain]
    saved = tmp_path / "run.json"
    saved.write_text(
        json.dumps(
            {
                "samples": {"start": {"plain": plain, "reload_kernel": ours}},
                "facts": {},
                "missed_edits": {"reload_kernel": 0},
            }
        ),
        encoding="utf-8",
    )
    assert run.main(["--report", str(saved)]) == 0
    start_row = next(
        line for line in capsys.readouterr().out.splitlines() if "kernel start" in line
    )
    assert "+50.00 ms (+50.00 to +50.00) | ≤ +100 ms ✓" in start_row


def test_the_switched_idle_row_is_followed_by_its_floor(
    run: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Off against off in the same rounds: how far the measure is from itself."""
    off = [0.0080 + 0.0001 * (index % 3) for index in range(30)]
    saved = tmp_path / "run.json"
    saved.write_text(
        json.dumps(
            {
                "samples": {
                    "idle switched (stack)": {
                        "plain": off,
                        "reload_kernel": [value + 0.00005 for value in off],
                    },
                    "idle switched (stack) A/A": {"plain": [0.00002] * 30},
                },
                "facts": {},
                "missed_edits": {"reload_kernel": 0},
            }
        ),
        encoding="utf-8",
    )
    run.main(["--report", str(saved)])
    lines = capsys.readouterr().out.splitlines()
    switched = next(index for index, line in enumerate(lines) if "cell handling off" in line)
    assert "+0.05 ms (+0.05 to +0.05) | ≤ +0.1 ms ✓" in lines[switched]
    assert "off against off" in lines[switched + 1]
    assert "+0.02 ms (+0.02 to +0.02)" in lines[switched + 1]


@pytest.mark.parametrize(
    ("arguments", "parts_run", "idle_rounds"),
    [
        ([], ["startup", "stack", "many", "heap"], 15),
        (["--only", "idle", "--idle-rounds", "7"], ["idle"], 7),
        (["--only", "heap", "stack"], ["stack", "heap"], 15),
    ],
    ids=["everything", "idle-rows-alone", "two-parts"],
)
def test_the_parts_asked_for_run_with_the_idle_rounds_asked(
    run: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    arguments: list[str],
    parts_run: list[str],
    idle_rounds: int,
) -> None:
    """``--only idle`` times the stack's idle rows alone (``stack`` times them too, so the
    whole benchmark does not run them twice); ``--idle-rounds`` sets how many rounds."""
    ran: list[tuple[str, int]] = []
    for part in ["startup", "stack", "many", "heap", "idle"]:
        monkeypatch.setattr(
            run.Bench,
            part,
            lambda bench, part=part: ran.append((part, bench.sizes.idle_rounds)),
        )
    monkeypatch.setattr(run, "JupyterHome", lambda kinds: SimpleNamespace(cleanup=lambda: None))
    monkeypatch.setattr(run, "_compile_own_bytecode", lambda: None)
    monkeypatch.setattr(run.tempfile, "mkdtemp", lambda prefix: str(tmp_path))

    assert run.main(["--quick", *arguments]) == 0

    assert ran == [(part, idle_rounds) for part in parts_run]
