"""Roll a moved service back: copy its schema into a standalone database shaped like its
legacy one, by the inverse of its `legacy/<service>.yaml` mapping.

Layers, one way: `inverse` (pure: which legacy column each target column gives back, and
how faithfully, read from the parsed transforms) → `run` (one read-only snapshot of the
service's schema, one transaction on the standalone database, COPY streamed between them,
and the data move's checksums to verify) → `render`. Nothing in this package prints.
"""
