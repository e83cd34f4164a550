"""What every reader shares: the raw source, decoding with located errors, ids and metadata."""

from __future__ import annotations

import codecs
import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from answerdb.errors import InputError
from answerdb.text import slugify

# A NUL byte this early means the file is not text (the same test git and grep use).
_BINARY_PROBE = 8192
# A byte order mark names its encoding; UTF-32's are tried first, as they begin with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


@dataclass(frozen=True)
class Source:
    """One file as read from disk: its path, raw bytes and the doc id it stands for."""

    path: Path
    data: bytes
    doc_id: str

    @property
    def name(self) -> str:
        """The path as the caller gave it, used in ``Document.source`` and in errors."""
        return str(self.path)

    def error(self, problem: str) -> InputError:
        """An InputError whose message starts with the file path, then the problem."""
        return InputError(f"{self.path}: {problem}")

    def text(self) -> str:
        """The file decoded as UTF-8 (or UTF-16 or UTF-32 when it starts with their byte order
        mark) with ``\\n`` line ends.

        Raises:
            InputError: the file is binary, does not decode, or holds only whitespace.
        """
        text = self._decode()
        text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            raise self.error("empty document")
        return text

    def _decode(self) -> str:
        encoding = next((name for bom, name in _BOMS if self.data.startswith(bom)), None)
        if encoding is None:
            if b"\x00" in self.data[:_BINARY_PROBE]:
                raise self.error("binary file, not text")
            return self._decode_as("UTF-8")
        text = self._decode_as(encoding)
        # In UTF-16 and UTF-32 most text has NUL bytes: only a NUL character means binary.
        if "\x00" in text[:_BINARY_PROBE]:
            raise self.error("binary file, not text")
        return text

    def _decode_as(self, encoding: str) -> str:
        try:
            # The "utf-16" and "utf-32" codecs read the byte order from the mark and drop it.
            return self.data.decode(encoding.lower())
        except UnicodeDecodeError as exc:
            raise self.error(f"invalid {encoding} at byte {exc.start}") from None


def base_doc_id(path: Path, base: Path | None) -> str:
    """The path relative to ``base``, in posix form, without its suffix."""
    stem = path.with_suffix("")
    if base is None:
        return stem.name
    try:
        return stem.relative_to(base).as_posix()
    except ValueError:
        # A file outside its base still needs a stable id: use the path itself.
        return stem.as_posix()


def unique_slug(text: str, taken: set[str]) -> str:
    """``slugify(text)``, made unique within ``taken`` (which it updates) by a number."""
    slug = slugify(text) or "question"
    candidate, n = slug, 1
    while candidate in taken:
        n += 1
        candidate = f"{slug}-{n}"
    taken.add(candidate)
    return candidate


def jsonable(value: Any) -> Any:
    """``value`` made JSON-safe, since metadata is stored as JSON (YAML gives dates)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def string_list(value: Any) -> list[str]:
    """Tags or keywords as a list of strings, from a list or a comma-separated string."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return [s for s in (str(item).strip() for item in items if item is not None) if s]


def normalise_space(text: str) -> str:
    """``text`` with every run of whitespace turned into one space, and stripped."""
    return " ".join(text.split())
