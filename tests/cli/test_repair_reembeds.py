"""`answerdb repair` embeds lost vectors again with the model the knowledge base records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from answerdb.cli.main import main


def test_repair_embeds_a_lost_row_again_with_the_recorded_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Tides\n\nThe moon pulls the sea into tides twice a day.\n", encoding="utf-8")
    kb = tmp_path / "kb"
    assert main(["ingest", str(kb), str(note)]) == 0
    vectors = kb / "vectors-g0.int8"
    original = np.fromfile(vectors, dtype=np.uint8)
    with open(vectors, "r+b") as fh:
        fh.truncate(0)
    capsys.readouterr()
    assert main(["search", str(kb), "tides", "--mode", "dense"]) == 2
    assert "answerdb repair" in capsys.readouterr().err
    assert main(["repair", str(kb)]) == 0
    out = capsys.readouterr().out
    assert "again with all-MiniLM-L6-v2" in out and "check: ok" in out
    remade = np.fromfile(vectors, dtype=np.uint8)
    assert np.abs(remade.astype(int) - original.astype(int)).max() <= 1
    assert main(["search", str(kb), "tides", "--mode", "dense"]) == 0
    assert "moon" in capsys.readouterr().out
