"""The embedded store: one folder holding a SQLite catalog with FTS5, memory-mapped quantised
vectors and an HNSW graph over them (docs/architecture.md)."""
