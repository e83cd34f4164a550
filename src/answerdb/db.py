"""AnswerDB: the one facade every interface (Python, CLI, HTTP, pages) calls."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext, suppress
from pathlib import Path
from types import TracebackType
from typing import Any

from answerdb.answer import generate as _generation
from answerdb.answer.compose import compose
from answerdb.answer.generate import LLMConfig
from answerdb.answer.related import related
from answerdb.answer.series import Series, learn_series
from answerdb.embed import Embedder, Vectors, holds_gil, load_embedder
from answerdb.embed.worker import ProcessEmbedder
from answerdb.errors import InputError, ModelMismatchError
from answerdb.ingest import iter_sources, read_path
from answerdb.ingest.pipeline import (
    Pending,
    batches,
    embed_batches,
    expected_passages,
    split_each,
    unstored,
)
from answerdb.retrieve.crowding import discount
from answerdb.retrieve.hybrid import MODES, FusionSettings, fuse
from answerdb.retrieve.rerank import RERANK_DEPTH, RERANK_SUFFIX, Reranker, rerank
from answerdb.store.base import Store
from answerdb.store.check import CheckReport, check_store
from answerdb.store.embedded import EmbeddedStore
from answerdb.store.filters import Where
from answerdb.store.repair import repair_store
from answerdb.types import Answer, Document, Hit, IngestReport, Skipped

# Progress callbacks get (done, total) in passages.
Progress = Callable[[int, int], None]
BATCH_PASSAGES = 256
# From this many passages an ingest into a folder builds the graph once, at its end.
BULK_PASSAGES = 4096
MAX_PASSAGE_WORDS = 220
# From this much text a model that holds the GIL embeds in a child process (its ~0.3 s start
# pays back) while this one splits and writes.
PROCESS_CHARS = 2_000_000
# Such a model is fast (a batch this size takes it ~0.25 s): larger batches mean fewer commits,
# each of which flushes the keyword index (~40% less commit time than at 256).
PROCESS_BATCH_PASSAGES = 1024
# Query vectors kept per handle (a few KB each).
QUERY_CACHE = 64
# The most hits one search returns (SQLite's LIMIT takes 64-bit integers; people read far fewer).
MAX_K = 10_000


class AnswerDB:
    """A knowledge base: ingest documents, then search, ask and browse what is related."""

    def __init__(
        self,
        store: Store,
        model: str,
        fusion: FusionSettings | None = None,
        embedder: Embedder | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.store = store
        self.reranker = reranker
        self.model_name = model
        self.fusion = fusion or FusionSettings()
        self._embedder = embedder
        self._queries: OrderedDict[str, Vectors] = OrderedDict()

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use and checked against the recorded one."""
        if self._embedder is None:
            self._embedder = load_embedder(self.model_name)
        self._check_model(self._embedder)
        return self._embedder

    def _check_model(self, embedder: Embedder) -> None:
        recorded = self.store.model()
        if not recorded:
            self.store.set_model(embedder.name, embedder.revision, embedder.dim)
            return
        mine = {"model": embedder.name, "revision": embedder.revision, "dim": str(embedder.dim)}
        if recorded != mine:
            raise ModelMismatchError(
                f"this knowledge base was built with {recorded.get('model')} "
                f"({recorded.get('revision')}, dim {recorded.get('dim')}); the model given is "
                f"{embedder.name} ({embedder.revision}, dim {embedder.dim})"
            )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> AnswerDB:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- writes ---------------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str | Path],
        progress: Progress | None = None,
        on_error: str = "skip",
        index_later: bool = False,
    ) -> IngestReport:
        """Read files and folders, embed their passages and store them in atomic batches.

        A file that cannot be read is reported in ``report.skipped`` (``on_error="skip"``)
        or raises InputError (``on_error="raise"``); documents already stored unchanged
        are skipped. Raises InputError for a path that does not exist. ``index_later``: a
        large ingest adds its rows to no graph but leaves them to ``reindex`` (searches scan
        them exactly meanwhile).
        """
        report = IngestReport()
        sources = list(iter_sources(paths))
        # A child process that embeds (if the model needs one) starts loading before the reading.
        with self._embedding_process(_file_bytes(file for file, _ in sources)) as child:
            documents: list[Document] = []
            for file, base in sources:
                try:
                    documents.extend(read_path(file, base))
                except InputError as exc:
                    if on_error == "raise":
                        raise
                    report.skipped.append(Skipped(str(file), str(exc)))
            self._add(documents, report, progress, child, index_later)
        return report

    def add(
        self,
        documents: Sequence[Document],
        progress: Progress | None = None,
        index_later: bool = False,
    ) -> IngestReport:
        """Store documents made in code (same batching and de-duplication as ``ingest``)."""
        report = IngestReport()
        with self._embedding_process(sum(len(doc.text) for doc in documents)) as child:
            self._add(list(documents), report, progress, child, index_later)
        return report

    def _add(
        self,
        documents: list[Document],
        report: IngestReport,
        progress: Progress | None,
        child: ProcessEmbedder | None,
        index_later: bool = False,
    ) -> None:
        # Documents are hashed, checked against the store and split batch by batch, as the
        # pipeline asks for them (the first batch need not wait for them all): until then
        # their passages are estimated, for progress and the bulk decision.
        expected = {id(doc): expected_passages(doc, MAX_PASSAGE_WORDS) for doc in documents}
        left = sum(expected.values())
        done = 0
        unchanged: list[Document] = []
        fresh = unstored(documents, self.store.has_hash, report.skipped, unchanged.append)
        with self._bulk(left, index_later) as grow:
            # The model is checked against the recorded one once, here, on this thread.
            embed = child.embed if child else self.embedder.embed
            pending = split_each(fresh, MAX_PASSAGE_WORDS, report.skipped)
            # The next batches are embedded on a worker thread while this one is written here;
            # waiting for them, this thread grows the graph, else embeds one itself beside the
            # child process.
            size = PROCESS_BATCH_PASSAGES if child else BATCH_PASSAGES
            here = child.embed_here if child else None
            stream = embed_batches(batches(pending, size), embed, idle=grow, embed_here=here)
            with closing(stream):
                for batch, vectors in stream:
                    done += self._store_batch(batch, vectors, report)
                    gone = [item.doc for item in batch] + unchanged
                    left -= sum(expected[id(doc)] for doc in gone)
                    unchanged.clear()
                    if progress:
                        progress(done, done + max(left, 0))
        if progress and done and left > 0:  # fewer passages than estimated: the total is exact
            progress(done, done)

    def _bulk(
        self, passages: int, index_later: bool
    ) -> AbstractContextManager[Callable[[], bool] | None]:
        """A large ingest into an embedded store finishes the graph once, at the end (cheaper
        than batch by batch), or leaves it to ``reindex``; it yields the store's ``grow`` for
        the ingest's waits."""
        if isinstance(self.store, EmbeddedStore) and passages >= BULK_PASSAGES:
            return self.store.bulk(graph_waits=index_later)
        return nullcontext()

    @contextmanager
    def _embedding_process(self, size: int) -> Iterator[ProcessEmbedder | None]:
        """For much text (``size``: characters, or bytes of files) and a model that holds the
        GIL, a child process that embeds while this one splits and writes."""
        loaded = self._embedder
        python = getattr(loaded, "holds_gil", False) if loaded else holds_gil(self.model_name)
        child = ProcessEmbedder(self.embedder) if python and size >= PROCESS_CHARS else None
        try:
            yield child
        finally:
            if child:
                child.close()

    def _store_batch(self, batch: list[Pending], vectors: Vectors, report: IngestReport) -> int:
        passages = [p for item in batch for p in item.passages]
        self.store.add([(item.doc, item.content_hash) for item in batch], passages, vectors)
        report.added.extend(item.doc.doc_id for item in batch)
        report.passages += len(passages)
        return len(passages)

    def delete(self, doc_ids: Sequence[str]) -> int:
        """Delete documents by id; returns how many existed."""
        return self.store.delete(list(doc_ids))

    def compact(self) -> dict[str, Any]:
        """Give deleted passages' space back."""
        return self.store.compact()

    def reindex(self) -> None:
        """Rebuild the ANN index from the stored vectors."""
        self.store.reindex()

    # -- reads ----------------------------------------------------------------------------
    def search(
        self, query: str, k: int = 10, where: Where | None = None, mode: str = "hybrid"
    ) -> list[Hit]:
        """The k best passages for ``query`` by ``mode``: dense, keyword or hybrid, each
        optionally followed by ``+rerank`` when a re-ranker was given."""
        base = mode.removesuffix(RERANK_SUFFIX)
        if base not in MODES:
            raise InputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if base != mode and self.reranker is None:
            raise InputError(
                f"mode {mode!r} needs a re-ranker: answerdb.open(..., reranker=...),"
                " or --reranker MODULE:NAME in the shell"
            )
        if not query.strip():
            raise InputError("the query is empty")
        _check_text("the query", query)
        if not 0 <= k <= MAX_K:
            raise InputError(f"k must be between 0 and {MAX_K}, not {k}")
        hits = self._retrieve(query, max(k, RERANK_DEPTH if base != mode else 0), where, base)
        if self.reranker is not None and base != mode:
            hits = rerank(self.reranker, query, hits)
        return hits[:k]

    def _retrieve(self, query: str, k: int, where: Where | None, mode: str) -> list[Hit]:
        depth = max(k, self.fusion.depth)
        if mode == "keyword":
            return self.store.keyword_search(query, k, where)
        dense = self._uncrowded(self.store.vector_search(self._query_vector(query), depth, where))
        if mode == "dense":
            return dense[:k]
        keyword = self.store.keyword_search(query, depth, where)
        return fuse(dense, keyword, self.fusion, query)[:k]

    def _uncrowded(self, hits: list[Hit]) -> list[Hit]:
        """Dense hits with their crowding discounted (retrieve/crowding.py)."""
        weight, neighbours = self.fusion.crowding_weight, self.fusion.crowding_neighbours
        if not weight or not hits:
            return hits
        crowding = self.store.crowding([hit.row for hit in hits], neighbours)
        return discount(hits, crowding.tolist(), weight)

    def ask(
        self,
        question: str,
        k: int = 5,
        where: Where | None = None,
        mode: str = "hybrid",
        generate: bool = False,
        llm: LLMConfig | None = None,
    ) -> Answer:
        """A cited answer, the hits behind it and Keep Reading for its article.

        The answer is extractive; with ``generate=True`` an LLM writes it from the hits
        (``llm``, else the ANSWERDB_LLM_* environment), falling back to the extractive one
        with ``answer.note`` saying why. Raises InputError when no LLM is configured.
        """
        answer = self._extractive(question, k, where, mode)
        return _generation.generate(_llm(llm), answer) if generate else answer

    def ask_stream(
        self,
        question: str,
        k: int = 5,
        where: Where | None = None,
        mode: str = "hybrid",
        llm: LLMConfig | None = None,
    ) -> Iterator[Answer | str]:
        """Yield the extractive Answer, then the LLM's text piece by piece, then the final
        Answer (generated, or the extractive one with a note). Raises InputError as ``ask``."""
        config = _llm(llm)
        answer = self._extractive(question, k, where, mode)
        yield answer
        yield from _generation.stream_answer(config, answer)

    def _query_vector(self, text: str) -> Vectors:
        """Embed a query once: ask needs it to search and again to rank answer sentences."""
        vector = self._queries.get(text)
        if vector is None:
            vector = self._queries[text] = self.embedder.embed_query(text)
            if len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector

    def _extractive(self, question: str, k: int, where: Where | None, mode: str) -> Answer:
        hits = self.search(question, k=max(k, 10), where=where, mode=mode)
        text, citations = compose(self._query_vector(question), hits, self.embedder)
        top = hits[0].doc_id if hits else None
        cited = {c.hit.doc_id for c in citations}
        keep = related(self.store, top, k=5, exclude=cited) if top else []
        series = list(
            dict.fromkeys(str(h.metadata["series"]) for h in hits[:3] if h.metadata.get("series"))
        )
        return Answer(
            question=question,
            text=text,
            citations=citations,
            hits=hits[:k],
            keep_reading=keep,
            series=series,
        )

    def related(self, doc_id: str, k: int = 5, exclude: Iterable[str] = ()) -> list[Any]:
        """Keep Reading for an article: the nearest other articles with teasers."""
        if self.store.document(doc_id) is None:
            raise InputError(f"no article with id {doc_id!r}")
        return related(self.store, doc_id, k, exclude)

    def document(self, doc_id: str) -> Document | None:
        """One stored document with its text."""
        return self.store.document(doc_id)

    def series(self) -> list[Series]:
        """The learn series: as front matter names them, and automatic ones (clustered by
        embedding) for the articles that name none."""
        store = self.store
        return learn_series(store.documents(), store.passage_vectors, store.document)

    def stats(self) -> dict[str, Any]:
        """Counts, sizes and the recorded model."""
        return self.store.stats()

    def check(self) -> CheckReport:
        """Verify the catalog, vector file and index agree (embedded store only)."""
        return check_store(self._embedded("check"))

    def repair(self) -> tuple[list[str], CheckReport]:
        """Rebuild the derived parts from the catalog; what was done, then a fresh check.

        Raises LockedError while another process writes, StoreError when read-only.
        """
        return repair_store(self._embedded("repair"))

    def _embedded(self, verb: str) -> EmbeddedStore:
        if not isinstance(self.store, EmbeddedStore):
            raise InputError(f"{verb} works on an embedded knowledge base (a folder)")
        return self.store


def _llm(config: LLMConfig | None) -> LLMConfig:
    found = config or LLMConfig.from_env()
    if found is None:
        raise InputError("no LLM configured: pass --llm-url or set ANSWERDB_LLM_URL")
    return found


def _check_text(what: str, text: str) -> None:
    """Refuse what no model or index can take: lone surrogates (JSON's "\\ud800") and NULs."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"{what} is not valid Unicode text (at character {exc.start})") from None
    if "\x00" in text:
        raise InputError(f"{what} holds a NUL character")


def _file_bytes(files: Iterable[Path]) -> int:
    """The files' total size (one that cannot be read counts 0: reading it will say why)."""
    total = 0
    for file in files:
        with suppress(OSError):
            total += file.stat().st_size
    return total
