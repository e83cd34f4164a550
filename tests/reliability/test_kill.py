"""Kill -9 a writer during ingest, at random moments and at each phase of a write.

The thing under test is the store (catalog, vector file, graph), so the writer embeds with a
fast word-hash instead of the model. `make stress` runs the same loop with 1,000 kills.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_twenty_kills_lose_nothing_and_show_nothing_partial() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "stress.kill_ingest", "--kills", "20", "--seed", "7"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    stats = json.loads(run.stdout)
    assert stats["problems"] == [], run.stderr
    assert stats["kills_tried"] == stats["kills_survived"] == 20
    assert stats["writes_lost"] == 0
    assert stats["partial_visible"] == 0
    assert stats["writer_failures"] == 0
    assert stats["writes_reported"] > 20
    # Most kills land on a chosen phase: embedding, torn append, before/after COMMIT, save.
    assert len(stats["kills_by_phase"]) >= 4
    assert run.returncode == 0
