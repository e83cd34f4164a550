"""Kill -9 a writer at random moments and at each phase of a write; verify after every kill.

    python -m stress.kill_ingest --kills 1000          # `make stress`

Prints the counts as JSON: kills tried and survived, writes reported committed, writes
lost (must be 0), partial writes seen (must be 0), and kills per phase.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import answerdb.store.embedded.hnsw as ann_module

from .verify import Model, verify
from .workload import Journal
from .writer import PHASES, PausePoints, Writer

# A phase-targeted writer that has not reached its phase by then is killed anyway.
PHASE_WAIT_S = 3.0


@dataclass
class KillStats:
    """The figures a kill run reports."""

    kills_tried: int = 0
    kills_survived: int = 0
    writes_reported: int = 0
    writes_lost: int = 0
    partial_visible: int = 0
    writer_failures: int = 0
    kills_by_phase: Counter[str] = field(default_factory=Counter)
    in_flight_at_kill: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            **{k: v for k, v in vars(self).items() if not isinstance(v, (Counter, list))},
            "kills_by_phase": dict(sorted(self.kills_by_phase.items())),
            "in_flight_at_kill": dict(sorted(self.in_flight_at_kill.items())),
            "problems": self.problems[:20],
        }


def _writer_child(path: Path, journal: Path, seed: int, prefix: str, points: PausePoints) -> None:
    """Runs in the forked child: writes until killed; a Python error ends it with status 3."""
    try:
        writer = Writer(path, journal, seed, prefix)
        points.install(writer.embedder)
        writer.run()
    except BaseException:
        (path.parent / f"{prefix}.error").write_text(traceback.format_exc())
        os._exit(3)
    os._exit(0)


def _spawn(
    path: Path, journal: Path, seed: int, prefix: str, phase: str | None, nth: int
) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _writer_child(path, journal, seed, prefix, PausePoints(phase, nth, write_fd))
    os.close(write_fd)
    return pid, read_fd


def _wait_for_phase(fd: int, timeout: float) -> bool:
    ready, _, _ = select.select([fd], [], [], timeout)
    return bool(ready) and bool(os.read(fd, 64))


def run_kills(
    workdir: Path, kills: int, seed: int = 0, rounds_per_store: int = 50, max_delay: float = 0.25
) -> KillStats:
    """Kill a writer ``kills`` times; a fresh store every ``rounds_per_store`` kills."""
    # One OpenMP thread: the parent forks writers after using faiss, and a thread pool
    # does not survive a fork.
    ann_module.faiss.omp_set_num_threads(1)
    rng = random.Random(seed)
    stats = KillStats()
    started = time.monotonic()
    for kill in range(kills):
        if kill % rounds_per_store == 0:
            store = workdir / f"store-{kill // rounds_per_store}"
            journal = workdir / f"journal-{kill // rounds_per_store}.jsonl"
            model = Model()
        _one_kill(store, journal, model, rng, kill, max_delay, stats)
    _final_ingest(store, journal, model, rng, stats)
    stats.seconds = round(time.monotonic() - started, 1)
    return stats


def _one_kill(
    store: Path,
    journal: Path,
    model: Model,
    rng: random.Random,
    kill: int,
    max_delay: float,
    stats: KillStats,
) -> None:
    phase = rng.choice([None, None, *PHASES])
    pid, fd = _spawn(store, journal, rng.randrange(2**32), f"k{kill}", phase, rng.randint(1, 3))
    if phase is not None and _wait_for_phase(fd, PHASE_WAIT_S):
        stats.kills_by_phase[phase] += 1
    else:
        time.sleep(rng.uniform(0.0, max_delay))
        stats.kills_by_phase["random"] += 1
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    stats.kills_tried += 1
    if not os.WIFSIGNALED(status):
        stats.writer_failures += 1
        error = store.parent / f"k{kill}.error"
        stats.problems.append(
            f"kill {kill}: writer failed: {error.read_text() if error.exists() else status}"
        )
    _verify(store, journal, model, rng, kill, stats)


def _verify(
    store: Path, journal: Path, model: Model, rng: random.Random, kill: int, stats: KillStats
) -> None:
    try:
        outcome = verify(store, Journal.read(journal), model, rng)
    except Exception as exc:  # the store did not open or search: the worst outcome
        stats.problems.append(f"kill {kill}: reopen failed: {exc!r}")
        return
    stats.writes_reported += outcome.reported
    stats.writes_lost += outcome.lost
    stats.partial_visible += outcome.partial
    stats.in_flight_at_kill[outcome.in_flight or "none"] += 1
    if outcome.problems:
        stats.problems += [f"kill {kill}: {p}" for p in outcome.problems[:5]]
    else:
        stats.kills_survived += 1


def _final_ingest(
    store: Path, journal: Path, model: Model, rng: random.Random, stats: KillStats
) -> None:
    """After the last kill, a writer must finish its writes and leave a store that verifies."""
    writer = Writer(store, journal, rng.randrange(2**32), "final")
    writer.run(ops=10)
    outcome = verify(store, Journal.read(journal), model, rng)
    stats.writes_reported += outcome.reported
    stats.problems += [f"final ingest: {p}" for p in outcome.problems]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the stores for inspection")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="answerdb-kill-"))
    stats = run_kills(workdir, args.kills, seed=args.seed)
    print(json.dumps(stats.to_dict(), indent=2))
    if not args.keep:
        shutil.rmtree(workdir)
    ok = not stats.problems and stats.kills_survived == stats.kills_tried
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
