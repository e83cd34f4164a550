"""Learn series: articles grouped by topic, as their front matter names it."""

from __future__ import annotations

from dataclasses import dataclass, field

from answerdb.types import Document


@dataclass
class Series:
    """A named group of articles, in reading order."""

    name: str
    articles: list[Document] = field(default_factory=list)


def series_from_metadata(documents: list[Document]) -> list[Series]:
    """Group documents by their ``series`` metadata; series sorted by name."""
    groups: dict[str, Series] = {}
    for doc in documents:
        name = str(doc.metadata.get("series", "")).strip()
        if name:
            groups.setdefault(name, Series(name)).articles.append(doc)
    return [groups[name] for name in sorted(groups)]
