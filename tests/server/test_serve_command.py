"""`answerdb serve` as installed: its packages come with answerdb, and a missing one is one
line and exit 2, never a traceback."""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from answerdb.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
# Every package the server imports, by import name.
SERVER_IMPORTS = ("fastapi", "uvicorn", "jinja2", "multipart", "markdown_it", "nh3")
SERVER_IMPORTS += ("fastapi_offline", "starlette", "pydantic")


def _requirement_names(requirements: list[str]) -> set[str]:
    names = set()
    for line in requirements:
        name = line.split(";")[0].split("[")[0]
        for sign in "<>=!~ ":
            name = name.split(sign)[0]
        names.add(name.strip().lower().replace("_", "-"))
    return names


def test_serving_needs_no_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = _requirement_names(project["dependencies"])
    # starlette and pydantic come with fastapi; the rest must be named.
    providers = packages_distributions()
    for module in SERVER_IMPORTS[:7]:
        names = {d.lower().replace("_", "-") for d in providers[module]}
        assert names & base, f"{module} ({names}) is not a base dependency"
    assert project["optional-dependencies"]["serve"] == []  # kept for old install lines


def test_a_missing_package_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import answerdb.server

    monkeypatch.setattr(answerdb, "server", answerdb.server)  # put back as it was afterwards
    for name in [m for m in sys.modules if m.startswith("answerdb.server")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if it were not installed
    assert main(["serve", str(tmp_path / "kb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("answerdb: error: serve needs uvicorn")
