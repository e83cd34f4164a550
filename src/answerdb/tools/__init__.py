"""Tools above the Store contract: import vectors, migrate between stores, evaluate."""
