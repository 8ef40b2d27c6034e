"""The `edulink-db` command line: parses arguments and prints; the work is in the core."""
