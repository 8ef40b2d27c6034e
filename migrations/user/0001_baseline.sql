-- user service: baseline schema (user_schema).
-- Profiles of students, employers and institution staff.
-- Declared cross-service references (catalogue.yaml): auth_schema.users(id),
-- institution_schema.institutions(id), institution_schema.programs(id).
-- Cross-service FKs use ON DELETE RESTRICT: another service's delete must never
-- silently remove or rewrite rows in user_schema; accounts, institutions and
-- programmes are deactivated rather than deleted, and erasure is orchestrated.
-- updated_at columns are maintained by the application (no triggers by policy).

create table user_schema.user_profiles (
    id              uuid        not null default gen_random_uuid(),
    user_id         uuid        not null,
    first_name      text        not null,
    last_name       text        not null,
    display_name    text,
    role            text        not null,
    institution_id  uuid,
    company_name    text,
    job_title       text,
    bio             text,
    avatar_url      text,
    date_of_birth   date,
    deleted_at      timestamptz,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint user_profiles_pkey primary key (id),
    constraint user_profiles_user_id_key unique (user_id),
    -- cross-service (declared): the profile of an account; RESTRICT, the account
    -- cannot be hard-deleted while a profile exists (profiles are soft-deleted first)
    constraint user_profiles_user_id_fkey foreign key (user_id)
        references auth_schema.users (id) on delete restrict,
    -- cross-service (declared): optional affiliation; RESTRICT rather than SET NULL so the
    -- institution service never rewrites profiles (institutions are deactivated, not deleted)
    constraint user_profiles_institution_id_fkey foreign key (institution_id)
        references institution_schema.institutions (id) on delete restrict,
    constraint user_profiles_role_chk check (role in ('student', 'employer', 'institution_staff')),
    constraint user_profiles_first_name_chk check (length(btrim(first_name)) > 0),
    constraint user_profiles_last_name_chk check (length(btrim(last_name)) > 0),
    -- institution staff always belong to an institution
    constraint user_profiles_staff_institution_chk check (role <> 'institution_staff' or institution_id is not null),
    constraint user_profiles_date_of_birth_chk check (date_of_birth is null or date_of_birth > date '1900-01-01'),
    constraint user_profiles_deleted_at_chk check (deleted_at is null or deleted_at >= created_at)
);
-- user_id is covered by user_profiles_user_id_key.
create index user_profiles_institution_id_idx on user_schema.user_profiles (institution_id);
create index user_profiles_role_active_idx on user_schema.user_profiles (role) where deleted_at is null;

create table user_schema.academic_information (
    id              uuid        not null default gen_random_uuid(),
    profile_id      uuid        not null,
    institution_id  uuid        not null,
    program_id      uuid,
    student_number  text,
    enrollment_status text      not null default 'enrolled',
    year_of_study   smallint,
    start_date      date,
    expected_graduation_date date,
    graduation_date date,
    gpa             numeric(4, 2),
    gpa_scale       numeric(4, 2),
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint academic_information_pkey primary key (id),
    constraint academic_information_profile_program_key unique (profile_id, institution_id, program_id),
    -- academic records are owned by the profile
    constraint academic_information_profile_id_fkey foreign key (profile_id)
        references user_schema.user_profiles (id) on delete cascade,
    -- cross-service (declared): RESTRICT, see header
    constraint academic_information_institution_id_fkey foreign key (institution_id)
        references institution_schema.institutions (id) on delete restrict,
    -- cross-service (declared): RESTRICT, see header
    constraint academic_information_program_id_fkey foreign key (program_id)
        references institution_schema.programs (id) on delete restrict,
    constraint academic_information_status_chk check (enrollment_status in
        ('applicant', 'enrolled', 'on_leave', 'suspended', 'withdrawn', 'graduated')),
    constraint academic_information_year_chk check (year_of_study is null or year_of_study between 1 and 10),
    constraint academic_information_dates_chk check (
        (expected_graduation_date is null or start_date is null or expected_graduation_date >= start_date)
        and (graduation_date is null or start_date is null or graduation_date >= start_date)),
    constraint academic_information_gpa_chk check (
        (gpa is null or gpa >= 0)
        and (gpa_scale is null or gpa_scale > 0)
        and (gpa is null or gpa_scale is null or gpa <= gpa_scale))
);
-- profile_id is covered by academic_information_profile_program_key (leading column).
create index academic_information_institution_id_idx on user_schema.academic_information (institution_id);
create index academic_information_program_id_idx on user_schema.academic_information (program_id);
create unique index academic_information_student_number_key
    on user_schema.academic_information (institution_id, student_number)
    where student_number is not null;

create table user_schema.contact_information (
    id              uuid        not null default gen_random_uuid(),
    profile_id      uuid        not null,
    contact_type    text        not null,
    label           text,
    value           text        not null,
    is_primary      boolean     not null default false,
    is_verified     boolean     not null default false,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint contact_information_pkey primary key (id),
    constraint contact_information_profile_type_value_key unique (profile_id, contact_type, value),
    -- contact details are owned by the profile
    constraint contact_information_profile_id_fkey foreign key (profile_id)
        references user_schema.user_profiles (id) on delete cascade,
    constraint contact_information_type_chk check (contact_type in
        ('email', 'phone', 'mobile', 'address', 'website', 'linkedin', 'other')),
    constraint contact_information_value_chk check (length(btrim(value)) > 0),
    constraint contact_information_email_chk check (contact_type <> 'email' or value ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$')
);
-- profile_id is covered by contact_information_profile_type_value_key (leading column).
-- at most one primary contact per type
create unique index contact_information_one_primary_key
    on user_schema.contact_information (profile_id, contact_type)
    where is_primary;

create table user_schema.preferences (
    id                  uuid        not null default gen_random_uuid(),
    profile_id          uuid        not null,
    language            text        not null default 'en',
    timezone            text        not null default 'UTC',
    theme               text        not null default 'system',
    profile_visibility  text        not null default 'institution',
    show_email          boolean     not null default false,
    show_phone          boolean     not null default false,
    open_to_opportunities boolean   not null default true,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint preferences_pkey primary key (id),
    constraint preferences_profile_id_key unique (profile_id),
    -- preferences are owned by the profile
    constraint preferences_profile_id_fkey foreign key (profile_id)
        references user_schema.user_profiles (id) on delete cascade,
    constraint preferences_language_chk check (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'),
    constraint preferences_theme_chk check (theme in ('light', 'dark', 'system')),
    constraint preferences_visibility_chk check (profile_visibility in ('public', 'institution', 'private'))
);
-- profile_id is covered by preferences_profile_id_key.

create table user_schema.profile_history (
    id              uuid        not null default gen_random_uuid(),
    profile_id      uuid        not null,
    change_type     text        not null,
    changed_fields  text[]      not null default '{}',
    old_values      jsonb,
    new_values      jsonb,
    -- auth_schema.users.id of the actor; plain uuid, no FK: the audit record must keep
    -- the actor id even after that account is deleted
    changed_by      uuid,
    created_at      timestamptz not null default now(),
    constraint profile_history_pkey primary key (id),
    -- history is personal data owned by the profile: erased with it
    constraint profile_history_profile_id_fkey foreign key (profile_id)
        references user_schema.user_profiles (id) on delete cascade,
    constraint profile_history_change_type_chk check (change_type in
        ('created', 'updated', 'role_changed', 'institution_changed', 'deleted', 'restored'))
);
create index profile_history_profile_id_created_at_idx on user_schema.profile_history (profile_id, created_at);
comment on column user_schema.profile_history.changed_by is
    'auth_schema.users.id of the actor. Plain uuid, deliberately no foreign key: audit rows keep the id after account deletion.';
