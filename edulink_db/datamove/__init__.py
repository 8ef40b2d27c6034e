"""Phase 2 of the move: copy a legacy service database into the service's schema, verified.

Layers, one way: `mapping` (legacy/<service>.yaml, validated before anything connects) →
`catalog` (one bulk read of each side's tables) → `plan` (what moves where, in foreign-key
order) → `preflight` (every problem, before a row moves) → `transfer` (COPY streamed between
the two servers, one transaction per table) → `verify` (count and content checksum computed
by each server) → `runrecord` (what was copied, kept in the service's schema). `render` turns
plans and results into text; nothing in this package prints.
"""
