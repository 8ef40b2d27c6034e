-- notification service: baseline schema (notification_schema).
-- Templates, channels, the delivery queue and its history, per-user delivery preferences.
-- Declared cross-service reference (catalogue.yaml): auth_schema.users(id) only.
-- user_schema.user_profiles is read (names for personalisation) but NOT referenced: no FK to it.
-- updated_at columns are maintained by the application (no triggers by policy).

create table notification_schema.notification_channels (
    id              uuid        not null default gen_random_uuid(),
    code            text        not null,
    display_name    text        not null,
    provider        text,
    is_enabled      boolean     not null default true,
    -- non-secret provider configuration only (credentials live in the secret store)
    config          jsonb       not null default '{}'::jsonb,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint notification_channels_pkey primary key (id),
    constraint notification_channels_code_key unique (code),
    constraint notification_channels_code_chk check (code in ('email', 'sms', 'push', 'in_app')),
    constraint notification_channels_config_object_chk check (jsonb_typeof(config) = 'object')
);

create table notification_schema.notification_templates (
    id              uuid        not null default gen_random_uuid(),
    channel_id      uuid        not null,
    template_key    text        not null,
    locale          text        not null default 'en',
    category        text        not null,
    subject         text,
    body            text        not null,
    version         integer     not null default 1,
    is_active       boolean     not null default true,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint notification_templates_pkey primary key (id),
    constraint notification_templates_channel_key_locale_key unique (channel_id, template_key, locale),
    -- a channel cannot be removed while templates still use it
    constraint notification_templates_channel_id_fkey foreign key (channel_id)
        references notification_schema.notification_channels (id) on delete restrict,
    constraint notification_templates_key_format_chk check (template_key ~ '^[a-z][a-z0-9_.]{0,99}$'),
    constraint notification_templates_locale_chk check (locale ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'),
    constraint notification_templates_category_chk check (category in
        ('account', 'security', 'application', 'internship', 'institution', 'system', 'marketing')),
    constraint notification_templates_body_chk check (length(body) > 0),
    constraint notification_templates_version_chk check (version > 0)
);
-- channel_id is covered by notification_templates_channel_key_locale_key (leading column).

create table notification_schema.notification_queue (
    id                  uuid        not null default gen_random_uuid(),
    user_id             uuid        not null,
    channel_id          uuid        not null,
    template_id         uuid,
    subject             text,
    body                text,
    payload             jsonb       not null default '{}'::jsonb,
    priority            smallint    not null default 5,
    status              text        not null default 'pending',
    attempts            integer     not null default 0,
    max_attempts        integer     not null default 5,
    scheduled_at        timestamptz not null default now(),
    locked_at           timestamptz,
    sent_at             timestamptz,
    last_error          text,
    -- originating event: service name plus that service's row id (e.g. an application id);
    -- plain uuid, no FK (no declared reference to the originating service)
    source_service      text,
    source_reference_id uuid,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint notification_queue_pkey primary key (id),
    -- cross-service (declared): pending deliveries for a deleted account are meaningless
    -- and hold personal data, so they go with the account
    constraint notification_queue_user_id_fkey foreign key (user_id)
        references auth_schema.users (id) on delete cascade,
    -- a channel cannot be removed while deliveries are queued on it
    constraint notification_queue_channel_id_fkey foreign key (channel_id)
        references notification_schema.notification_channels (id) on delete restrict,
    -- a template cannot be removed while deliveries still use it
    constraint notification_queue_template_id_fkey foreign key (template_id)
        references notification_schema.notification_templates (id) on delete restrict,
    constraint notification_queue_content_chk check (template_id is not null or body is not null),
    constraint notification_queue_payload_object_chk check (jsonb_typeof(payload) = 'object'),
    constraint notification_queue_priority_chk check (priority between 0 and 9),
    constraint notification_queue_status_chk check (status in ('pending', 'processing', 'sent', 'failed', 'cancelled')),
    constraint notification_queue_attempts_chk check (attempts >= 0 and max_attempts > 0 and attempts <= max_attempts),
    constraint notification_queue_sent_chk check ((status = 'sent') = (sent_at is not null)),
    constraint notification_queue_source_service_chk check (source_service is null or source_service in
        ('auth', 'institution', 'user', 'notification', 'application', 'internship')),
    constraint notification_queue_source_chk check (source_reference_id is null or source_service is not null)
);
create index notification_queue_user_id_idx on notification_schema.notification_queue (user_id);
create index notification_queue_channel_id_idx on notification_schema.notification_queue (channel_id);
create index notification_queue_template_id_idx on notification_schema.notification_queue (template_id);
-- worker poll: next due pending deliveries
create index notification_queue_due_idx on notification_schema.notification_queue (priority, scheduled_at)
    where status = 'pending';
comment on column notification_schema.notification_queue.source_reference_id is
    'Row id in the originating service (source_service). Plain uuid, deliberately no foreign key.';

create table notification_schema.notification_history (
    id                  uuid        not null default gen_random_uuid(),
    queue_id            uuid,
    user_id             uuid,
    channel_id          uuid,
    template_id         uuid,
    status              text        not null,
    provider_message_id text,
    error_message       text,
    occurred_at         timestamptz not null default now(),
    created_at          timestamptz not null default now(),
    constraint notification_history_pkey primary key (id),
    -- log reference: history outlives purged queue rows
    constraint notification_history_queue_id_fkey foreign key (queue_id)
        references notification_schema.notification_queue (id) on delete set null,
    -- cross-service (declared), log reference: history is kept, anonymised, when the account is deleted
    constraint notification_history_user_id_fkey foreign key (user_id)
        references auth_schema.users (id) on delete set null,
    -- log reference
    constraint notification_history_channel_id_fkey foreign key (channel_id)
        references notification_schema.notification_channels (id) on delete set null,
    -- log reference
    constraint notification_history_template_id_fkey foreign key (template_id)
        references notification_schema.notification_templates (id) on delete set null,
    constraint notification_history_status_chk check (status in
        ('sent', 'delivered', 'opened', 'bounced', 'failed', 'cancelled'))
);
create index notification_history_queue_id_idx on notification_schema.notification_history (queue_id);
create index notification_history_user_id_occurred_at_idx on notification_schema.notification_history (user_id, occurred_at);
create index notification_history_channel_id_idx on notification_schema.notification_history (channel_id);
create index notification_history_template_id_idx on notification_schema.notification_history (template_id);

create table notification_schema.delivery_preferences (
    id                  uuid        not null default gen_random_uuid(),
    user_id             uuid        not null,
    channel_id          uuid        not null,
    category            text        not null,
    is_enabled          boolean     not null default true,
    frequency           text        not null default 'immediate',
    quiet_hours_start   time,
    quiet_hours_end     time,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint delivery_preferences_pkey primary key (id),
    constraint delivery_preferences_user_channel_category_key unique (user_id, channel_id, category),
    -- cross-service (declared): preferences are owned by the account
    constraint delivery_preferences_user_id_fkey foreign key (user_id)
        references auth_schema.users (id) on delete cascade,
    -- a preference for a removed channel is meaningless
    constraint delivery_preferences_channel_id_fkey foreign key (channel_id)
        references notification_schema.notification_channels (id) on delete cascade,
    constraint delivery_preferences_category_chk check (category in
        ('account', 'security', 'application', 'internship', 'institution', 'system', 'marketing')),
    constraint delivery_preferences_frequency_chk check (frequency in ('immediate', 'daily_digest', 'weekly_digest')),
    constraint delivery_preferences_quiet_hours_chk check ((quiet_hours_start is null) = (quiet_hours_end is null))
);
-- user_id is covered by delivery_preferences_user_channel_category_key (leading column).
create index delivery_preferences_channel_id_idx on notification_schema.delivery_preferences (channel_id);
