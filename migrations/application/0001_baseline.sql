-- application service: baseline schema (application_schema).
-- Admission applications to institution programmes and their review.
-- Declared cross-service references (catalogue.yaml): user_schema.user_profiles(id),
-- institution_schema.programs(id). Cross-service FKs to people and programmes use
-- ON DELETE RESTRICT (profiles are soft-deleted, programmes deactivated);
-- pure attribution columns use SET NULL.
-- updated_at columns are maintained by the application (no triggers by policy).

create table application_schema.applications (
    id                  uuid        not null default gen_random_uuid(),
    profile_id          uuid        not null,
    program_id          uuid        not null,
    status              text        not null default 'draft',
    intake_term         text,
    personal_statement  text,
    submitted_at        timestamptz,
    decided_at          timestamptz,
    decision_notes      text,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint applications_pkey primary key (id),
    -- one application per applicant and programme
    constraint applications_profile_program_key unique (profile_id, program_id),
    -- cross-service (declared): the applicant; RESTRICT
    constraint applications_profile_id_fkey foreign key (profile_id)
        references user_schema.user_profiles (id) on delete restrict,
    -- cross-service (declared): the programme applied to; RESTRICT
    constraint applications_program_id_fkey foreign key (program_id)
        references institution_schema.programs (id) on delete restrict,
    constraint applications_status_chk check (status in
        ('draft', 'submitted', 'under_review', 'shortlisted', 'interview',
         'offered', 'accepted', 'rejected', 'withdrawn')),
    constraint applications_intake_term_chk check (intake_term is null or intake_term ~ '^[0-9]{4}-[A-Za-z0-9_]{1,20}$'),
    constraint applications_submitted_chk check (status = 'draft' or submitted_at is not null),
    constraint applications_decided_chk check (
        (decided_at is null or submitted_at is not null and decided_at >= submitted_at)
        and (status not in ('offered', 'accepted', 'rejected') or decided_at is not null))
);
-- profile_id is covered by applications_profile_program_key (leading column).
create index applications_program_id_status_idx on application_schema.applications (program_id, status);

create table application_schema.application_documents (
    id                  uuid        not null default gen_random_uuid(),
    application_id      uuid        not null,
    document_type       text        not null,
    file_name           text        not null,
    storage_path        text        not null,
    mime_type           text        not null,
    file_size_bytes     bigint      not null,
    checksum_sha256     text,
    review_status       text        not null default 'pending',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint application_documents_pkey primary key (id),
    constraint application_documents_storage_path_key unique (storage_path),
    -- documents are owned by the application
    constraint application_documents_application_id_fkey foreign key (application_id)
        references application_schema.applications (id) on delete cascade,
    constraint application_documents_type_chk check (document_type in
        ('transcript', 'cv', 'cover_letter', 'recommendation_letter', 'identity_document', 'certificate', 'other')),
    constraint application_documents_file_name_chk check (length(btrim(file_name)) > 0),
    constraint application_documents_size_chk check (file_size_bytes > 0),
    constraint application_documents_checksum_chk check (checksum_sha256 is null or checksum_sha256 ~ '^[0-9a-f]{64}$'),
    constraint application_documents_review_status_chk check (review_status in ('pending', 'accepted', 'rejected'))
);
create index application_documents_application_id_idx on application_schema.application_documents (application_id);

create table application_schema.application_status_history (
    id                  uuid        not null default gen_random_uuid(),
    application_id      uuid        not null,
    from_status         text,
    to_status           text        not null,
    changed_by_profile_id uuid,
    reason              text,
    created_at          timestamptz not null default now(),
    constraint application_status_history_pkey primary key (id),
    -- history is owned by the application
    constraint application_status_history_application_id_fkey foreign key (application_id)
        references application_schema.applications (id) on delete cascade,
    -- cross-service (declared), attribution only: keep the history row if the actor's profile is erased
    constraint application_status_history_changed_by_fkey foreign key (changed_by_profile_id)
        references user_schema.user_profiles (id) on delete set null,
    constraint application_status_history_from_status_chk check (from_status is null or from_status in
        ('draft', 'submitted', 'under_review', 'shortlisted', 'interview',
         'offered', 'accepted', 'rejected', 'withdrawn')),
    constraint application_status_history_to_status_chk check (to_status in
        ('draft', 'submitted', 'under_review', 'shortlisted', 'interview',
         'offered', 'accepted', 'rejected', 'withdrawn')),
    constraint application_status_history_change_chk check (from_status is distinct from to_status)
);
create index application_status_history_application_id_created_at_idx
    on application_schema.application_status_history (application_id, created_at);
create index application_status_history_changed_by_idx
    on application_schema.application_status_history (changed_by_profile_id);

create table application_schema.application_reviews (
    id                  uuid        not null default gen_random_uuid(),
    application_id      uuid        not null,
    reviewer_profile_id uuid        not null,
    score               numeric(5, 2),
    recommendation      text,
    comments            text,
    submitted_at        timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint application_reviews_pkey primary key (id),
    -- one review per reviewer per application
    constraint application_reviews_application_reviewer_key unique (application_id, reviewer_profile_id),
    -- reviews are owned by the application
    constraint application_reviews_application_id_fkey foreign key (application_id)
        references application_schema.applications (id) on delete cascade,
    -- cross-service (declared): the reviewer; RESTRICT
    constraint application_reviews_reviewer_profile_id_fkey foreign key (reviewer_profile_id)
        references user_schema.user_profiles (id) on delete restrict,
    constraint application_reviews_score_chk check (score is null or score between 0 and 100),
    constraint application_reviews_recommendation_chk check (recommendation is null or recommendation in
        ('strong_accept', 'accept', 'neutral', 'reject', 'strong_reject')),
    constraint application_reviews_submitted_chk check (submitted_at is null or recommendation is not null)
);
-- application_id is covered by application_reviews_application_reviewer_key (leading column).
create index application_reviews_reviewer_profile_id_idx on application_schema.application_reviews (reviewer_profile_id);
