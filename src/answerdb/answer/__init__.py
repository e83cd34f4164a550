"""Answers above retrieval: the cited extractive answer, Keep Reading and learn series."""
