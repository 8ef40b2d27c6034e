"""Row-level security at deploy time: the statements that install policies, comparing
PostgreSQL's rendering of an expression with the plan's, and applying only what differs.

What a policy's expression and name are is decided below the plan, in `edulink_db.rowpolicy`.
"""
