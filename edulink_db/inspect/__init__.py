"""Phase 4: watch each service on the shared database, as `supabase inspect db` does for a
whole project, but per service and with what only this platform knows (the plan's limits and
timeouts, its policies, its foreign keys).

Layers, one way: `fetch` (one bulk read per statistics view, all inside one REPEATABLE READ
READ ONLY transaction) → `snapshot` (plain frozen values) → `plans` (EXPLAIN of a bounded
number of the services' top statements, for the RLS init-plan check) → `reports` (the
sections a person reads) and `checks` (findings with levels against `thresholds`) →
`render` (table, JSON, Prometheus text exposition). Nothing in this package prints.
"""
