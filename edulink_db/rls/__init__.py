"""Row-level security: policy expressions, the statements that install them, and applying."""
