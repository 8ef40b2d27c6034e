"""Back up one service's schema and restore it: into a scratch database for a drill, or in
place on the shared database without touching the other services.

Layers, one way: `catalog` (one bulk read of the schema: tables, columns, keys, foreign keys
in and out, sequences, migration history) → `manifest` (what a backup holds, validated with
pydantic before anything is restored) → `archive` (the file: a zip of the manifest, the
migration files that define the schema, and one COPY stream per table, each with its
SHA-256) → `dump` (backup) / `scratch` and `in_place` (restore; `references` checks what other
schemas point at, `bulk` loads rows before indexes and keys), both verified with the data
move's order-independent checksums → `render` (text). Nothing in this package prints.

Why COPY and not pg_dump: pg_dump must be of the server's major version or newer, and the
platform runs 15 and 17 (Supabase's current major) where no pg_dump 17 is at hand; and a
pg_dump of one schema carries its own roles, grants and policies and drops tables with
CASCADE on `--clean`, while an in-place restore must leave those to the platform and must
not cascade into the services that reference the schema. The schema's definitions are the
service's migration files, as recorded in its history.
"""
