-- internship service: baseline schema (internship_schema).
-- Internship postings, applications, progress and evaluations.
-- Declared cross-service references (catalogue.yaml): user_schema.user_profiles(id),
-- institution_schema.institutions(id). Cross-service FKs use ON DELETE RESTRICT
-- (profiles are soft-deleted, institutions deactivated).
-- updated_at columns are maintained by the application (no triggers by policy).

create table internship_schema.internship_postings (
    id                  uuid        not null default gen_random_uuid(),
    employer_profile_id uuid        not null,
    institution_id      uuid,
    title               text        not null,
    description         text        not null,
    company_name        text        not null,
    location            text,
    work_mode           text        not null default 'onsite',
    start_date          date,
    end_date            date,
    application_deadline date,
    positions           integer     not null default 1,
    stipend_amount      numeric(12, 2),
    stipend_currency    char(3),
    status              text        not null default 'draft',
    published_at        timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint internship_postings_pkey primary key (id),
    -- cross-service (declared): the employer who owns the posting; RESTRICT
    constraint internship_postings_employer_profile_id_fkey foreign key (employer_profile_id)
        references user_schema.user_profiles (id) on delete restrict,
    -- cross-service (declared): optional partner institution; RESTRICT
    constraint internship_postings_institution_id_fkey foreign key (institution_id)
        references institution_schema.institutions (id) on delete restrict,
    constraint internship_postings_title_chk check (length(btrim(title)) > 0),
    constraint internship_postings_work_mode_chk check (work_mode in ('onsite', 'remote', 'hybrid')),
    constraint internship_postings_dates_chk check (end_date is null or start_date is null or end_date >= start_date),
    constraint internship_postings_deadline_chk check (application_deadline is null or start_date is null or application_deadline <= start_date),
    constraint internship_postings_positions_chk check (positions > 0),
    constraint internship_postings_stipend_chk check (
        (stipend_amount is null or stipend_amount >= 0)
        and (stipend_currency is null or stipend_currency ~ '^[A-Z]{3}$')
        and (stipend_amount is null or stipend_currency is not null)),
    constraint internship_postings_status_chk check (status in ('draft', 'open', 'closed', 'filled', 'cancelled')),
    constraint internship_postings_published_chk check (status = 'draft' or published_at is not null)
);
create index internship_postings_employer_profile_id_idx on internship_schema.internship_postings (employer_profile_id);
create index internship_postings_institution_id_idx on internship_schema.internship_postings (institution_id);
create index internship_postings_open_deadline_idx on internship_schema.internship_postings (application_deadline)
    where status = 'open';

create table internship_schema.internship_applications (
    id                  uuid        not null default gen_random_uuid(),
    posting_id          uuid        not null,
    applicant_profile_id uuid       not null,
    status              text        not null default 'submitted',
    cover_letter        text,
    resume_url          text,
    submitted_at        timestamptz not null default now(),
    decided_at          timestamptz,
    decision_notes      text,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint internship_applications_pkey primary key (id),
    -- one application per student and posting
    constraint internship_applications_posting_applicant_key unique (posting_id, applicant_profile_id),
    -- RESTRICT: a posting with applicants is closed/cancelled, not deleted (the
    -- applications are also the student's records)
    constraint internship_applications_posting_id_fkey foreign key (posting_id)
        references internship_schema.internship_postings (id) on delete restrict,
    -- cross-service (declared): the applicant; RESTRICT
    constraint internship_applications_applicant_profile_id_fkey foreign key (applicant_profile_id)
        references user_schema.user_profiles (id) on delete restrict,
    constraint internship_applications_status_chk check (status in
        ('submitted', 'under_review', 'shortlisted', 'interview', 'offered',
         'accepted', 'rejected', 'withdrawn', 'completed')),
    constraint internship_applications_decided_chk check (decided_at is null or decided_at >= submitted_at)
);
-- posting_id is covered by internship_applications_posting_applicant_key (leading column).
create index internship_applications_applicant_profile_id_idx on internship_schema.internship_applications (applicant_profile_id);

create table internship_schema.internship_progress (
    id                  uuid        not null default gen_random_uuid(),
    application_id      uuid        not null,
    period_start        date        not null,
    period_end          date        not null,
    hours_logged        numeric(6, 2) not null default 0,
    activities          text,
    learning_outcomes   text,
    supervisor_feedback text,
    status              text        not null default 'draft',
    submitted_at        timestamptz,
    approved_at         timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint internship_progress_pkey primary key (id),
    constraint internship_progress_application_period_key unique (application_id, period_start),
    -- progress reports are owned by the placement (application)
    constraint internship_progress_application_id_fkey foreign key (application_id)
        references internship_schema.internship_applications (id) on delete cascade,
    constraint internship_progress_period_chk check (period_end >= period_start),
    constraint internship_progress_hours_chk check (hours_logged >= 0 and hours_logged <= (period_end - period_start + 1) * 24),
    constraint internship_progress_status_chk check (status in ('draft', 'submitted', 'approved', 'rejected')),
    constraint internship_progress_submitted_chk check (status = 'draft' or submitted_at is not null),
    constraint internship_progress_approved_chk check ((status = 'approved') = (approved_at is not null))
);
-- application_id is covered by internship_progress_application_period_key (leading column).

create table internship_schema.internship_evaluations (
    id                  uuid        not null default gen_random_uuid(),
    application_id      uuid        not null,
    evaluator_profile_id uuid       not null,
    evaluator_role      text        not null,
    evaluation_type     text        not null,
    overall_rating      smallint,
    criteria_scores     jsonb       not null default '{}'::jsonb,
    strengths           text,
    areas_for_improvement text,
    comments            text,
    submitted_at        timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint internship_evaluations_pkey primary key (id),
    constraint internship_evaluations_application_evaluator_type_key
        unique (application_id, evaluator_profile_id, evaluation_type),
    -- evaluations are owned by the placement (application)
    constraint internship_evaluations_application_id_fkey foreign key (application_id)
        references internship_schema.internship_applications (id) on delete cascade,
    -- cross-service (declared): the evaluator; RESTRICT
    constraint internship_evaluations_evaluator_profile_id_fkey foreign key (evaluator_profile_id)
        references user_schema.user_profiles (id) on delete restrict,
    constraint internship_evaluations_evaluator_role_chk check (evaluator_role in ('employer', 'institution_staff', 'student')),
    constraint internship_evaluations_type_chk check (evaluation_type in ('midterm', 'final', 'self')),
    constraint internship_evaluations_rating_chk check (overall_rating is null or overall_rating between 1 and 5),
    constraint internship_evaluations_criteria_object_chk check (jsonb_typeof(criteria_scores) = 'object'),
    constraint internship_evaluations_submitted_chk check (submitted_at is null or overall_rating is not null)
);
-- application_id is covered by internship_evaluations_application_evaluator_type_key (leading column).
create index internship_evaluations_evaluator_profile_id_idx on internship_schema.internship_evaluations (evaluator_profile_id);
