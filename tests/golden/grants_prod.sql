-- application-references-institution_schema-programs
REVOKE REFERENCES ("id") ON TABLE "institution_schema"."programs" FROM "application_service_role";
GRANT REFERENCES ("id") ON TABLE "institution_schema"."programs" TO "application_service_role";
-- application-references-user_schema-user_profiles
REVOKE REFERENCES ("id") ON TABLE "user_schema"."user_profiles" FROM "application_service_role";
GRANT REFERENCES ("id") ON TABLE "user_schema"."user_profiles" TO "application_service_role";
-- application-select-institution_schema-programs
REVOKE SELECT ("id","institution_id","name","level") ON TABLE "institution_schema"."programs" FROM "application_service_role";
GRANT SELECT ("id","institution_id","name","level") ON TABLE "institution_schema"."programs" TO "application_service_role";
-- application-select-user_schema-user_profiles
REVOKE SELECT ("id","user_id","first_name","last_name") ON TABLE "user_schema"."user_profiles" FROM "application_service_role";
GRANT SELECT ("id","user_id","first_name","last_name") ON TABLE "user_schema"."user_profiles" TO "application_service_role";
-- application-usage-institution_schema
REVOKE ALL PRIVILEGES ON SCHEMA "institution_schema" FROM "application_service_role";
GRANT USAGE ON SCHEMA "institution_schema" TO "application_service_role";
-- application-usage-user_schema
REVOKE ALL PRIVILEGES ON SCHEMA "user_schema" FROM "application_service_role";
GRANT USAGE ON SCHEMA "user_schema" TO "application_service_role";
-- internship-references-institution_schema-institutions
REVOKE REFERENCES ("id") ON TABLE "institution_schema"."institutions" FROM "internship_service_role";
GRANT REFERENCES ("id") ON TABLE "institution_schema"."institutions" TO "internship_service_role";
-- internship-references-user_schema-user_profiles
REVOKE REFERENCES ("id") ON TABLE "user_schema"."user_profiles" FROM "internship_service_role";
GRANT REFERENCES ("id") ON TABLE "user_schema"."user_profiles" TO "internship_service_role";
-- internship-select-institution_schema-institutions
REVOKE SELECT ("id","name","is_active") ON TABLE "institution_schema"."institutions" FROM "internship_service_role";
GRANT SELECT ("id","name","is_active") ON TABLE "institution_schema"."institutions" TO "internship_service_role";
-- internship-select-user_schema-user_profiles
REVOKE SELECT ("id","user_id","first_name","last_name") ON TABLE "user_schema"."user_profiles" FROM "internship_service_role";
GRANT SELECT ("id","user_id","first_name","last_name") ON TABLE "user_schema"."user_profiles" TO "internship_service_role";
-- internship-usage-institution_schema
REVOKE ALL PRIVILEGES ON SCHEMA "institution_schema" FROM "internship_service_role";
GRANT USAGE ON SCHEMA "institution_schema" TO "internship_service_role";
-- internship-usage-user_schema
REVOKE ALL PRIVILEGES ON SCHEMA "user_schema" FROM "internship_service_role";
GRANT USAGE ON SCHEMA "user_schema" TO "internship_service_role";
-- notification-references-auth_schema-users
REVOKE REFERENCES ("id") ON TABLE "auth_schema"."users" FROM "notification_service_role";
GRANT REFERENCES ("id") ON TABLE "auth_schema"."users" TO "notification_service_role";
-- notification-select-auth_schema-users
REVOKE SELECT ("id","email","is_active") ON TABLE "auth_schema"."users" FROM "notification_service_role";
GRANT SELECT ("id","email","is_active") ON TABLE "auth_schema"."users" TO "notification_service_role";
-- notification-select-user_schema-user_profiles
REVOKE SELECT ("id","user_id","first_name","last_name") ON TABLE "user_schema"."user_profiles" FROM "notification_service_role";
GRANT SELECT ("id","user_id","first_name","last_name") ON TABLE "user_schema"."user_profiles" TO "notification_service_role";
-- notification-usage-auth_schema
REVOKE ALL PRIVILEGES ON SCHEMA "auth_schema" FROM "notification_service_role";
GRANT USAGE ON SCHEMA "auth_schema" TO "notification_service_role";
-- notification-usage-user_schema
REVOKE ALL PRIVILEGES ON SCHEMA "user_schema" FROM "notification_service_role";
GRANT USAGE ON SCHEMA "user_schema" TO "notification_service_role";
-- user-references-auth_schema-users
REVOKE REFERENCES ("id") ON TABLE "auth_schema"."users" FROM "user_service_role";
GRANT REFERENCES ("id") ON TABLE "auth_schema"."users" TO "user_service_role";
-- user-references-institution_schema-institutions
REVOKE REFERENCES ("id") ON TABLE "institution_schema"."institutions" FROM "user_service_role";
GRANT REFERENCES ("id") ON TABLE "institution_schema"."institutions" TO "user_service_role";
-- user-references-institution_schema-programs
REVOKE REFERENCES ("id") ON TABLE "institution_schema"."programs" FROM "user_service_role";
GRANT REFERENCES ("id") ON TABLE "institution_schema"."programs" TO "user_service_role";
-- user-select-auth_schema-users
REVOKE SELECT ("id","email","is_active") ON TABLE "auth_schema"."users" FROM "user_service_role";
GRANT SELECT ("id","email","is_active") ON TABLE "auth_schema"."users" TO "user_service_role";
-- user-select-institution_schema-institutions
REVOKE SELECT ("id","name","is_active") ON TABLE "institution_schema"."institutions" FROM "user_service_role";
GRANT SELECT ("id","name","is_active") ON TABLE "institution_schema"."institutions" TO "user_service_role";
-- user-select-institution_schema-programs
REVOKE SELECT ("id","institution_id","department_id","name","level") ON TABLE "institution_schema"."programs" FROM "user_service_role";
GRANT SELECT ("id","institution_id","department_id","name","level") ON TABLE "institution_schema"."programs" TO "user_service_role";
-- user-usage-auth_schema
REVOKE ALL PRIVILEGES ON SCHEMA "auth_schema" FROM "user_service_role";
GRANT USAGE ON SCHEMA "auth_schema" TO "user_service_role";
-- user-usage-institution_schema
REVOKE ALL PRIVILEGES ON SCHEMA "institution_schema" FROM "user_service_role";
GRANT USAGE ON SCHEMA "institution_schema" TO "user_service_role";
