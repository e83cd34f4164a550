"""The errors answerdb raises; each message names the problem and where it is."""

from __future__ import annotations


class AnswerDBError(Exception):
    """Base of every error answerdb raises on purpose."""


class InputError(AnswerDBError, ValueError):
    """A file, line or argument that cannot be used; the message names it."""


class ModelMismatchError(AnswerDBError):
    """The knowledge base was built with another embedding model than the one given."""


class LockedError(AnswerDBError):
    """Another process holds the knowledge base's writer lock."""


class StoreError(AnswerDBError):
    """The store cannot do what was asked (disk full, read-only, damaged files)."""
