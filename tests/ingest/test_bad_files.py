"""Hostile and damaged files: each is read or refused with a one-line reason naming it, and
none hangs ingest or exhausts memory (docs/reliability.md, "Bad input")."""

from __future__ import annotations

from pathlib import Path

import pytest

from answerdb.errors import InputError
from answerdb.ingest import read_path


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# -- encodings ----------------------------------------------------------------------------
@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_text_with_a_utf16_or_utf32_byte_order_mark_is_decoded(tmp_path: Path, codec: str) -> None:
    # Python's "utf-16" and "utf-32" write a little-endian mark; the "-be" ones write none.
    data = "Hello wide world.\r\nSecond line é.".encode(codec)
    if codec.endswith("-be"):
        data = "\ufeff".encode(codec) + data
    (doc,) = read_path(write(tmp_path, "wide.txt", data))
    assert doc.text == "Hello wide world.\nSecond line é."


def test_utf16_with_a_broken_tail_names_the_byte(tmp_path: Path) -> None:
    data = "Hello.".encode("utf-16") + b"\x00"
    with pytest.raises(InputError, match=r"odd\.md: invalid UTF-16 at byte 14$"):
        read_path(write(tmp_path, "odd.md", data))


def test_utf16_with_nul_characters_is_binary(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nul\.txt: binary file, not text$"):
        read_path(write(tmp_path, "nul.txt", "text\x00\x01".encode("utf-16")))
