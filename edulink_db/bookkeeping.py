"""The platform's own tables in each service's schema, beside the tables its migrations create.

Both are created by the service's group role and move with the schema: the migration history
(`migrations.runner`) and the record of data moved from the legacy server
(`datamove.runrecord`). The audit reads them as the platform's, not as unclassified tables.
"""

HISTORY_TABLE = "edulink_migrations"
RUN_TABLE = "edulink_data_migrations"
