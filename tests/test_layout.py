"""The distribution's layout: one import namespace, every layer folder packaged and in the layers
contract (README, "Architecture")."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def package_folders() -> dict[str, Path]:
    """Every package the repo's folders hold, by its import name, found by walking package-dir."""
    found: dict[str, Path] = {}
    for name, folder in SETUPTOOLS["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            dotted = ".".join((name, *rel.parts)) if rel.parts else name
            # A folder mapped on its own (streamscope/ holds the core; app/ is streamscope.app) is
            # found from its own mapping, not as a sub-folder of another.
            if dotted not in SETUPTOOLS["package-dir"] or dotted == name:
                found[dotted] = init.parent
    return found


def test_every_package_folder_is_packaged_and_nothing_else() -> None:
    listed = set(SETUPTOOLS["packages"]) - {"streamscope.demo"}  # data only: the bundled recording
    assert set(package_folders()) == listed


def test_every_layer_folder_is_in_the_layers_contract() -> None:
    (contract,) = PYPROJECT["tool"]["importlinter"]["contracts"]
    assert contract["type"] == "layers" and contract["containers"] == ["streamscope"]
    named = {part.strip(" ()") for layer in contract["layers"] for part in layer.replace(":", "|").split("|")}
    layers = {
        name.removeprefix("streamscope.") for name in SETUPTOOLS["package-dir"] if name != "streamscope"
    }
    assert layers <= named
    core = {p.stem if p.is_file() else p.name for p in (ROOT / "streamscope").iterdir()}
    core = {n for n in core if not n.startswith("__") and n != "demo"}
    assert core <= named, f"core modules missing from the bottom layer: {core - named}"


def test_the_wheel_installs_one_top_level_package(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = tmp_path.glob("streamscope-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    name, version = wheel.name.split("-")[:2]
    assert {n.split("/", 1)[0] for n in names} == {"streamscope", f"{name}-{version}.dist-info"}
    for layer in ("app", "api", "capture", "query", "pipelines", "sources", "sinks"):
        assert f"streamscope/{layer}/__init__.py" in names
    assert "streamscope/warehouse/migrations/0001_chat.sql" in names
    assert "streamscope/demo/xqcow_2019-09-15.log" in names
    assert "streamscope/api/static/index.html" in names
