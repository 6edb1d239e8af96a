-- safegrid initial schema (PostgreSQL). Never edit an applied migration: add a new one.
-- Times are UTC milliseconds since the epoch (BIGINT) on both backends, so ordering and arithmetic agree.
-- Big tables carry the 6-digit county code in their primary and unique keys (distributable by county).

CREATE TABLE regions (
    code TEXT PRIMARY KEY,
    parent_code TEXT REFERENCES regions(code),
    level SMALLINT NOT NULL,
    name TEXT NOT NULL,
    geometry TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX regions_parent ON regions(parent_code);

CREATE TABLE grids (
    county_code TEXT NOT NULL,
    code TEXT NOT NULL,
    village_code TEXT NOT NULL REFERENCES regions(code),
    name TEXT NOT NULL,
    geometry TEXT NOT NULL,
    households BIGINT NOT NULL DEFAULT 0,
    area_m2 DOUBLE PRECISION NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (county_code, code)
);
CREATE INDEX grids_code ON grids(code);
CREATE INDEX grids_village ON grids(village_code);

CREATE TABLE departments (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions(code),
    active BOOLEAN NOT NULL
);

CREATE TABLE categories (
    code TEXT PRIMARY KEY,
    case_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    class_code TEXT NOT NULL,
    class_zh TEXT NOT NULL,
    class_en TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    department_kind TEXT NOT NULL,
    keywords TEXT NOT NULL,
    icon TEXT NOT NULL,
    attributes TEXT NOT NULL,
    active BOOLEAN NOT NULL
);

CREATE TABLE deadline_limits (
    category_code TEXT NOT NULL REFERENCES categories(code),
    urgency TEXT NOT NULL,
    stage TEXT NOT NULL,
    limit_text TEXT NOT NULL,
    PRIMARY KEY (category_code, urgency, stage)
);

CREATE TABLE calendar_days (
    day TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id UUID PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    department_code TEXT REFERENCES departments(code),
    regions TEXT NOT NULL,
    grids TEXT NOT NULL,
    disabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE cases (
    county_code TEXT NOT NULL,
    id UUID NOT NULL,
    number TEXT NOT NULL,
    tracking_code TEXT NOT NULL,
    case_type TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    urgency TEXT NOT NULL,
    channel TEXT NOT NULL,
    description TEXT NOT NULL,
    address TEXT,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    grid_code TEXT,
    region_code TEXT NOT NULL,
    needs_grid BOOLEAN NOT NULL,
    needs_location BOOLEAN NOT NULL,
    department TEXT,
    reporter_name TEXT,
    reporter_phone TEXT,
    reporter_user UUID,
    created_by UUID,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    registered_at BIGINT,
    dispatched_at BIGINT,
    handled_at BIGINT,
    verified_at BIGINT,
    closed_at BIGINT,
    due_at BIGINT,
    stage TEXT,
    stage_limit TEXT,
    stage_started_at BIGINT,
    stage_due_at BIGINT,
    stage_yellow_at BIGINT,
    light TEXT NOT NULL,
    suspended_from TEXT,
    suspended_remaining BIGINT,
    supervision TEXT,
    expedited BOOLEAN NOT NULL,
    duplicate_of UUID,
    rating SMALLINT,
    rework_count INTEGER NOT NULL,
    return_count INTEGER NOT NULL,
    extension_count INTEGER NOT NULL,
    pending_extension TEXT,
    ever_overdue BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (county_code, id),
    UNIQUE (county_code, number)
);
CREATE INDEX cases_id ON cases(id);
CREATE INDEX cases_tracking ON cases(tracking_code);
CREATE INDEX cases_created ON cases(created_at);
CREATE INDEX cases_region ON cases(region_code, created_at);
CREATE INDEX cases_status ON cases(status, created_at);
CREATE INDEX cases_department ON cases(department, status);
CREATE INDEX cases_grid ON cases(grid_code, status);
CREATE INDEX cases_watch ON cases(stage_yellow_at);

CREATE TABLE case_events (
    county_code TEXT NOT NULL,
    case_id UUID NOT NULL,
    seq INTEGER NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor_id UUID,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    at BIGINT NOT NULL,
    note TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (county_code, case_id, seq)
);

CREATE TABLE case_number_seq (
    county_code TEXT NOT NULL,
    day TEXT NOT NULL,
    last_seq BIGINT NOT NULL,
    PRIMARY KEY (county_code, day)
);

-- KPI counters (综合评价) kept as cases move: one row per (county, node, day reported).
-- node = a 12-digit region code, a 15-digit grid code, or 'dept:' + a department code.
CREATE TABLE kpi_daily (
    county_code TEXT NOT NULL,
    node TEXT NOT NULL,
    day INTEGER NOT NULL,
    reported BIGINT NOT NULL DEFAULT 0,
    grid_reports BIGINT NOT NULL DEFAULT 0,
    grid_reports_registered BIGINT NOT NULL DEFAULT 0,
    registered BIGINT NOT NULL DEFAULT 0,
    registered_on_time BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    voided BIGINT NOT NULL DEFAULT 0,
    merged BIGINT NOT NULL DEFAULT 0,
    self_handled BIGINT NOT NULL DEFAULT 0,
    dispatched BIGINT NOT NULL DEFAULT 0,
    dispatch_events BIGINT NOT NULL DEFAULT 0,
    returned BIGINT NOT NULL DEFAULT 0,
    handled BIGINT NOT NULL DEFAULT 0,
    handled_on_time BIGINT NOT NULL DEFAULT 0,
    reworked BIGINT NOT NULL DEFAULT 0,
    verifications BIGINT NOT NULL DEFAULT 0,
    verifications_on_time BIGINT NOT NULL DEFAULT 0,
    closed BIGINT NOT NULL DEFAULT 0,
    closed_on_time BIGINT NOT NULL DEFAULT 0,
    overdue BIGINT NOT NULL DEFAULT 0,
    extended BIGINT NOT NULL DEFAULT 0,
    suspended BIGINT NOT NULL DEFAULT 0,
    supervised BIGINT NOT NULL DEFAULT 0,
    rated BIGINT NOT NULL DEFAULT 0,
    satisfied BIGINT NOT NULL DEFAULT 0,
    rating_sum BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (county_code, node, day)
);
CREATE INDEX kpi_daily_node ON kpi_daily(node, day);

-- Persisted periodic jobs: claimed with a lease so that two runners never fire one job twice.
CREATE TABLE jobs (
    name TEXT PRIMARY KEY,
    run_at BIGINT NOT NULL,
    every_ms BIGINT NOT NULL,
    locked_until BIGINT,
    locked_by TEXT,
    last_run_at BIGINT,
    last_result TEXT,
    runs BIGINT NOT NULL DEFAULT 0
);
