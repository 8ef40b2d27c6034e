"""manage.py of the test projects; EDULINK_DRIVER=psycopg2 runs the project on psycopg2."""

import os
import sys

if __name__ == "__main__":
    if os.environ.get("EDULINK_DRIVER") == "psycopg2":
        # Django uses psycopg 3 whenever it can import it; a service still on psycopg2
        # simply does not have it installed. Make the import fail the same way.
        sys.modules["psycopg"] = None  # type: ignore[assignment]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
