-- user service: a request acting for one profile reads that profile's preferences.
-- The setting is transaction-local (set_config(..., true)), as through the transaction pooler.
\set n random(1, :rows)
BEGIN;
SELECT set_config('edulink.acting_profile_id', md5(:n::text)::uuid::text, true);
SELECT * FROM user_schema.preferences WHERE profile_id = md5(:n::text)::uuid;
COMMIT;
