-- The original design's SQL, as written in its design note (reference for
-- benchmarks/deploy_cost): per service a schema, a NOLOGIN group role, GRANT ALL ON ALL
-- TABLES, the whole-table cross-service reads, and per table with RLS an ENABLE plus one
-- policy without USING. Tables come from the same migrations/<service>/*.sql files.
--
-- It is NOT correct (DESIGN.md, defects 1-8): the policies have no USING (the owner sees no
-- row, every INSERT fails with 42501), cross reads lack USAGE on the schema, FKs lack
-- REFERENCES, GRANT ALL ON ALL TABLES misses tables created later, there is no login role,
-- no limits or search_path, owners bypass RLS (no FORCE), and cross reads are whole-table
-- (user_service_role may read auth_schema.users.password_hash). It is here to count what
-- the minimum hand-written setup costs, not as something to run against a real database.
--
-- run.py executes it as the admin on one connection, one statement per round trip (what
-- `psql -f` does): phase 1, then the migrations (the tables), then phases 2 and 3.

-- Phase 1: schemas and roles
CREATE SCHEMA auth_schema;
CREATE ROLE auth_service_role NOLOGIN;
CREATE SCHEMA institution_schema;
CREATE ROLE institution_service_role NOLOGIN;
CREATE SCHEMA user_schema;
CREATE ROLE user_service_role NOLOGIN;
CREATE SCHEMA notification_schema;
CREATE ROLE notification_service_role NOLOGIN;
CREATE SCHEMA application_schema;
CREATE ROLE application_service_role NOLOGIN;
CREATE SCHEMA internship_schema;
CREATE ROLE internship_service_role NOLOGIN;

-- (the tables: migrations/<service>/0001_baseline.sql)

-- Phase 2: grants
GRANT ALL ON ALL TABLES IN SCHEMA auth_schema TO auth_service_role;
GRANT ALL ON ALL TABLES IN SCHEMA institution_schema TO institution_service_role;
GRANT ALL ON ALL TABLES IN SCHEMA user_schema TO user_service_role;
GRANT ALL ON ALL TABLES IN SCHEMA notification_schema TO notification_service_role;
GRANT ALL ON ALL TABLES IN SCHEMA application_schema TO application_service_role;
GRANT ALL ON ALL TABLES IN SCHEMA internship_schema TO internship_service_role;
GRANT SELECT ON auth_schema.users TO user_service_role;
GRANT SELECT ON institution_schema.institutions TO user_service_role;
GRANT SELECT ON institution_schema.programs TO user_service_role;
GRANT SELECT ON auth_schema.users TO notification_service_role;
GRANT SELECT ON user_schema.user_profiles TO notification_service_role;
GRANT SELECT ON user_schema.user_profiles TO application_service_role;
GRANT SELECT ON institution_schema.programs TO application_service_role;
GRANT SELECT ON user_schema.user_profiles TO internship_service_role;
GRANT SELECT ON institution_schema.institutions TO internship_service_role;

-- Phase 3: row-level security
ALTER TABLE auth_schema.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth_service_policy ON auth_schema.users FOR ALL TO auth_service_role;
ALTER TABLE auth_schema.user_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth_service_policy ON auth_schema.user_sessions FOR ALL TO auth_service_role;
ALTER TABLE auth_schema.password_reset_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth_service_policy ON auth_schema.password_reset_tokens FOR ALL TO auth_service_role;
ALTER TABLE auth_schema.email_verification_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth_service_policy ON auth_schema.email_verification_tokens FOR ALL TO auth_service_role;
ALTER TABLE auth_schema.oauth_providers ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth_service_policy ON auth_schema.oauth_providers FOR ALL TO auth_service_role;
ALTER TABLE auth_schema.security_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth_service_policy ON auth_schema.security_logs FOR ALL TO auth_service_role;
ALTER TABLE institution_schema.registration_codes ENABLE ROW LEVEL SECURITY;
CREATE POLICY institution_service_policy ON institution_schema.registration_codes FOR ALL TO institution_service_role;
ALTER TABLE user_schema.user_profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_service_policy ON user_schema.user_profiles FOR ALL TO user_service_role;
ALTER TABLE user_schema.academic_information ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_service_policy ON user_schema.academic_information FOR ALL TO user_service_role;
ALTER TABLE user_schema.contact_information ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_service_policy ON user_schema.contact_information FOR ALL TO user_service_role;
ALTER TABLE user_schema.preferences ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_service_policy ON user_schema.preferences FOR ALL TO user_service_role;
ALTER TABLE user_schema.profile_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_service_policy ON user_schema.profile_history FOR ALL TO user_service_role;
ALTER TABLE notification_schema.notification_queue ENABLE ROW LEVEL SECURITY;
CREATE POLICY notification_service_policy ON notification_schema.notification_queue FOR ALL TO notification_service_role;
ALTER TABLE notification_schema.notification_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY notification_service_policy ON notification_schema.notification_history FOR ALL TO notification_service_role;
ALTER TABLE notification_schema.delivery_preferences ENABLE ROW LEVEL SECURITY;
CREATE POLICY notification_service_policy ON notification_schema.delivery_preferences FOR ALL TO notification_service_role;
ALTER TABLE application_schema.applications ENABLE ROW LEVEL SECURITY;
CREATE POLICY application_service_policy ON application_schema.applications FOR ALL TO application_service_role;
ALTER TABLE application_schema.application_documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY application_service_policy ON application_schema.application_documents FOR ALL TO application_service_role;
ALTER TABLE application_schema.application_reviews ENABLE ROW LEVEL SECURITY;
CREATE POLICY application_service_policy ON application_schema.application_reviews FOR ALL TO application_service_role;
ALTER TABLE internship_schema.internship_applications ENABLE ROW LEVEL SECURITY;
CREATE POLICY internship_service_policy ON internship_schema.internship_applications FOR ALL TO internship_service_role;
ALTER TABLE internship_schema.internship_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY internship_service_policy ON internship_schema.internship_progress FOR ALL TO internship_service_role;
ALTER TABLE internship_schema.internship_evaluations ENABLE ROW LEVEL SECURITY;
CREATE POLICY internship_service_policy ON internship_schema.internship_evaluations FOR ALL TO internship_service_role;
