"""Keyword query text: what FTS5 and Milvus are asked for."""

from __future__ import annotations

from answerdb.store.embedded.fts import match_expression
from answerdb.store.milvus.analyzer import passage_terms, query_terms


def test_a_compound_goes_in_as_a_phrase_beside_its_words() -> None:
    assert match_expression("How do I use os.path?") == '"os path" OR "use" OR "os" OR "path"'
    assert match_expression("std::vector and IL-6") == (
        '"std vector" OR "il 6" OR "std" OR "vector" OR "il" OR "6"'
    )


def test_abbreviations_and_sentence_ends_make_no_phrase() -> None:
    assert match_expression("e.g. sorting.") == '"e" OR "g" OR "sorting"'


def test_milvus_terms_join_the_neighbours_of_a_compound() -> None:
    assert query_terms("os.path.join") == "opath pathjoin o path join"
    assert passage_terms("IL-6", "Call os.path here.").split()[-3:] == ["il6", "il6", "opath"]
