-- The six legacy service databases, as their Django apps left them (one section per service).
-- tests/datamove/legacy_world.py creates each section in its own database and fills it.

-- section: common
create table django_migrations (
    id serial primary key,
    app varchar(255) not null,
    name varchar(255) not null,
    applied timestamptz not null
);
create table django_session (
    session_key varchar(40) primary key,
    session_data text not null,
    expire_date timestamptz not null
);

-- section: auth
create table auth_user (
    id uuid primary key,
    password varchar(128) not null,
    last_login timestamptz,
    is_superuser boolean not null,
    username varchar(150) not null unique,
    first_name varchar(150) not null,
    last_name varchar(150) not null,
    email varchar(254) not null,
    is_staff boolean not null,
    is_active boolean not null,
    date_joined timestamptz not null,
    email_verified boolean not null default false,
    email_verified_on timestamptz,
    failed_login_count integer not null default 0,
    locked_until timestamptz,
    modified timestamptz not null
);
create table accounts_session (
    id uuid primary key,
    user_id uuid not null references auth_user (id) deferrable initially deferred,
    session_key_hash varchar(128) not null unique,
    ip varchar(45) not null default '',
    user_agent text not null default '',
    created timestamptz not null,
    last_activity timestamptz not null,
    expires timestamptz not null,
    revoked timestamptz
);
create table accounts_passwordresettoken (
    id uuid primary key,
    user_id uuid not null references auth_user (id) deferrable initially deferred,
    token_hash varchar(128) not null unique,
    requested_ip inet,
    created timestamptz not null,
    expires timestamptz not null,
    used timestamptz
);
create table accounts_emailverification (
    id uuid primary key,
    user_id uuid not null references auth_user (id) deferrable initially deferred,
    email varchar(254) not null,
    token_hash varchar(128) not null unique,
    created timestamptz not null,
    expires timestamptz not null,
    used timestamptz
);
create table social_auth_usersocialauth (
    id serial primary key,
    provider varchar(32) not null,
    uid varchar(255) not null,
    user_id uuid not null references auth_user (id) deferrable initially deferred,
    extra_data jsonb not null,
    created timestamptz not null,
    modified timestamptz not null,
    unique (provider, uid)
);
create table accounts_securityevent (
    id uuid primary key,
    user_id uuid references auth_user (id) deferrable initially deferred,
    event varchar(40) not null,
    level varchar(10) not null,
    ip_address inet,
    user_agent text,
    details text not null default '',
    created timestamp not null
);

-- section: institution
create table institutions_institution (
    id uuid primary key,
    name varchar(255) not null,
    code varchar(32) not null unique,
    kind varchar(30) not null,
    country varchar(2) not null default '',
    city varchar(100) not null default '',
    website varchar(200) not null default '',
    email varchar(254) not null default '',
    is_active boolean not null,
    verified boolean not null,
    logo varchar(100) not null default '',
    created timestamptz not null,
    modified timestamptz not null
);
create table institutions_department (
    id uuid primary key,
    institution_id uuid not null references institutions_institution (id),
    name varchar(255) not null,
    code varchar(20),
    is_active boolean not null,
    created timestamptz not null,
    modified timestamptz not null
);
create table institutions_programme (
    id uuid primary key,
    institution_id uuid not null references institutions_institution (id),
    department_id uuid not null references institutions_department (id),
    name varchar(255) not null,
    code varchar(30) not null,
    level varchar(30) not null,
    duration_months integer,
    capacity integer,
    description text not null default '',
    is_active boolean not null,
    created timestamptz not null,
    modified timestamptz not null
);
create table institutions_registrationcode (
    id uuid primary key,
    institution_id uuid not null references institutions_institution (id),
    code_hash varchar(128) not null unique,
    label varchar(100),
    role varchar(20) not null,
    max_uses integer,
    times_used integer not null,
    expires timestamptz,
    revoked timestamptz,
    created_by_id uuid,
    created timestamptz not null,
    modified timestamptz not null
);
create table institutions_setting (
    id uuid primary key,
    institution_id uuid not null references institutions_institution (id),
    key varchar(100) not null,
    value text not null,
    updated_by_id uuid,
    created timestamptz not null,
    modified timestamptz not null
);

-- section: user
create table profiles_userprofile (
    id uuid primary key,
    user_id uuid not null unique,
    first_name varchar(150) not null,
    last_name varchar(150) not null,
    display_name varchar(150) not null default '',
    user_type varchar(20) not null,
    institution_id uuid,
    company varchar(200) not null default '',
    job_title varchar(200) not null default '',
    bio text not null default '',
    avatar varchar(255) not null default '',
    dob date,
    is_deleted boolean not null default false,
    deleted_on timestamptz,
    created timestamptz not null,
    modified timestamptz not null
);
create table profiles_academicrecord (
    id uuid primary key,
    profile_id uuid not null references profiles_userprofile (id),
    institution_id uuid not null,
    programme_id uuid,
    student_number varchar(50),
    status varchar(20) not null,
    year_of_study smallint,
    start_date date,
    expected_graduation date,
    graduation_date date,
    gpa numeric(4, 2),
    gpa_scale numeric(4, 2),
    created timestamptz not null,
    modified timestamptz not null
);
create table profiles_contact (
    id uuid primary key,
    profile_id uuid not null references profiles_userprofile (id),
    kind varchar(20) not null,
    label varchar(50) not null default '',
    value varchar(255) not null,
    is_primary boolean not null,
    verified boolean not null,
    created timestamptz not null,
    modified timestamptz not null
);
create table profiles_preference (
    id uuid primary key,
    profile_id uuid not null unique references profiles_userprofile (id),
    language varchar(10) not null,
    tz varchar(64) not null,
    theme varchar(10) not null,
    visibility varchar(20) not null,
    show_email boolean not null,
    show_phone boolean not null,
    open_to_work boolean not null,
    created timestamptz not null,
    modified timestamptz not null
);
create table profiles_profilehistory (
    id uuid primary key,
    profile_id uuid not null references profiles_userprofile (id),
    change_type varchar(30) not null,
    changed_fields text not null default '',
    old_values jsonb,
    new_values jsonb,
    changed_by_id uuid,
    created timestamptz not null
);

-- section: notification
create table notifications_channel (
    id uuid primary key,
    code varchar(20) not null unique,
    name varchar(50) not null,
    provider varchar(50) not null default '',
    enabled boolean not null,
    config jsonb not null default '{}',
    created timestamptz not null,
    modified timestamptz not null
);
create table notifications_template (
    id uuid primary key,
    channel_id uuid not null references notifications_channel (id),
    key varchar(100) not null,
    locale varchar(10) not null,
    category varchar(30) not null,
    subject varchar(255) not null default '',
    body text not null,
    version integer not null,
    is_active boolean not null,
    created timestamptz not null,
    modified timestamptz not null
);
create table notifications_notification (
    id uuid primary key,
    user_id uuid not null,
    channel_id uuid not null references notifications_channel (id),
    template_id uuid references notifications_template (id),
    subject varchar(255),
    body text,
    context jsonb not null default '{}',
    priority smallint not null,
    status varchar(20) not null,
    attempts integer not null,
    max_attempts integer not null,
    send_after timestamptz not null,
    locked_at timestamptz,
    sent_at timestamptz,
    last_error text not null default '',
    source_app varchar(30),
    source_id uuid,
    created timestamptz not null,
    modified timestamptz not null
);
create table notifications_deliverylog (
    id uuid primary key,
    notification_id uuid references notifications_notification (id),
    user_id uuid,
    channel_id uuid references notifications_channel (id),
    template_id uuid references notifications_template (id),
    status varchar(20) not null,
    provider_message_id varchar(255),
    error text,
    occurred timestamptz not null,
    created timestamptz not null
);
create table notifications_preference (
    id uuid primary key,
    user_id uuid not null,
    channel_id uuid not null references notifications_channel (id),
    category varchar(30) not null,
    enabled boolean not null,
    frequency varchar(20) not null,
    quiet_start time,
    quiet_end time,
    created timestamptz not null,
    modified timestamptz not null
);

-- section: application
create table applications_application (
    id uuid primary key,
    applicant_id uuid not null,
    programme_id uuid not null,
    status varchar(20) not null,
    intake varchar(30),
    statement text not null default '',
    submitted timestamptz,
    decided timestamptz,
    decision_notes text not null default '',
    created timestamptz not null,
    modified timestamptz not null
);
create table applications_document (
    id uuid primary key,
    application_id uuid not null references applications_application (id),
    doc_type varchar(30) not null,
    file_name varchar(255) not null,
    file varchar(255) not null,
    content_type varchar(100) not null,
    size bigint not null,
    sha256 varchar(64),
    review_status varchar(20) not null,
    created timestamptz not null,
    modified timestamptz not null
);
create table applications_statuschange (
    id uuid primary key,
    application_id uuid not null references applications_application (id),
    old_status varchar(20),
    new_status varchar(20) not null,
    changed_by_id uuid,
    reason text not null default '',
    created timestamptz not null
);
create table applications_review (
    id uuid primary key,
    application_id uuid not null references applications_application (id),
    reviewer_id uuid not null,
    score numeric(5, 2),
    recommendation varchar(20),
    comments text not null default '',
    submitted timestamptz,
    created timestamptz not null,
    modified timestamptz not null
);

-- section: internship
create table internships_posting (
    id uuid primary key,
    employer_id uuid not null,
    partner_institution_id uuid,
    title varchar(200) not null,
    description text not null,
    company varchar(200) not null,
    location varchar(200) not null default '',
    mode varchar(10) not null,
    start_date date,
    end_date date,
    deadline date,
    slots integer not null,
    stipend numeric(12, 2),
    currency varchar(3),
    status varchar(20) not null,
    published timestamptz,
    created timestamptz not null,
    modified timestamptz not null
);
create table internships_application (
    id uuid primary key,
    posting_id uuid not null references internships_posting (id),
    student_id uuid not null,
    status varchar(20) not null,
    cover_letter text not null default '',
    resume varchar(255) not null default '',
    submitted timestamptz not null,
    decided timestamptz,
    decision_notes text not null default '',
    created timestamptz not null,
    modified timestamptz not null
);
create table internships_logbook (
    id uuid primary key,
    application_id uuid not null references internships_application (id),
    week_start date not null,
    week_end date not null,
    hours numeric(6, 2) not null,
    activities text not null default '',
    learning text not null default '',
    supervisor_comment text not null default '',
    status varchar(20) not null,
    submitted timestamptz,
    approved timestamptz,
    created timestamptz not null,
    modified timestamptz not null
);
create table internships_evaluation (
    id uuid primary key,
    application_id uuid not null references internships_application (id),
    evaluator_id uuid not null,
    evaluator_role varchar(20) not null,
    kind varchar(10) not null,
    rating smallint,
    criteria jsonb not null default '{}',
    strengths text not null default '',
    improvements text not null default '',
    comments text not null default '',
    submitted timestamptz,
    created timestamptz not null,
    modified timestamptz not null
);
