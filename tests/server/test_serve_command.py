"""`answerdb serve` as installed: its packages come with answerdb, and a missing one is one
line and exit 2, never a traceback."""

from __future__ import annotations

import io
import json
import sys
import tomllib
import warnings
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from answerdb.cli.main import main
from answerdb.server.config import ServerSettings
from answerdb.server.logs import json_logging
from answerdb.server.run import start_lines

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


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.org"])
def test_binding_beyond_loopback_without_a_key_warns(host: str) -> None:
    lines = start_lines("kb", host, 8000, ServerSettings(api_key=None))
    assert any("warning" in line and host in line for line in lines)
    assert not any("warning" in line for line in start_lines("kb", host, 80, ServerSettings("k")))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_warning(host: str) -> None:
    assert not any("warning" in line for line in start_lines("kb", host, 80, ServerSettings()))


def test_access_lines_and_warnings_are_whole_json_lines(read_app: FastAPI) -> None:
    out = io.StringIO()
    with json_logging(out), TestClient(read_app) as client:

        def busy(i: int) -> None:
            client.get("/health")
            warnings.warn(f"a library complains\nover two lines {i}", UserWarning, stacklevel=1)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(busy, range(40)))
    lines = out.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # every line parses on its own
    assert sum(e.get("path") == "/health" for e in entries) == 40
    complaints = [e for e in entries if e.get("logger") == "py.warnings"]
    assert len(complaints) == 40 and all(e["level"] == "warning" for e in complaints)
    assert "over two lines" in complaints[0]["message"]
