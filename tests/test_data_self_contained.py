"""The tests and benchmarks run from a fresh clone: their recorded data is ``tests/data`` in the repo.

No file of tests/, bench/, scripts/ or .ci/ (``tests/data`` itself aside) may name a data folder
beside the checkout, and every data folder under ``tests/data`` carries the ``SOURCES.md`` with the
origin and license of its files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import data

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SCANNED = ("tests", "bench", "scripts", ".ci")
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
# Built from pieces so that this file does not match itself: the parent's "shared" folder, its
# "data" folder, and that path joined in code (a "/" or "," between the quoted names).
SHARED = "shared"
OUTSIDE = re.compile(
    "|".join(
        (
            re.escape(f"../{SHARED}"),
            re.escape(f"{SHARED}/data"),
            rf"[\"']{SHARED}[\"']\s*[/,]\s*[\"']data[\"']",
        )
    )
)


def scanned_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts):
                continue
            if path.is_relative_to(DATA):
                continue
            files.append(path)
    return files


def test_no_file_reads_data_beside_the_checkout() -> None:
    files = scanned_files()
    assert ROOT / "tests" / "data.py" in files and Path(__file__).resolve() in files
    hits = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert hits == [], "data outside the repo is named; use tests/data (tests.data):\n" + "\n".join(hits)


def test_the_pattern_catches_the_old_paths() -> None:
    for line in (
        f'DATA = Path(__file__).parents[1].parent / "{SHARED}" / "data"',
        f'os.path.join(here, "..", "..", "{SHARED}", "data", "irc")',
        f"recorded frames of ../{SHARED}/data/eventsub",
        f"``{SHARED}/data/irc/recorded/*.log``",
    ):
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search("tests/data/irc/recorded/xqcow_2019-09-15.log")
    assert not OUTSIDE.search("the shared chat notice of a shared client")


@pytest.mark.parametrize("folder", sorted(p.name for p in DATA.iterdir() if p.is_dir()))
def test_every_data_folder_has_its_sources(folder: str) -> None:
    sources = DATA / folder / "SOURCES.md"
    assert sources.is_file(), f"tests/data/{folder} has no SOURCES.md (origin and license of its files)"
    assert sources.read_text(encoding="utf-8").strip()


def test_data_files_lie_in_a_folder_with_sources() -> None:
    loose = [p.name for p in DATA.iterdir() if p.is_file() and p.name != "README.md"]
    assert loose == [], "files directly in tests/data have no SOURCES.md; put them in a data folder"
    assert any(p.is_dir() for p in DATA.iterdir())


def test_tests_data_points_inside_the_repo() -> None:
    paths = {name: value for name, value in vars(data).items() if isinstance(value, Path)}
    assert {"DATA", "IRC", "EVENTSUB", "HELIX", "VOD", "XQCOW", "PAJLADA"} <= paths.keys()
    for name, path in paths.items():
        assert path.is_relative_to(DATA), f"tests.data.{name} = {path} is outside tests/data"
        assert path.exists(), f"tests.data.{name} = {path} does not exist"
