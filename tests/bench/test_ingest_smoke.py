"""bench/ingest.py end to end on a six-record corpus: every side runs and the table prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench" / "ingest.py"


def test_bench_runs_and_reports(tmp_path: Path) -> None:
    corpus = tmp_path / "beir"
    corpus.mkdir()
    records = [
        {"_id": str(i), "title": f"Finding {i}", "text": f"Cells of type {i} divide slowly."}
        for i in range(8)
    ]
    (corpus / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    out = tmp_path / "result.json"
    command = [
        sys.executable, str(BENCH), "--corpus", str(corpus), "--docs", "6", "--files", "2",
        "--rounds", "1", "--threads", "1", "--batched", "--json", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["documents"] == 6 and report["passages"] == 6
    assert set(report["median"]) == {"model", "model_batched", "ingest", "store"}
    assert report["ratio_model_to_ingest"] > 0 and report["median"]["store"]["cores_busy"] > 0
    assert "ingest end to end" in done.stdout and "store alone" in done.stdout
