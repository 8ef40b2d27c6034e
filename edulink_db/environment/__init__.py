"""A stack's settings: where its database is and how carefully to treat it."""
