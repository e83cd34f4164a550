"""bench/ann.py end to end on 2,000 small vectors: it builds, measures and prints its table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench" / "ann.py"


def test_bench_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    command = [
        sys.executable, str(BENCH), "--synthetic", "2000", "--dim", "32", "--queries", "50",
        "--engines", "answerdb,faiss-hnsw", "--point-seconds", "0.5",
        "--work", str(tmp_path / "work"), "--json", str(out),
    ]  # fmt: skip
    env_home = {"HOME": str(tmp_path)}  # the truth cache goes under this test's folder
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env={**_env(), **env_home}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    ours = report["results"]["answerdb"]
    assert "skipped" not in ours, ours
    assert ours["bytes_per_vector"] == 32  # int8 rows; 2,000 rows are scanned: no graph
    assert ours["max_recall"] > 0.8
    assert set(ours["filtered"]) == {"50%", "10%", "1%", "0.1%"}
    assert "ratio_to_answerdb" in report["results"]["faiss-hnsw"]
    assert "qps@0.95" in done.stdout


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
