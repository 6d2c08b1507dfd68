"""Vault: local files → chunks → embeddings in SQLite → hybrid (FTS5 + cosine) search with citations."""
