"""bench/ask.py end to end on the demo and a small corpus knowledge base: both print ratios."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DATA = ROOT.parent / "shared" / "data" / "beir"


@pytest.mark.skipif(not (DATA / "scifact").is_dir(), reason="needs the shared BEIR data")
def test_bench_times_ask_beside_search(tmp_path: Path, demo_kb: Path) -> None:
    demo = tmp_path / "demo"
    shutil.copytree(demo_kb, demo)
    out = tmp_path / "result.json"
    command = [
        sys.executable, str(ROOT / "bench" / "ask.py"), "--demo-kb", str(demo),
        "--passages", "800", "--questions", "6", "--data", str(DATA), "--json", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=os.environ)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(out.read_text())
    for row in rows.values():
        assert row["ask_p50_ms"] > 0 and row["search_p50_ms"] > 0 and row["ask/search p50"] > 0
    assert rows["large"]["passages"] >= 800
