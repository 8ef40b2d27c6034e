-- auth service: baseline schema (auth_schema).
-- Accounts, credentials, sessions and security events.
-- auth references nothing outside auth_schema.
-- updated_at columns are maintained by the application (no triggers by policy).

create table auth_schema.users (
    id              uuid        not null default gen_random_uuid(),
    email           text        not null,
    password_hash   text,
    is_active       boolean     not null default true,
    is_staff        boolean     not null default false,
    email_verified  boolean     not null default false,
    email_verified_at timestamptz,
    failed_login_attempts integer not null default 0,
    locked_until    timestamptz,
    last_login_at   timestamptz,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint users_pkey primary key (id),
    constraint users_email_key unique (email),
    constraint users_email_format_chk check (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' and length(email) <= 320),
    -- emails are stored normalised so that the unique constraint is case-insensitive in effect
    constraint users_email_lowercase_chk check (email = lower(email)),
    constraint users_password_hash_not_blank_chk check (password_hash is null or length(password_hash) > 0),
    constraint users_failed_login_attempts_chk check (failed_login_attempts >= 0),
    constraint users_email_verified_at_chk check (email_verified or email_verified_at is null)
);
comment on column auth_schema.users.password_hash is
    'Password hash (never plaintext). NULL for accounts that only sign in through an OAuth provider.';

create table auth_schema.user_sessions (
    id                  uuid        not null default gen_random_uuid(),
    user_id             uuid        not null,
    session_token_hash  text        not null,
    ip_address          inet,
    user_agent          text,
    created_at          timestamptz not null default now(),
    last_seen_at        timestamptz not null default now(),
    expires_at          timestamptz not null,
    revoked_at          timestamptz,
    constraint user_sessions_pkey primary key (id),
    constraint user_sessions_session_token_hash_key unique (session_token_hash),
    -- a session belongs to its account: deleting the account ends its sessions
    constraint user_sessions_user_id_fkey foreign key (user_id)
        references auth_schema.users (id) on delete cascade,
    constraint user_sessions_expiry_chk check (expires_at > created_at),
    constraint user_sessions_revoked_chk check (revoked_at is null or revoked_at >= created_at)
);
create index user_sessions_user_id_idx on auth_schema.user_sessions (user_id);
create index user_sessions_expires_at_idx on auth_schema.user_sessions (expires_at);

create table auth_schema.password_reset_tokens (
    id          uuid        not null default gen_random_uuid(),
    user_id     uuid        not null,
    token_hash  text        not null,
    requested_ip inet,
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    used_at     timestamptz,
    constraint password_reset_tokens_pkey primary key (id),
    constraint password_reset_tokens_token_hash_key unique (token_hash),
    -- tokens are owned by the account
    constraint password_reset_tokens_user_id_fkey foreign key (user_id)
        references auth_schema.users (id) on delete cascade,
    constraint password_reset_tokens_expiry_chk check (expires_at > created_at),
    constraint password_reset_tokens_used_chk check (used_at is null or used_at >= created_at)
);
create index password_reset_tokens_user_id_idx on auth_schema.password_reset_tokens (user_id);

create table auth_schema.email_verification_tokens (
    id          uuid        not null default gen_random_uuid(),
    user_id     uuid        not null,
    email       text        not null,
    token_hash  text        not null,
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    used_at     timestamptz,
    constraint email_verification_tokens_pkey primary key (id),
    constraint email_verification_tokens_token_hash_key unique (token_hash),
    -- tokens are owned by the account
    constraint email_verification_tokens_user_id_fkey foreign key (user_id)
        references auth_schema.users (id) on delete cascade,
    constraint email_verification_tokens_email_format_chk check (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' and email = lower(email)),
    constraint email_verification_tokens_expiry_chk check (expires_at > created_at),
    constraint email_verification_tokens_used_chk check (used_at is null or used_at >= created_at)
);
create index email_verification_tokens_user_id_idx on auth_schema.email_verification_tokens (user_id);
comment on column auth_schema.email_verification_tokens.email is
    'The address being verified (may differ from users.email during an email change).';

create table auth_schema.oauth_providers (
    id                      uuid        not null default gen_random_uuid(),
    user_id                 uuid        not null,
    provider                text        not null,
    provider_user_id        text        not null,
    provider_email          text,
    access_token_encrypted  text,
    refresh_token_encrypted text,
    token_expires_at        timestamptz,
    scopes                  text[]      not null default '{}',
    created_at              timestamptz not null default now(),
    updated_at              timestamptz not null default now(),
    constraint oauth_providers_pkey primary key (id),
    -- one link per provider account, and one link per provider per user
    constraint oauth_providers_provider_account_key unique (provider, provider_user_id),
    constraint oauth_providers_user_provider_key unique (user_id, provider),
    -- a provider link is owned by the account
    constraint oauth_providers_user_id_fkey foreign key (user_id)
        references auth_schema.users (id) on delete cascade,
    constraint oauth_providers_provider_chk check (provider in ('google', 'microsoft', 'github', 'linkedin', 'apple')),
    constraint oauth_providers_provider_user_id_chk check (length(provider_user_id) > 0)
);
-- user_id is covered by oauth_providers_user_provider_key (leading column).

create table auth_schema.security_logs (
    id          uuid        not null default gen_random_uuid(),
    user_id     uuid,
    event_type  text        not null,
    severity    text        not null default 'info',
    ip_address  inet,
    user_agent  text,
    details     jsonb       not null default '{}'::jsonb,
    created_at  timestamptz not null default now(),
    constraint security_logs_pkey primary key (id),
    -- log reference: the event survives account deletion, anonymised
    constraint security_logs_user_id_fkey foreign key (user_id)
        references auth_schema.users (id) on delete set null,
    constraint security_logs_event_type_chk check (event_type in (
        'login_succeeded', 'login_failed', 'logout',
        'password_changed', 'password_reset_requested', 'password_reset_completed',
        'email_verification_sent', 'email_verified', 'email_changed',
        'account_created', 'account_locked', 'account_unlocked', 'account_deactivated',
        'session_revoked', 'oauth_linked', 'oauth_unlinked', 'suspicious_activity')),
    constraint security_logs_severity_chk check (severity in ('info', 'warning', 'critical')),
    constraint security_logs_details_object_chk check (jsonb_typeof(details) = 'object')
);
create index security_logs_user_id_created_at_idx on auth_schema.security_logs (user_id, created_at);
create index security_logs_created_at_idx on auth_schema.security_logs (created_at);
