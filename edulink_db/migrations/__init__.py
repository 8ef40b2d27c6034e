"""Versioned SQL migrations: files on disk, the table shapes they build, and the runner."""
