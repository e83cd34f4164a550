"""Readers for files of many records: JSONL in the BEIR corpus layout, and CSV.

Each record becomes one Document. Errors name the line they were found on, so that a large
corpus with one bad line can be fixed without a search.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from answerdb.types import Document, Metadata

from .common import Source, jsonable, unique_slug

_ID_COLUMNS = ("_id", "id")
_TEXT_COLUMNS = ("text", "answer", "body")


def read_jsonl(src: Source) -> list[Document]:
    """A BEIR-style corpus: one ``{"_id", "title", "text", "metadata"?}`` object a line.

    Keys other than those go into the Document's metadata, beside ``metadata``'s own.

    Raises:
        InputError: a line that is not a JSON object, or lacks ``_id`` or ``text``.
    """
    docs = [
        _jsonl_record(src, number, line)
        for number, line in enumerate(src.text().split("\n"), start=1)
        if line.strip()
    ]
    if not docs:
        raise src.error("empty document")
    return docs


def _jsonl_record(src: Source, number: int, line: str) -> Document:
    where = f"line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise src.error(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise src.error(f"{where}: not valid JSON: nested too deeply") from None
    if not isinstance(record, dict):
        raise src.error(f"{where}: expected an object")
    for key in ("_id", "text"):
        if key not in record:
            raise src.error(f'{where}: missing "{key}"')
    if record["_id"] is None or str(record["_id"]) == "":
        raise src.error(f'{where}: empty "_id"')
    if not isinstance(record["text"], str):
        raise src.error(f'{where}: "text" must be a string')
    return Document(
        doc_id=str(record.pop("_id")),
        text=record.pop("text"),
        source=src.name,
        title=_optional_str(record.pop("title", "")),
        question=_optional_str(record.pop("question", "")),
        metadata=_jsonl_metadata(record),
    )


def _optional_str(value: Any) -> str:
    return "" if value is None else str(value)


def _jsonl_metadata(record: dict[str, Any]) -> Metadata:
    nested = record.pop("metadata", None)
    out: Metadata = {"source_format": "jsonl"}
    if isinstance(nested, dict):
        out.update(jsonable(nested))
    elif nested is not None:
        out["metadata"] = jsonable(nested)
    out.update(jsonable(record))
    return out


def read_csv(src: Source) -> list[Document]:
    """A CSV file with a header row, one Document a row.

    Columns (names matched without regard to case): ``_id`` or ``id`` (optional), the text in
    ``text``, ``answer`` or ``body``, optional ``title`` and ``question``; any other column
    goes into metadata. Without an id column, rows are told apart by their question, else
    by their row number.

    Raises:
        InputError: no header, no text column, a quote that is never closed, or a line the
            csv module cannot parse.
    """
    text = src.text()
    _allow_fields_of(len(text))
    records = _records(src, text)
    header = next(records, (0, []))[1]
    columns = _Columns.find(src, header)
    rows = [(n, row) for n, row in records if any(cell.strip() for cell in row)]
    if not rows:
        raise src.error("empty document")
    taken: set[str] = set()
    return [columns.document(src, n, row, len(rows) == 1, taken) for n, row in rows]


def _allow_fields_of(size: int) -> None:
    # No field is longer than the text, so none meets csv's limit (131,072 characters by
    # default). The limit is process-wide: it is only ever raised.
    if csv.field_size_limit() < size:
        csv.field_size_limit(size)


def _records(src: Source, text: str) -> Iterator[tuple[int, list[str]]]:
    """Each row with the line it ends on. Strict, so that a quote left open is an error, not
    a field that swallows the lines after it."""
    reader = csv.reader(io.StringIO(text), strict=True)
    start = 1
    try:
        for row in reader:
            yield reader.line_num, row
            start = reader.line_num + 1
    except csv.Error as exc:
        raise src.error(_csv_problem(str(exc), start, reader.line_num)) from None


def _csv_problem(problem: str, start: int, line: int) -> str:
    if problem == "unexpected end of data":
        return f"line {start}: not valid CSV: a quote opened in this row is never closed"
    if start < line:
        return f"line {line}: not valid CSV: {problem} (in the row that starts on line {start})"
    return f"line {line}: not valid CSV: {problem}"


class _Columns:
    """Where the id, text, title and question are in a CSV header."""

    def __init__(self, header: list[str], text: int) -> None:
        names = [name.strip().lower() for name in header]
        self.header = header
        self.text = text
        self.id = next((names.index(c) for c in _ID_COLUMNS if c in names), None)
        self.title = names.index("title") if "title" in names else None
        self.question = names.index("question") if "question" in names else None

    @classmethod
    def find(cls, src: Source, header: list[str]) -> _Columns:
        names = [name.strip().lower() for name in header]
        for column in _TEXT_COLUMNS:
            if column in names:
                return cls(header, names.index(column))
        found = ", ".join(name for name in header if name.strip()) or "none"
        wanted = ", ".join(_TEXT_COLUMNS)
        raise src.error(f"no text column (expected one of: {wanted}; found: {found})")

    def document(
        self, src: Source, n: int, row: list[str], alone: bool, taken: set[str]
    ) -> Document:
        question = _cell(row, self.question)
        return Document(
            doc_id=self._doc_id(src, n, _cell(row, self.id), question, alone, taken),
            text=_cell(row, self.text),
            source=src.name,
            title=_cell(row, self.title),
            question=question,
            metadata=self._metadata(row),
        )

    def _doc_id(
        self, src: Source, n: int, given: str, question: str, alone: bool, taken: set[str]
    ) -> str:
        if self.id is not None and given:
            return given
        if alone:
            return src.doc_id
        return f"{src.doc_id}#{unique_slug(question or f'line-{n}', taken)}"

    def _metadata(self, row: list[str]) -> Metadata:
        used = {self.id, self.text, self.title, self.question}
        out: Metadata = {"source_format": "csv"}
        for i, name in enumerate(self.header):
            if i not in used and name.strip() and i < len(row):
                out[name.strip()] = row[i]
        return out


def _cell(row: list[str], index: int | None) -> str:
    # Short rows read as empty cells, as a spreadsheet shows them.
    if index is None or index >= len(row):
        return ""
    return row[index].strip()
