"""The extractive answer put together: the cited answer, Keep Reading for its article and the
series it belongs to."""

from __future__ import annotations

from dataclasses import replace

from answerdb.answer.compose import compose
from answerdb.answer.related import related
from answerdb.embed import Embedder
from answerdb.store.base import Store
from answerdb.types import Answer, Hit


def extractive_answer(
    question: str, hits: list[Hit], k: int, store: Store, sentences: Embedder
) -> Answer:
    """The answer from ``hits`` (``k`` of them kept), with ``sentences`` (the static model)
    scoring sentences and comparing the articles' questions for Keep Reading."""
    text, citations = compose(question, hits, sentences, lambda hit: article_passages(store, hit))
    cited = {c.hit.doc_id for c in citations}
    keep = related(store, hits[0].doc_id, 5, cited, sentences) if hits else []
    series = [str(c.hit.metadata["series"]) for c in citations if c.hit.metadata.get("series")]
    return Answer(
        question=question,
        text=text,
        citations=citations,
        hits=hits[:k],
        keep_reading=keep,
        series=list(dict.fromkeys(series)),
    )


def article_passages(store: Store, hit: Hit) -> list[Hit]:
    """Every passage of a hit's article, as hits an answer may cite."""
    passages = store.passages(hit.doc_id)
    found = [replace(hit, row=p.row, text=p.text, ordinal=p.ordinal, score=0.0) for p in passages]
    return found or [hit]
