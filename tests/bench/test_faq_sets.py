"""bench/faq_sets.py: its parsers on a sample of each FAQ format, and the folder it writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from answerdb.tools.evaluate import load_beir

BENCH = Path(__file__).parents[2] / "bench" / "faq_sets.py"


def faq_sets() -> ModuleType:
    spec = importlib.util.spec_from_file_location("faq_sets", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DEBIAN = """Contents
1.1. What is this FAQ?
Chapter 1. Definitions

1.1. What is this FAQ?

    It answers questions about\u00a0Debian.

1.2. What is the difference between Debian and other
distributions?

    Debian is made by volunteers.

2. Getting Debian
Chapter 2. Getting Debian
"""

GIT = """Configuration
-------------

[[user-name]]
What should I put in `user.name`?::
\tYour personal name.
+
Not a login name.

[[editor]]
How do I configure a different editor?::
\tSet core.editor.
"""

SQLITE = """<p><b>(1) How do I create an AUTOINCREMENT field?</b></p>
<blockquote>Declare it <a href="x">INTEGER PRIMARY KEY</a> &amp; done.</blockquote>"""

ZSH = """Intro text.
1.1: Sources of information

  Read the manual.

1.2: What is it?

  A shell.
Chapter 2:  How does zsh differ from...?
"""


def test_each_format_gives_its_questions_and_answers() -> None:
    m = faq_sets()
    assert m.debian_faq(DEBIAN) == [
        ("What is this FAQ?", "     It answers questions about Debian. "),
        (
            "What is the difference between Debian and other distributions?",
            "     Debian is made by volunteers. ",
        ),
    ]
    assert m.git_faq(GIT) == [
        ("What should I put in `user.name`?", "Your personal name.  Not a login name.  "),
        ("How do I configure a different editor?", "Set core.editor."),
    ]
    assert m.sqlite_faq(SQLITE) == [
        ("How do I create an AUTOINCREMENT field?", "Declare it  INTEGER PRIMARY KEY  & done.")
    ]
    assert m.zsh_faq(ZSH) == [
        ("Sources of information", "   Read the manual. "),
        ("What is it?", "   A shell."),
    ]


def test_written_set_keeps_questions_with_answers_and_loads(tmp_path: Path) -> None:
    pairs = [
        ("Why  is the sky blue?", "Light scatters off the air more at short wavelengths."),
        ("Feedback", "Send mail to the maintainers of this list, please."),
        ("Too short?", "Yes."),
    ]
    assert faq_sets().write_set(tmp_path / "set", pairs) == 1
    data = load_beir(tmp_path / "set")
    assert data.queries == {"q1": "Why is the sky blue?"}
    assert data.qrels == {"q1": {"d1": 1}}
