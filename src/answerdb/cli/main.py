"""The `answerdb` command: the same facade as the Python API, for the shell."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

import answerdb
from answerdb.answer.generate import LLMConfig
from answerdb.cli import output
from answerdb.db import AnswerDB
from answerdb.embed import DEFAULT_MODEL, MODELS
from answerdb.errors import AnswerDBError, InputError
from answerdb.retrieve.fusion import MODES, FusionSettings
from answerdb.retrieve.rerank import RERANK_SUFFIX, Reranker, load_reranker
from answerdb.store.embedded.check import report_text
from answerdb.store.uri import parse_store_uri
from answerdb.tools.evaluate import METRICS, cached_kb, compare, evaluate, load_beir
from answerdb.tools.import_vectors import import_vectors
from answerdb.tools.migrate import migrate
from answerdb.where import parse_where

Handler = Callable[[argparse.Namespace], int]
STORE_HELP = "the knowledge base as a store URI: milvus-lite:kb.db, milvus://host:19530/name"
MIGRATE_HELP = "copy a knowledge base to a new store, vectors included (resumable, checked)"
MODEL_HELP = f"embedding model of a new knowledge base (default {DEFAULT_MODEL}; docs/models.md)"
RERANKER_HELP = "a re-ranker to import (an object with score(query, passages), or its class)"
CROWDING_HELP = "dense scores lose this times a passage's crowding (0.3; 0 turns it off)"
QUESTION_HELP = "weight a question moves from the keyword list to the dense list (0.1)"
FUSION_OPTIONS = ("dense_weight", "keyword_weight", "rrf_k", "crowding_weight", "question_shift")
SEARCH_MODES = (*MODES, *(mode + RERANK_SUFFIX for mode in MODES))
EVAL_MODEL_HELP = (
    f"embedding model to build the corpus with (default {DEFAULT_MODEL}, one cache per model;"
    " with --kb or --store, the model it records)"
)


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


def _open(args: argparse.Namespace, readonly: bool = False, model: str | None = None) -> AnswerDB:
    """The knowledge base at PATH, with ``model`` or else the one it records."""
    uri = parse_store_uri(args.path)
    path = Path(uri.location)
    if uri.backend == "embedded" and readonly and not (path / "catalog.sqlite").exists():
        raise InputError(f"{path}: not a knowledge base (run `answerdb ingest {path} FILES`)")
    return answerdb.open(
        args.path, model=model, readonly=readonly, fusion=_fusion(args), reranker=_reranker(args)
    )


def _reranker(args: argparse.Namespace) -> Reranker | None:
    spec = getattr(args, "reranker", None)
    return load_reranker(spec) if spec else None


def _fusion(args: argparse.Namespace) -> FusionSettings:
    """Ranking settings as the options say; defaults where a command has no such options."""
    given = {key: getattr(args, key, None) for key in FUSION_OPTIONS}
    given["method"] = getattr(args, "fusion", None)
    return FusionSettings(**{key: value for key, value in given.items() if value is not None})


def _store_as_path(argv: list[str]) -> list[str]:
    """``COMMAND --store URI ...`` means ``COMMAND URI ...``: the URI takes PATH's place."""
    for i, arg in enumerate(argv):
        if arg == "--store" and i + 1 < len(argv):
            value, rest = argv[i + 1], argv[:i] + argv[i + 2 :]
        elif arg.startswith("--store="):
            value, rest = arg.split("=", 1)[1], argv[:i] + argv[i + 1 :]
        else:
            continue
        at = next((j for j, a in enumerate(rest) if not a.startswith("-")), None)
        if at is None or rest[at] in ("eval", "migrate"):  # these take --store themselves
            return argv
        return [*rest[: at + 1], value, *rest[at + 1 :]]
    return argv


def _where(text: str | None) -> dict[str, Any] | None:
    return parse_where(text, "--where")


def _emit(args: argparse.Namespace, value: Any, text: str) -> int:
    print(output.to_json(value) if args.json else text)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    with _open(args, model=args.model) as db, progress_bar("embedding") as bar:
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
    from answerdb.server.config import ServerSettings  # the serve extra, only when serving
    from answerdb.server.run import serve

    settings = ServerSettings.from_env(
        llm=LLMConfig.from_env(args.llm_url, args.llm_model),
        protect_reads=args.protect_reads,
        readers=args.readers,
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
    with _open(args) as db:
        report = import_vectors(db.store, Path(args.file), sidecar, model=model)
    text = (
        f"imported {report.vectors} {report.dim}-d vectors from {report.file}"
        f" in {report.seconds:.1f} s ({report.per_second:,.0f} vectors/s, checking included);"
        f" graph built in {report.index_seconds:.1f} s"
    )
    return _emit(args, {**vars(report), "per_second": report.per_second}, text)


def cmd_check(args: argparse.Namespace) -> int:
    _open(args, readonly=True).close()  # refuses a folder that is not a knowledge base
    with answerdb.open(Path(args.path), readonly=args.read_only) as db:
        report = db.check()
    _emit(args, report.to_dict(), report_text(report))
    return 0 if report.ok else 1


def cmd_repair(args: argparse.Namespace) -> int:
    _open(args, readonly=True).close()
    with _open(args) as db:
        done, report = db.repair()
    text = "\n".join([*done, report_text(report)])
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
    with answerdb.open(args.store or kb, model, fusion=_fusion(args), reranker=reranker) as db:
        if not db.stats()["documents"]:
            with progress_bar(f"building {args.store or kb.name}") as bar:
                db.ingest([data.corpus], progress=bar, on_error="raise")
        rows = [_eval_mode(db, data, mode) for mode in modes]
    columns = ["mode", *METRICS, "queries/s"]
    if args.compare:
        rows = compare(rows, _read_run(Path(args.compare)))
        columns += [f"Δ{name}" for name in METRICS]
    result = {"set": data.name, "kb": str(args.store or kb), "results": rows}
    if args.save:
        Path(args.save).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return _emit(
        args,
        result,
        f"{data.name} ({int(rows[0]['queries'])} queries)\n" + output.table(rows, columns),
    )


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
    if not (kb / "catalog.sqlite").exists():
        raise InputError(f"--rebuild: {kb} is not a knowledge base; not removing it")
    for item in kb.iterdir():
        item.unlink()


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand with its options."""
    parser = argparse.ArgumentParser(prog="answerdb", description=__doc__)
    parser.add_argument("--version", action="version", version=answerdb.__version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("path", metavar="PATH", help="the knowledge base folder or store URI")
        if name != "eval":  # eval's PATH is the data set; its --store replaces --kb
            p.add_argument("--store", metavar="URI", help=STORE_HELP + " (instead of PATH)")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(handler=handler)
        return p

    def retrieval(p: argparse.ArgumentParser, k: int) -> None:
        p.add_argument("-k", type=int, default=k, help=f"how many results (default {k})")
        p.add_argument("--mode", choices=SEARCH_MODES, default="hybrid")
        p.add_argument("--where", help='JSON metadata filter, e.g. \'{"series": "Video AI"}\'')
        fusion_options(p)

    def fusion_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--fusion", choices=("convex", "rrf"), help="hybrid fusion (default convex)")
        p.add_argument("--dense-weight", type=float, help="weight of the dense list (0.6)")
        p.add_argument("--keyword-weight", type=float, help="weight of the keyword list (0.4)")
        p.add_argument("--rrf-k", type=int, help="k of reciprocal rank fusion (60)")
        p.add_argument("--crowding-weight", type=float, help=CROWDING_HELP)
        p.add_argument("--question-shift", type=float, help=QUESTION_HELP)
        p.add_argument("--reranker", metavar="MODULE:NAME", help=RERANKER_HELP)

    p = command("ingest", cmd_ingest, "read files and folders into the knowledge base")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument(
        "--on-error",
        choices=("skip", "raise"),
        default="skip",
        help="skip unreadable files and report them (default), or stop",
    )
    p.add_argument("--model", choices=MODELS, help=MODEL_HELP)
    p.add_argument(
        "--index-later",
        action="store_true",
        help="leave a large ingest's rows out of the ANN graph until `answerdb reindex`: the "
        "ingest runs at the model's pace, searches scan those rows exactly meanwhile",
    )

    def llm(p: argparse.ArgumentParser) -> None:
        p.add_argument("--llm-url", help="OpenAI-compatible API base (or ANSWERDB_LLM_URL)")
        p.add_argument("--llm-model", help="model name to ask for (or ANSWERDB_LLM_MODEL)")

    p = command("ask", cmd_ask, "answer a question with citations and Keep Reading")
    p.add_argument("question")
    retrieval(p, 5)
    p.add_argument("--generate", action="store_true", help="let the LLM write the answer")
    llm(p)
    p = command("serve", cmd_serve, "serve reference pages and a JSON API over HTTP")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--readers", type=int, default=4, help="concurrent read handles")
    p.add_argument("--protect-reads", action="store_true", help="reads need the API key too")
    llm(p)
    p = command("search", cmd_search, "search passages")
    p.add_argument("query")
    retrieval(p, 10)
    p = command("related", cmd_related, "Keep Reading for an article")
    p.add_argument("article_id")
    p.add_argument("-k", type=int, default=5)
    p = command("delete", cmd_delete, "delete documents by id")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    command("stats", cmd_stats, "counts, sizes and the recorded model")
    command("series", cmd_series, "list the learn series and their articles")
    command("compact", cmd_compact, "give the space of deleted passages back")
    command("reindex", cmd_reindex, "rebuild the ANN index from the stored vectors")
    p = command("import-vectors", cmd_import_vectors, "add precomputed embeddings (.npy, .parquet)")
    p.add_argument("file", metavar="FILE", help="vectors.npy (with vectors.jsonl) or .parquet")
    p.add_argument("--sidecar", help="the .npy file's JSON Lines of ids (default: FILE.jsonl)")
    p.add_argument("--model", help="name of the model that made them (default: the default)")
    p.add_argument("--revision", help="that model's revision, recorded with its name")
    p = command("check", cmd_check, "verify catalog, vectors and index agree (exit 1 on errors)")
    p.add_argument(
        "--read-only", action="store_true", help="open read-only (skips the keyword-index check)"
    )
    command("repair", cmd_repair, "rebuild keyword index and graph from the catalog")
    p = command("eval", cmd_eval, "score retrieval on a BEIR folder (corpus, queries, qrels)")
    p.add_argument("--mode", choices=(*SEARCH_MODES, "all"), default="all")
    p.add_argument("--split", default="test")
    p.add_argument("--kb", help="where to keep the corpus's knowledge base (default: a cache)")
    p.add_argument("--rebuild", action="store_true", help="build the knowledge base anew")
    p.add_argument("--store", metavar="URI", help=STORE_HELP + " (instead of --kb)")
    p.add_argument("--model", choices=MODELS, help=EVAL_MODEL_HELP)
    fusion_options(p)
    p.add_argument("--save", metavar="FILE", help="write this run as JSON, to --compare later")
    p.add_argument("--compare", metavar="FILE", help="show changes against a saved run")
    p = sub.add_parser("migrate", help=MIGRATE_HELP, description=MIGRATE_HELP)
    p.add_argument("source", metavar="SRC", help="folder or store URI to copy from")
    p.add_argument("destination", metavar="DST", help="new folder or store URI to copy to")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_migrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors print one line and exit 2, never a traceback."""
    args = build_parser().parse_args(_store_as_path(list(sys.argv[1:] if argv is None else argv)))
    try:
        return int(args.handler(args))
    except AnswerDBError as exc:
        print(f"answerdb: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader (say, `| head`) stopped reading
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("answerdb: interrupted; committed batches are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
