"""Settings of a service's Django project: the database comes from the generated module.

The test overrides only where the database is, because Supabase is not here: HOST, PORT and
USER point at the local PgBouncer or PostgreSQL (which knows no `<role>.<ref>` user names),
NAME at the test's database, and sslmode follows the test server (`require` where its build
serves TLS, as generated; `disable` on a build without it). Every other key is used exactly
as generated.
"""

import os

from edulink_db_settings import DATABASES

DATABASES["default"].update(
    HOST=os.environ["EDULINK_HOST"],
    PORT=os.environ["EDULINK_PORT"],
    USER=os.environ["EDULINK_USER"],
    NAME=os.environ["EDULINK_DBNAME"],
)
DATABASES["default"]["OPTIONS"]["sslmode"] = os.environ["EDULINK_SSLMODE"]

SECRET_KEY = "test-only-not-secret"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "edulink_reads",
    f"{os.environ['EDULINK_SERVICE']}_app",
]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
