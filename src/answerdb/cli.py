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
from answerdb import render
from answerdb.db import AnswerDB
from answerdb.errors import AnswerDBError, InputError
from answerdb.evaluate import cache_key, evaluate, load_beir
from answerdb.retrieve.hybrid import MODES

Handler = Callable[[argparse.Namespace], int]


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A tqdm bar on stderr that shows only for jobs longer than a second."""
    bar = tqdm(desc=label, unit="passage", delay=1.0, file=sys.stderr, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


def _open(args: argparse.Namespace, readonly: bool = False) -> AnswerDB:
    path = Path(args.path)
    if readonly and not (path / "catalog.sqlite").exists():
        raise InputError(f"{path}: not a knowledge base (run `answerdb ingest {path} FILES`)")
    return answerdb.open(path, readonly=readonly)


def _where(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--where: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(value, dict):
        raise InputError('--where: expected a JSON object such as {"series": "Video AI"}')
    return value


def _emit(args: argparse.Namespace, value: Any, text: str) -> int:
    print(render.to_json(value) if args.json else text)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    with _open(args) as db, progress_bar("embedding") as bar:
        report = db.ingest(args.sources, progress=bar, on_error=args.on_error)
    return _emit(args, report, render.report_text(report))


def cmd_ask(args: argparse.Namespace) -> int:
    with _open(args, readonly=True) as db:
        answer = db.ask(args.question, k=args.k, where=_where(args.where), mode=args.mode)
    return _emit(args, answer, render.answer_text(answer))


def cmd_search(args: argparse.Namespace) -> int:
    with _open(args, readonly=True) as db:
        hits = db.search(args.query, k=args.k, where=_where(args.where), mode=args.mode)
    return _emit(args, hits, render.hits_text(hits))


def cmd_related(args: argparse.Namespace) -> int:
    with _open(args, readonly=True) as db:
        items = db.related(args.article_id, k=args.k)
    return _emit(args, items, "\n".join(render.related_lines(items)) or "Nothing related.")


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
    return _emit(args, groups, render.series_text(groups))


def cmd_compact(args: argparse.Namespace) -> int:
    with _open(args) as db:
        result = db.compact()
    return _emit(args, result, "\n".join(f"{k}: {v}" for k, v in result.items()))


def cmd_reindex(args: argparse.Namespace) -> int:
    with _open(args) as db:
        db.reindex()
        stats = db.stats()
    return _emit(args, stats, f"reindexed {stats['vector_rows']} vectors")


def cmd_eval(args: argparse.Namespace) -> int:
    data = load_beir(Path(args.path), split=args.split)
    kb = Path(args.kb) if args.kb else _cache_root() / cache_key(data, "default", "int8")
    if args.rebuild and kb.exists():
        _remove_kb(kb)
    modes = list(MODES) if args.mode == "all" else [args.mode]
    with answerdb.open(kb) as db:
        if not db.stats()["documents"]:
            with progress_bar(f"building {kb.name}") as bar:
                db.ingest([data.corpus], progress=bar, on_error="raise")
        rows = [_eval_mode(db, data, mode) for mode in modes]
    columns = ["mode", "ndcg@10", "recall@100", "mrr@10", "queries/s"]
    return _emit(
        args,
        {"set": data.name, "kb": str(kb), "results": rows},
        f"{data.name} ({int(rows[0]['queries'])} queries)\n" + render.table(rows, columns),
    )


def _eval_mode(db: AnswerDB, data: Any, mode: str) -> dict[str, Any]:
    with progress_bar(f"{mode} queries") as bar:
        return {"mode": mode, **evaluate(db, data, mode, progress=bar)}


def _cache_root() -> Path:
    return Path.home() / ".cache" / "answerdb" / "eval"


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
        p.add_argument("path", metavar="PATH", help="the knowledge base folder")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(handler=handler)
        return p

    def retrieval(p: argparse.ArgumentParser, k: int) -> None:
        p.add_argument("-k", type=int, default=k, help=f"how many results (default {k})")
        p.add_argument("--mode", choices=MODES, default="hybrid")
        p.add_argument("--where", help='JSON metadata filter, e.g. \'{"series": "Video AI"}\'')

    p = command("ingest", cmd_ingest, "read files and folders into the knowledge base")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument(
        "--on-error",
        choices=("skip", "raise"),
        default="skip",
        help="skip unreadable files and report them (default), or stop",
    )
    p = command("ask", cmd_ask, "answer a question with citations and Keep Reading")
    p.add_argument("question")
    retrieval(p, 5)
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
    p = command("eval", cmd_eval, "score retrieval on a BEIR folder (corpus, queries, qrels)")
    p.add_argument("--mode", choices=(*MODES, "all"), default="all")
    p.add_argument("--split", default="test")
    p.add_argument("--kb", help="where to keep the corpus's knowledge base (default: a cache)")
    p.add_argument("--rebuild", action="store_true", help="build the knowledge base anew")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors print one line and exit 2, never a traceback."""
    args = build_parser().parse_args(argv)
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
