"""What each `answerdb` command does: open the knowledge base, call the facade, print."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

import answerdb
from answerdb.answer.generate import LLMConfig
from answerdb.cli import output
from answerdb.db import AnswerDB
from answerdb.embed import DEFAULT_MODEL
from answerdb.errors import InputError, StoreError
from answerdb.retrieve.fusion import MODES, FusionSettings
from answerdb.retrieve.rerank import RERANK_SUFFIX, Reranker, load_reranker
from answerdb.tools.answer_eval import (
    declined,
    evaluate_answers,
    evaluate_reading,
    load_questions,
    load_rationales,
    load_sections,
)
from answerdb.tools.evaluate import METRICS, BeirSet, cached_kb, compare, evaluate, load_beir
from answerdb.tools.migrate import migrate
from answerdb.where import parse_where

FUSION_OPTIONS = ("dense_weight", "keyword_weight", "rrf_k", "crowding_weight", "question_shift")


@contextmanager
def progress_bar(label: str, unit: str = "passage") -> Iterator[Callable[[int, int], None]]:
    """A tqdm bar on stderr that shows only for jobs longer than a second."""
    bar = tqdm(desc=label, unit=unit, delay=1.0, file=sys.stderr, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


def _open(
    args: argparse.Namespace, readonly: bool = False, model: str | None = None, create: bool = False
) -> AnswerDB:
    """The knowledge base at PATH, with ``model`` or else the one it records; only the commands
    that add documents may ``create`` one (a mistyped path is an error, not a new store)."""
    return answerdb.open(
        args.path,
        model=model,
        readonly=readonly,
        create=create,
        fusion=_fusion(args),
        reranker=_reranker(args),
        min_relevance=getattr(args, "min_relevance", None),
    )


def _reranker(args: argparse.Namespace) -> Reranker | None:
    spec = getattr(args, "reranker", None)
    return load_reranker(spec) if spec else None


def _fusion(args: argparse.Namespace) -> FusionSettings:
    """Ranking settings as the options say; defaults where a command has no such options."""
    given = {key: getattr(args, key, None) for key in FUSION_OPTIONS}
    given["method"] = getattr(args, "fusion", None)
    return FusionSettings(**{key: value for key, value in given.items() if value is not None})


def _where(text: str | None) -> dict[str, Any] | None:
    return parse_where(text, "--where")


def _emit(args: argparse.Namespace, value: Any, text: str) -> int:
    print(output.to_json(value) if args.json else text)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    with _open(args, model=args.model, create=True) as db, progress_bar("embedding") as bar:
        report = db.ingest(
            args.sources, progress=bar, on_error=args.on_error, index_later=args.index_later
        )
        waiting = db.stats().get("index_waiting_rows", 0)
    return _emit(args, report, output.report_text(report) + output.waiting_text(waiting))


def cmd_ask(args: argparse.Namespace) -> int:
    llm = LLMConfig.from_env(args.llm_url, args.llm_model) if args.generate else None
    with _open(args, readonly=True) as db:
        where = _where(args.where)
        answer = db.ask(args.question, args.k, where, args.mode, generate=args.generate, llm=llm)
    note = f"\n\nNote: {answer.note}" if answer.note else ""
    return _emit(args, answer, output.answer_text(answer) + note)


def cmd_serve(args: argparse.Namespace) -> int:
    try:  # the web packages load only when serving
        from answerdb.server.config import ServerSettings
        from answerdb.server.run import serve
    except ImportError as exc:
        missing = exc.name or "a package it needs"
        print(
            f"answerdb: error: serve needs {missing}, which is not installed: "
            "pip install --upgrade answerdb",
            file=sys.stderr,
        )
        return 2

    settings = ServerSettings.from_env(
        llm=LLMConfig.from_env(args.llm_url, args.llm_model),
        protect_reads=args.protect_reads,
        readers=args.readers,
        min_relevance=args.min_relevance,
    )
    serve(args.path, args.host, args.port, settings)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    with _open(args, readonly=True) as db:
        hits = db.search(args.query, k=args.k, where=_where(args.where), mode=args.mode)
    return _emit(args, hits, output.hits_text(hits))


def cmd_related(args: argparse.Namespace) -> int:
    with _open(args, readonly=True) as db:
        items = db.related(args.article_id, k=args.k)
    return _emit(args, items, "\n".join(output.related_lines(items)) or "Nothing related.")


def cmd_delete(args: argparse.Namespace) -> int:
    with _open(args) as db:
        deleted = db.delete(args.doc_ids)
    return _emit(args, {"deleted": deleted}, f"deleted {deleted} of {len(args.doc_ids)}")


def cmd_stats(args: argparse.Namespace) -> int:
    with _open(args, readonly=True) as db:
        stats = db.stats()
    return _emit(args, stats, "\n".join(f"{k:>16}: {v}" for k, v in stats.items()))


def cmd_series(args: argparse.Namespace) -> int:
    with _open(args, readonly=True) as db:
        groups = db.series()
    return _emit(args, groups, output.series_text(groups))


def cmd_compact(args: argparse.Namespace) -> int:
    with _open(args) as db:
        result = db.compact()
    return _emit(args, result, "\n".join(f"{k}: {v}" for k, v in result.items()))


def cmd_reindex(args: argparse.Namespace) -> int:
    with _open(args) as db:
        db.reindex()
        stats = db.stats()
    return _emit(args, stats, f"reindexed {stats['vector_rows']} vectors")


def cmd_import_vectors(args: argparse.Namespace) -> int:
    model = (args.model, args.revision or "unknown") if args.model else None
    sidecar = Path(args.sidecar) if args.sidecar else None
    with _open(args, create=True) as db:
        report = db.import_vectors(Path(args.file), sidecar, model=model)
    text = (
        f"imported {report.vectors} {report.dim}-d vectors from {report.file}"
        f" in {report.seconds:.1f} s ({report.per_second:,.0f} vectors/s, checking included);"
        f" graph built in {report.index_seconds:.1f} s"
    )
    return _emit(args, {**vars(report), "per_second": report.per_second}, text)


def cmd_check(args: argparse.Namespace) -> int:
    with _open_to_check(args) as db:
        report = db.check()
    _emit(args, report.to_dict(), output.check_text(report))
    return 0 if report.ok else 1


def _open_to_check(args: argparse.Namespace) -> AnswerDB:
    """For writing where it can be (the keyword index's full check writes), else read-only: a
    store on a read-only mount is checked, not refused."""
    if not args.read_only:
        try:
            return _open(args)
        except StoreError:
            pass
    return _open(args, readonly=True)


def cmd_repair(args: argparse.Namespace) -> int:
    with _open(args) as db:
        done, report = db.repair()
    text = "\n".join([*done, output.check_text(report)])
    _emit(args, {"done": done, "check": report.to_dict()}, text)
    return 0 if report.ok else 1


def cmd_eval(args: argparse.Namespace) -> int:
    data = load_beir(Path(args.path), split=args.split)
    if args.store and args.rebuild:
        raise InputError("--rebuild works on folders; with --store, drop the collection instead")
    # The cache is keyed by model; a named --kb or --store follows the model it records.
    model = args.model or (None if args.kb or args.store else DEFAULT_MODEL)
    kb = Path(args.kb) if args.kb else cached_kb(data, args.model or DEFAULT_MODEL)
    if args.rebuild and kb.exists():
        _remove_kb(kb)
    reranker = _reranker(args)
    modes = list(MODES) if args.mode == "all" else [args.mode]
    if reranker and args.mode == "all":
        modes.append("hybrid" + RERANK_SUFFIX)
    floor = args.min_relevance
    opened = answerdb.open(
        args.store or kb, model, fusion=_fusion(args), reranker=reranker, min_relevance=floor
    )
    with opened as db:
        if not db.stats()["documents"]:
            with progress_bar(f"building {args.store or kb.name}") as bar:
                db.ingest([data.corpus], progress=bar, on_error="raise")
        rows = [_eval_mode(db, data, mode) for mode in modes]
        answers = [] if args.no_answers else _eval_answers(db, data, args, modes)
        reading = _eval_reading(db, data)
    columns = ["mode", *METRICS, "queries/s"]
    if args.compare:
        rows = compare(rows, _read_run(Path(args.compare)))
        columns += [f"Δ{name}" for name in METRICS]
    result = {"set": data.name, "kb": str(args.store or kb), "results": rows, "answers": answers}
    text = f"{data.name} ({int(rows[0]['queries'])} queries)\n" + output.table(rows, columns)
    if answers:
        text += "\n\nAnswers\n" + output.table(answers, list(answers[0]))
    if reading:
        result["reading"] = [reading]
        text += "\n\nReading\n" + output.table([reading], list(reading))
    if args.save:
        Path(args.save).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return _emit(args, result, text)


def _eval_answers(
    db: AnswerDB, data: BeirSet, args: argparse.Namespace, modes: list[str]
) -> list[dict[str, Any]]:
    """Answer measures for hybrid (with --mode all) or the mode asked."""
    gold = load_rationales(Path(args.path), args.split)
    off = load_questions(Path(args.unanswerable)) if args.unanswerable else []
    rows = []
    for mode in ["hybrid"] if args.mode == "all" else modes:
        with progress_bar(f"{mode} answers", unit="question") as bar:
            row = evaluate_answers(db, data.queries, data.qrels, mode, gold, progress=bar)
        if off:
            row["unanswerable_declined"] = declined(db, off, mode)
        rows.append({"mode": mode, **row})
    return rows


def _eval_reading(db: AnswerDB, data: BeirSet) -> dict[str, float]:
    """Keep Reading and series against the corpus's sections, when it has them."""
    sections = load_sections(data.corpus)
    return evaluate_reading(db, sections) if sections else {}


def cmd_migrate(args: argparse.Namespace) -> int:
    with progress_bar("copying", unit="document") as bar:
        report = migrate(args.source, args.destination, progress=bar)
    text = (
        f"copied {report.copied} documents to {report.destination}"
        f" ({report.skipped} already there from an earlier run)\n"
        f"checked: {report.documents} documents, {report.passages} passages;"
        f" vectors of {report.sampled} documents within {report.max_vector_error:.4f}"
    )
    return _emit(args, report, text)


def _read_run(path: Path) -> dict[str, Any]:
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"--compare: cannot read a saved run from {path} ({exc})") from None
    if not isinstance(run, dict) or not isinstance(run.get("results"), list):
        raise InputError(f"--compare: {path} is not a run saved by `answerdb eval --save`")
    return run


def _eval_mode(db: AnswerDB, data: Any, mode: str) -> dict[str, Any]:
    with progress_bar(f"{mode} queries", unit="query") as bar:
        return {"mode": mode, **evaluate(db, data, mode, progress=bar)}


def _remove_kb(kb: Path) -> None:
    try:
        answerdb.open(kb, readonly=True).close()
    except InputError:
        raise InputError(f"--rebuild: {kb} is not a knowledge base; not removing it") from None
    for item in kb.iterdir():
        item.unlink()
