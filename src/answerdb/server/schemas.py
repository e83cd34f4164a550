"""The JSON API's shapes: what each route answers, as pydantic models, so that /openapi.json
types every response and a generated client is typed.

The answer models mirror the dataclasses in answerdb.types, plus the page addresses (``url``)
and safe HTML (``html``) the server adds; tests/server/test_openapi.py checks that every
dataclass field is here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Scalar = int | float | str | bool | None


class HitOut(BaseModel):
    """One retrieved passage."""

    row: int
    doc_id: str
    text: str
    score: float
    heading: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    ordinal: int = 0


class CitationOut(BaseModel):
    """A numbered source: ``[number]`` in the answer text points at ``hit``."""

    number: int
    hit: HitOut
    url: str = Field(description="the cited article's page")
    html: str = Field(description="the passage as safe HTML")


class RelatedOut(BaseModel):
    """A Keep Reading entry."""

    doc_id: str
    question: str
    teaser: str
    score: float
    series: str = ""
    url: str = Field(description="the article's page")


class AnswerOut(BaseModel):
    """A cited answer, the passages behind it and what to read next."""

    question: str
    text: str
    html: str = Field(description="the answer as safe HTML, each [n] linked to #source-n")
    citations: list[CitationOut]
    hits: list[HitOut]
    keep_reading: list[RelatedOut]
    series: list[str] = Field(default_factory=list)
    answered: bool = Field(
        default=True,
        description="false when the knowledge base has no good answer: text is empty and hits "
        "are the nearest articles",
    )
    generated: bool = Field(default=False, description="whether a language model wrote it")
    note: str = Field(default="", description="why a generated answer is missing, if it is")


class ArticleOut(BaseModel):
    """One article, without the server's file paths."""

    doc_id: str
    url: str
    question: str
    title: str
    heading: str
    text: str
    source: str = Field(description="a URL or a file name")
    metadata: dict[str, Any]


class ArticleWithRelated(ArticleOut):
    """An article with its Keep Reading."""

    keep_reading: list[RelatedOut]


class ArticleSummary(BaseModel):
    """The few fields a list of articles shows."""

    doc_id: str
    heading: str
    url: str


class DocumentPage(BaseModel):
    """A page of the stored documents, in the order they were added."""

    total: int
    offset: int
    limit: int
    items: list[ArticleOut]
    next: str | None = Field(description="the address of the next page; null on the last")


class SeriesOut(BaseModel):
    """A learn series with its articles in reading order."""

    name: str
    slug: str
    url: str
    auto: bool = Field(description="grouped by topic, not named in front matter")
    terms: list[str]
    articles: list[ArticleSummary]


class SkippedOut(BaseModel):
    """A source that was not ingested, and why."""

    source: str
    reason: str


class IngestReportOut(BaseModel):
    """What an upload added."""

    added: list[str]
    skipped: list[SkippedOut]
    passages: int


class DeletedOut(BaseModel):
    """The id of the deleted document."""

    deleted: str


class StatsOut(BaseModel):
    """Counts, sizes and the recorded model; a backend may add its own figures."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Scalar]

    documents: int
    passages: int
    backend: str


class HealthOut(BaseModel):
    """Liveness."""

    status: str
    documents: int
    llm: bool = Field(description="whether generated answers are configured")


class ErrorOut(BaseModel):
    """Every error: one readable line; validation errors list each problem too."""

    detail: str
    errors: list[str] | None = None


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: the error codes it may answer, each an ErrorOut."""
    return {code: {"model": ErrorOut, "description": ERROR_MEANING[code]} for code in codes}


ERROR_MEANING = {
    401: "the API key is missing or wrong (or the sign-in has expired)",
    403: "writes are off: the server has no API key",
    404: "no such article or series",
    413: "the request body is over the limit",
    415: "the body is not JSON (or, for documents, a multipart upload)",
    422: "the input is not valid; detail says which field and why",
}
