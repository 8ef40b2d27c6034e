-- A runaway query: sleeps longer than the role's statement_timeout (pgbench -D sleep=<s>).
SELECT pg_sleep(:sleep);
