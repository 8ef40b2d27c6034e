-- institution service: baseline schema (institution_schema).
-- Institutions, their departments and programmes, registration codes and settings.
-- institution references nothing outside institution_schema.
-- updated_at columns are maintained by the application (no triggers by policy).

create table institution_schema.institutions (
    id              uuid        not null default gen_random_uuid(),
    name            text        not null,
    code            text        not null,
    institution_type text       not null default 'university',
    country_code    char(2),
    city            text,
    website_url     text,
    contact_email   text,
    is_active       boolean     not null default true,
    is_verified     boolean     not null default false,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint institutions_pkey primary key (id),
    constraint institutions_code_key unique (code),
    constraint institutions_name_not_blank_chk check (length(btrim(name)) > 0),
    constraint institutions_code_format_chk check (code ~ '^[A-Z0-9][A-Z0-9_-]{1,31}$'),
    constraint institutions_type_chk check (institution_type in
        ('university', 'college', 'polytechnic', 'technical_institute', 'other')),
    constraint institutions_country_code_chk check (country_code is null or country_code ~ '^[A-Z]{2}$'),
    constraint institutions_contact_email_chk check (contact_email is null or contact_email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$')
);

create table institution_schema.departments (
    id              uuid        not null default gen_random_uuid(),
    institution_id  uuid        not null,
    name            text        not null,
    code            text,
    is_active       boolean     not null default true,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint departments_pkey primary key (id),
    constraint departments_institution_name_key unique (institution_id, name),
    constraint departments_institution_code_key unique (institution_id, code),
    -- target of the composite FK from programs (keeps a programme inside its department's institution)
    constraint departments_id_institution_key unique (id, institution_id),
    -- departments are owned by their institution
    constraint departments_institution_id_fkey foreign key (institution_id)
        references institution_schema.institutions (id) on delete cascade,
    constraint departments_name_not_blank_chk check (length(btrim(name)) > 0)
);
-- institution_id is covered by departments_institution_name_key (leading column).

create table institution_schema.programs (
    id              uuid        not null default gen_random_uuid(),
    institution_id  uuid        not null,
    department_id   uuid        not null,
    name            text        not null,
    code            text        not null,
    level           text        not null,
    duration_months integer,
    capacity        integer,
    description     text,
    is_active       boolean     not null default true,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint programs_pkey primary key (id),
    constraint programs_institution_code_key unique (institution_id, code),
    -- programmes are owned by their institution
    constraint programs_institution_id_fkey foreign key (institution_id)
        references institution_schema.institutions (id) on delete cascade,
    -- programmes are owned by their department; the composite key also guarantees that
    -- the department belongs to the same institution
    constraint programs_department_fkey foreign key (department_id, institution_id)
        references institution_schema.departments (id, institution_id) on delete cascade,
    constraint programs_name_not_blank_chk check (length(btrim(name)) > 0),
    constraint programs_level_chk check (level in
        ('certificate', 'diploma', 'associate', 'bachelor', 'postgraduate_diploma', 'master', 'doctorate')),
    constraint programs_duration_chk check (duration_months is null or duration_months > 0),
    constraint programs_capacity_chk check (capacity is null or capacity >= 0)
);
-- institution_id is covered by programs_institution_code_key (leading column).
create index programs_department_id_institution_id_idx on institution_schema.programs (department_id, institution_id);

create table institution_schema.registration_codes (
    id              uuid        not null default gen_random_uuid(),
    institution_id  uuid        not null,
    code_hash       text        not null,
    label           text,
    intended_role   text        not null default 'student',
    max_uses        integer,
    use_count       integer     not null default 0,
    expires_at      timestamptz,
    revoked_at      timestamptz,
    -- auth_schema.users.id of the issuing staff member; no FK: institution declares no reads of auth
    created_by      uuid,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint registration_codes_pkey primary key (id),
    constraint registration_codes_code_hash_key unique (code_hash),
    -- codes are owned by their institution
    constraint registration_codes_institution_id_fkey foreign key (institution_id)
        references institution_schema.institutions (id) on delete cascade,
    constraint registration_codes_intended_role_chk check (intended_role in ('student', 'institution_staff')),
    constraint registration_codes_max_uses_chk check (max_uses is null or max_uses > 0),
    constraint registration_codes_use_count_chk check (use_count >= 0 and (max_uses is null or use_count <= max_uses)),
    constraint registration_codes_expiry_chk check (expires_at is null or expires_at > created_at),
    constraint registration_codes_revoked_chk check (revoked_at is null or revoked_at >= created_at)
);
create index registration_codes_institution_id_idx on institution_schema.registration_codes (institution_id);
comment on column institution_schema.registration_codes.created_by is
    'auth_schema.users.id of the issuer. Plain uuid, deliberately no foreign key (no declared cross-service reference).';

create table institution_schema.institution_settings (
    id              uuid        not null default gen_random_uuid(),
    institution_id  uuid        not null,
    setting_key     text        not null,
    setting_value   jsonb       not null,
    -- auth_schema.users.id of the last editor; no FK: institution declares no reads of auth
    updated_by      uuid,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint institution_settings_pkey primary key (id),
    constraint institution_settings_institution_key_key unique (institution_id, setting_key),
    -- settings are owned by their institution
    constraint institution_settings_institution_id_fkey foreign key (institution_id)
        references institution_schema.institutions (id) on delete cascade,
    constraint institution_settings_key_format_chk check (setting_key ~ '^[a-z][a-z0-9_.]{0,99}$')
);
-- institution_id is covered by institution_settings_institution_key_key (leading column).
comment on column institution_schema.institution_settings.updated_by is
    'auth_schema.users.id of the last editor. Plain uuid, deliberately no foreign key (no declared cross-service reference).';
