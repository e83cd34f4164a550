"""AnswerDB: the one facade every interface (Python, CLI, HTTP, pages) calls."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from answerdb.answer import generate as _generation
from answerdb.answer.extractive import extractive_answer
from answerdb.answer.generate import LLMConfig
from answerdb.answer.related import related
from answerdb.answer.relevance import answerable, relevance_floor
from answerdb.answer.series import Series, learn_series
from answerdb.embed import STATIC_MODEL, Embedder, holds_gil, load_embedder
from answerdb.errors import InputError, ModelMismatchError
from answerdb.ingest import iter_sources, read_path, total_bytes
from answerdb.ingest.embedding import embedding_for
from answerdb.ingest.pipeline import Embedding, Progress, passage_texts, store_documents
from answerdb.retrieve.crowding import discount
from answerdb.retrieve.fusion import MODES, FusionSettings, fuse
from answerdb.retrieve.rerank import RERANK_DEPTH, RERANK_SUFFIX, Reranker, rerank
from answerdb.store.base import Store
from answerdb.text import check_text
from answerdb.types import (
    Answer,
    CheckReport,
    Document,
    Hit,
    IngestReport,
    Passage,
    Skipped,
    Vectors,
)
from answerdb.where import Where

if TYPE_CHECKING:
    from answerdb.tools.import_vectors import ImportReport

# Query vectors kept per handle (a few KB each).
QUERY_CACHE = 64
# The most hits one search returns (SQLite's LIMIT takes 64-bit integers; people read far fewer).
MAX_K = 10_000
T = TypeVar("T")


class AnswerDB:
    """A knowledge base: ingest documents, then search, ask and browse what is related."""

    def __init__(
        self,
        store: Store,
        model: str,
        fusion: FusionSettings | None = None,
        embedder: Embedder | None = None,
        reranker: Reranker | None = None,
        min_relevance: float | None = None,
    ) -> None:
        self._store = store
        self.reranker = reranker
        self.model_name = model
        self.fusion = fusion or FusionSettings()
        # Below this relevance ``ask`` says the knowledge base has no good answer.
        self.min_relevance = relevance_floor(model) if min_relevance is None else min_relevance
        self._embedder = embedder
        self._sentences: Embedder | None = None
        self._queries: OrderedDict[str, Vectors] = OrderedDict()
        # The cosine of the nearest passage, by (question, filter), from the last searches.
        self._closest: OrderedDict[tuple[str, str], float] = OrderedDict()

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use and checked against the recorded one."""
        if self._embedder is None:
            self._embedder = load_embedder(self.model_name)
        self._check_model(self._embedder)
        return self._embedder

    @property
    def sentence_model(self) -> Embedder:
        """The static model that scores answer sentences (microseconds each), loaded on first
        use; built once per machine from the default model (docs/models.md)."""
        if self._sentences is None:
            loaded = self._embedder
            if loaded is not None and loaded.name == STATIC_MODEL:
                self._sentences = loaded
            else:
                self._sentences = load_embedder(STATIC_MODEL)
        return self._sentences

    def _check_model(self, embedder: Embedder) -> None:
        recorded = self._store.model()
        if not recorded:
            self._store.set_model(embedder.name, embedder.revision, embedder.dim)
            return
        mine = {"model": embedder.name, "revision": embedder.revision, "dim": str(embedder.dim)}
        # A model may also accept vectors of its earlier revisions (``accepts``: docs/models.md).
        if recorded.get("revision") in getattr(embedder, "accepts", ()):
            mine["revision"] = recorded["revision"]
        if recorded != mine:
            raise ModelMismatchError(
                f"this knowledge base was built with {recorded.get('model')} "
                f"({recorded.get('revision')}, dim {recorded.get('dim')}); the model given is "
                f"{embedder.name} ({embedder.revision}, dim {embedder.dim})"
            )

    def close(self) -> None:
        self._store.close()

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
        with self._embedding(total_bytes(file for file, _ in sources)) as embedding:
            documents: list[Document] = []
            for file, base in sources:
                try:
                    documents.extend(read_path(file, base))
                except InputError as exc:
                    if on_error == "raise":
                        raise
                    report.skipped.append(Skipped(str(file), str(exc)))
            store_documents(self._store, documents, embedding(), report, progress, index_later)
        return report

    def add(
        self,
        documents: Sequence[Document],
        progress: Progress | None = None,
        index_later: bool = False,
    ) -> IngestReport:
        """Store documents made in code (same batching and de-duplication as ``ingest``)."""
        report = IngestReport()
        with self._embedding(sum(len(doc.text) for doc in documents)) as embedding:
            given = list(documents)
            store_documents(self._store, given, embedding(), report, progress, index_later)
        return report

    def _embedding(self, size: int) -> AbstractContextManager[Callable[[], Embedding]]:
        """How to embed ``size`` characters: here, or in a child process (ingest/embedding.py)."""
        loaded = self._embedder
        python = getattr(loaded, "holds_gil", False) if loaded else holds_gil(self.model_name)
        return embedding_for(lambda: self.embedder, python, size)

    def import_vectors(
        self,
        file: Path,
        sidecar: Path | None = None,
        model: tuple[str, str] | None = None,
    ) -> ImportReport:
        """Add precomputed embeddings (.npy with a JSON Lines sidecar, or .parquet); ``model``
        is (name, revision) of what made them. InputError names a bad file and its problem."""
        from answerdb.tools.import_vectors import import_vectors  # pyarrow, only when asked

        return import_vectors(self._store, file, sidecar, model=model)

    def delete(self, doc_ids: Sequence[str]) -> int:
        """Delete documents by id; returns how many existed."""
        for doc_id in doc_ids:
            check_text("a document id", doc_id)
        return self._store.delete(list(doc_ids))

    def compact(self) -> dict[str, Any]:
        """Give deleted passages' space back."""
        return self._store.compact()

    def reindex(self) -> None:
        """Rebuild the ANN index from the stored vectors."""
        self._store.reindex()

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
        check_text("the query", query)
        if not query.strip():
            raise InputError("the query is empty")
        _check_k(k, least=0)
        hits = self._retrieve(query, max(k, RERANK_DEPTH if base != mode else 0), where, base)
        if self.reranker is not None and base != mode:
            hits = rerank(self.reranker, query, hits)
        return hits[:k]

    def _retrieve(self, query: str, k: int, where: Where | None, mode: str) -> list[Hit]:
        depth = max(k, self.fusion.depth)
        if mode == "keyword":
            return self._store.keyword_search(query, k, where)
        nearest = self._store.vector_search(self._query_vector(query), depth, where)
        self._remember(self._closest, (query, repr(where)), nearest[0].score if nearest else 0.0)
        dense = self._uncrowded(nearest)
        if mode == "dense":
            return dense[:k]
        keyword = self._store.keyword_search(query, depth, where)
        return fuse(dense, keyword, self.fusion, query)[:k]

    def _uncrowded(self, hits: list[Hit]) -> list[Hit]:
        """Dense hits with their crowding discounted (retrieve/crowding.py)."""
        weight, neighbours = self.fusion.crowding_weight, self.fusion.crowding_neighbours
        if not weight or not hits:
            return hits
        crowding = self._store.crowding([hit.row for hit in hits], neighbours)
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
        _check_k(k)
        answer = self._extractive(question, k, where, mode)
        return self.generate(answer, llm) if generate else answer

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
        _check_k(k)
        config = _llm(llm)
        answer = self._extractive(question, k, where, mode)
        yield answer
        yield from self.generate_stream(answer, config)

    @staticmethod
    def generate(answer: Answer, llm: LLMConfig | None = None) -> Answer:
        """``answer`` written by an LLM from its hits (``llm``, else the ANSWERDB_LLM_*
        environment), or the extractive one with ``note`` saying why not. It reads no store,
        so a server calls it without holding a handle. InputError when no LLM is configured."""
        if not answer.answered:  # nothing to ground a generated answer in: the LLM is not asked
            return answer
        return _generation.generate(_llm(llm), answer)

    @staticmethod
    def generate_stream(answer: Answer, llm: LLMConfig | None = None) -> Iterator[Answer | str]:
        """The LLM's text for ``answer`` piece by piece, then the final Answer (as ``generate``)."""
        if not answer.answered:
            return iter([answer])
        return _generation.stream_answer(_llm(llm), answer)

    def clear_cache(self) -> None:
        """Forget the query vectors kept for repeated questions: the next question of any
        text is embedded again, as a new one is (what a benchmark times)."""
        self._queries.clear()
        self._closest.clear()

    def _query_vector(self, text: str) -> Vectors:
        """Embed a query once: a repeated question (a page reloaded) costs no model call."""
        vector = self._queries.get(text)
        if vector is None:
            vector = self._remember(self._queries, text, self.embedder.embed_query(text))
        return vector

    @staticmethod
    def _remember(cache: OrderedDict[Any, T], key: Any, value: T) -> T:
        """Keep ``value`` in a cache of the last QUERY_CACHE questions."""
        cache[key] = value
        if len(cache) > QUERY_CACHE:
            cache.popitem(last=False)
        return value

    def _extractive(self, question: str, k: int, where: Where | None, mode: str) -> Answer:
        hits = self.search(question, k=max(k, 10), where=where, mode=mode)
        if not hits or not self._answerable(question, hits[0], where):
            # Nothing close enough: the nearest articles, offered as such, and no answer.
            return Answer(question, "", [], hits[:k], [], answered=False)
        return extractive_answer(question, hits, k, self._store, self.sentence_model)

    def _answerable(self, question: str, best: Hit, where: Where | None) -> bool:
        def article() -> str:
            doc = self._store.document(best.doc_id)
            return f"{doc.heading}\n{doc.text}" if doc else best.text

        closeness = self.relevance(question, where)
        return answerable(question, closeness, self.min_relevance, article)

    def relevance(self, question: str, where: Where | None = None) -> float:
        """The cosine of the passage nearest to ``question``: how close the knowledge base
        comes to answering it (``ask`` answers from ``min_relevance`` on)."""
        known = self._closest.get((question, repr(where)))
        if known is not None:  # the search before the answer found it already
            return known
        nearest = self._store.vector_search(self._query_vector(question), 1, where)
        return nearest[0].score if nearest else 0.0

    def related(self, doc_id: str, k: int = 5, exclude: Iterable[str] = ()) -> list[Any]:
        """Keep Reading for an article: the nearest other articles with teasers."""
        _check_k(k)
        if self.document(doc_id) is None:
            raise InputError(f"no article with id {doc_id!r}")
        return related(self._store, doc_id, k, exclude, self.sentence_model)

    def document(self, doc_id: str) -> Document | None:
        """One stored document with its text."""
        check_text("the article id", doc_id)
        return self._store.document(doc_id)

    def series(self) -> list[Series]:
        """The learn series: as front matter names them, and automatic ones (clustered by
        embedding) for the articles that name none."""
        store = self._store
        return learn_series(store.documents(), store.passage_vectors, store.document)

    def documents(self) -> list[Document]:
        """Every article (text left empty), oldest first."""
        return self._store.documents()

    def stats(self) -> dict[str, Any]:
        """Counts, sizes and the recorded model."""
        return self._store.stats()

    def check(self) -> CheckReport:
        """Verify the stored parts agree: catalog, vectors and index (InputError on a backend
        that cannot)."""
        return self._store.check()

    def repair(self) -> tuple[list[str], CheckReport]:
        """Rebuild the derived parts from the catalog, missing or damaged vectors embedded
        again with the recorded model; what was done, then a fresh check.

        Raises LockedError while another process writes, StoreError when read-only.
        """
        return self._store.repair(embed=self._embed_again)

    def _embed_again(self, items: list[tuple[Document, list[Passage]]]) -> Vectors:
        """Passages' vectors as ingest made them (the model is loaded only when needed)."""
        return self.embedder.embed([t for doc, ps in items for t in passage_texts(doc, ps)])


def _llm(config: LLMConfig | None) -> LLMConfig:
    found = config or LLMConfig.from_env()
    if found is None:
        raise InputError("no LLM configured: pass --llm-url or set ANSWERDB_LLM_URL")
    return found


def _check_k(k: int, least: int = 1) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or not least <= k <= MAX_K:
        raise InputError(f"k must be a whole number from {least} to {MAX_K}, not {k!r}")
