"""The `answerdb` command: the same facade as the Python API, for the shell (its options here,
what each command does in commands.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import answerdb
from answerdb.cli import commands
from answerdb.embed import DEFAULT_MODEL, MODELS
from answerdb.errors import AnswerDBError
from answerdb.retrieve.fusion import MODES
from answerdb.retrieve.rerank import RERANK_SUFFIX

Handler = Callable[[argparse.Namespace], int]
STORE_HELP = "the knowledge base as a store URI: milvus-lite:kb.db, milvus://host:19530/name"
MIGRATE_HELP = "copy a knowledge base to a new store, vectors included (resumable, checked)"
MODEL_HELP = f"embedding model of a new knowledge base (default {DEFAULT_MODEL}; docs/models.md)"
RERANKER_HELP = "a re-ranker to import (an object with score(query, passages), or its class)"
CROWDING_HELP = "dense scores lose this times a passage's crowding (0.3; 0 turns it off)"
MIN_RELEVANCE_HELP = (
    "below this cosine of the nearest passage, say there is no good answer (default: measured"
    " per model, 0.35 for MiniLM; lower answers more off-topic questions, higher declines more)"
)
QUESTION_HELP = "weight a question moves from the keyword list to the dense list (0.1)"
SEARCH_MODES = (*MODES, *(mode + RERANK_SUFFIX for mode in MODES))
EVAL_MODEL_HELP = (
    f"embedding model to build the corpus with (default {DEFAULT_MODEL}, one cache per model;"
    " with --kb or --store, the model it records)"
)


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

    p = command("ingest", commands.cmd_ingest, "read files and folders into the knowledge base")
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

    p = command("ask", commands.cmd_ask, "answer a question with citations and Keep Reading")
    p.add_argument("question")
    retrieval(p, 5)
    p.add_argument("--generate", action="store_true", help="let the LLM write the answer")
    p.add_argument("--min-relevance", type=float, metavar="COSINE", help=MIN_RELEVANCE_HELP)
    llm(p)
    p = command("serve", commands.cmd_serve, "serve reference pages and a JSON API over HTTP")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--readers", type=int, default=4, help="concurrent read handles")
    p.add_argument("--protect-reads", action="store_true", help="reads need the API key too")
    p.add_argument("--min-relevance", type=float, metavar="COSINE", help=MIN_RELEVANCE_HELP)
    llm(p)
    p = command("search", commands.cmd_search, "search passages")
    p.add_argument("query")
    retrieval(p, 10)
    p = command("related", commands.cmd_related, "Keep Reading for an article")
    p.add_argument("article_id")
    p.add_argument("-k", type=int, default=5)
    p = command("delete", commands.cmd_delete, "delete documents by id")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    command("stats", commands.cmd_stats, "counts, sizes and the recorded model")
    command("series", commands.cmd_series, "list the learn series and their articles")
    command("compact", commands.cmd_compact, "give the space of deleted passages back")
    command("reindex", commands.cmd_reindex, "rebuild the ANN index from the stored vectors")
    p = command(
        "import-vectors", commands.cmd_import_vectors, "add precomputed embeddings (.npy, .parquet)"
    )
    p.add_argument("file", metavar="FILE", help="vectors.npy (with vectors.jsonl) or .parquet")
    p.add_argument("--sidecar", help="the .npy file's JSON Lines of ids (default: FILE.jsonl)")
    p.add_argument("--model", help="name of the model that made them (default: the default)")
    p.add_argument("--revision", help="that model's revision, recorded with its name")
    p = command(
        "check", commands.cmd_check, "verify catalog, vectors and index agree (exit 1 on errors)"
    )
    p.add_argument(
        "--read-only",
        action="store_true",
        help="open read-only, as where it cannot be written (the keyword index is then read)",
    )
    command("repair", commands.cmd_repair, "rebuild keyword index and graph from the catalog")
    p = command(
        "eval", commands.cmd_eval, "score retrieval on a BEIR folder (corpus, queries, qrels)"
    )
    p.add_argument("--mode", choices=(*SEARCH_MODES, "all"), default="all")
    p.add_argument("--split", default="test", help="queries, qrels and answers to use")
    p.add_argument("--no-answers", action="store_true", help="score retrieval alone")
    p.add_argument(
        "--unanswerable",
        metavar="QUERIES.jsonl",
        help="questions the corpus cannot answer: report the share declined",
    )
    p.add_argument("--kb", help="where to keep the corpus's knowledge base (default: a cache)")
    p.add_argument("--rebuild", action="store_true", help="build the knowledge base anew")
    p.add_argument("--store", metavar="URI", help=STORE_HELP + " (instead of --kb)")
    p.add_argument("--model", choices=MODELS, help=EVAL_MODEL_HELP)
    fusion_options(p)
    p.add_argument("--min-relevance", type=float, metavar="COSINE", help=MIN_RELEVANCE_HELP)
    p.add_argument("--save", metavar="FILE", help="write this run as JSON, to --compare later")
    p.add_argument("--compare", metavar="FILE", help="show changes against a saved run")
    p = sub.add_parser("migrate", help=MIGRATE_HELP, description=MIGRATE_HELP)
    p.add_argument("source", metavar="SRC", help="folder or store URI to copy from")
    p.add_argument("destination", metavar="DST", help="new folder or store URI to copy to")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=commands.cmd_migrate)
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
