"""`python -m edulink_db` is the `edulink-db` command."""

from edulink_db.cli.app import main

main()
