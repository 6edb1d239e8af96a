-- safegrid initial schema (SQLite). Never edit an applied migration: add a new one.
-- Times are UTC milliseconds since the epoch (BIGINT) on both backends, so ordering and arithmetic agree.
-- Big tables carry the 6-digit county code in their primary and unique keys (distributable by county).

CREATE TABLE regions (
    code TEXT PRIMARY KEY,
    parent_code TEXT REFERENCES regions(code),
    level SMALLINT NOT NULL,
    name TEXT NOT NULL,
    geometry TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX regions_parent ON regions(parent_code);

CREATE TABLE grids (
    county_code TEXT NOT NULL,
    code TEXT NOT NULL,
    village_code TEXT NOT NULL REFERENCES regions(code),
    name TEXT NOT NULL,
    geometry TEXT NOT NULL,
    households INTEGER NOT NULL DEFAULT 0,
    area_m2 REAL NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
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
    active INTEGER NOT NULL
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
    active INTEGER NOT NULL
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
    id BLOB PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    department_code TEXT REFERENCES departments(code),
    regions TEXT NOT NULL,
    grids TEXT NOT NULL,
    disabled INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);

CREATE TABLE cases (
    county_code TEXT NOT NULL,
    id BLOB NOT NULL,
    number TEXT NOT NULL,
    tracking_code TEXT NOT NULL,
    case_type TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    urgency TEXT NOT NULL,
    channel TEXT NOT NULL,
    description TEXT NOT NULL,
    address TEXT,
    lat REAL,
    lon REAL,
    grid_code TEXT,
    region_code TEXT NOT NULL,
    needs_grid INTEGER NOT NULL,
    needs_location INTEGER NOT NULL,
    department TEXT,
    reporter_name TEXT,
    reporter_phone TEXT,
    reporter_user BLOB,
    created_by BLOB,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    registered_at INTEGER,
    dispatched_at INTEGER,
    handled_at INTEGER,
    verified_at INTEGER,
    closed_at INTEGER,
    due_at INTEGER,
    stage TEXT,
    stage_limit TEXT,
    stage_started_at INTEGER,
    stage_due_at INTEGER,
    stage_yellow_at INTEGER,
    light TEXT NOT NULL,
    suspended_from TEXT,
    suspended_remaining INTEGER,
    supervision TEXT,
    expedited INTEGER NOT NULL,
    duplicate_of BLOB,
    rating SMALLINT,
    rework_count INTEGER NOT NULL,
    return_count INTEGER NOT NULL,
    extension_count INTEGER NOT NULL,
    pending_extension TEXT,
    ever_overdue INTEGER NOT NULL,
    version INTEGER NOT NULL,
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
    case_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor_id BLOB,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    at INTEGER NOT NULL,
    note TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (county_code, case_id, seq)
);

CREATE TABLE case_number_seq (
    county_code TEXT NOT NULL,
    day TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (county_code, day)
);

-- KPI counters (综合评价) kept as cases move: one row per (county, node, day reported).
-- node = a 12-digit region code, a 15-digit grid code, or 'dept:' + a department code.
CREATE TABLE kpi_daily (
    county_code TEXT NOT NULL,
    node TEXT NOT NULL,
    day INTEGER NOT NULL,
    reported INTEGER NOT NULL DEFAULT 0,
    grid_reports INTEGER NOT NULL DEFAULT 0,
    grid_reports_registered INTEGER NOT NULL DEFAULT 0,
    registered INTEGER NOT NULL DEFAULT 0,
    registered_on_time INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    voided INTEGER NOT NULL DEFAULT 0,
    merged INTEGER NOT NULL DEFAULT 0,
    self_handled INTEGER NOT NULL DEFAULT 0,
    dispatched INTEGER NOT NULL DEFAULT 0,
    dispatch_events INTEGER NOT NULL DEFAULT 0,
    returned INTEGER NOT NULL DEFAULT 0,
    handled INTEGER NOT NULL DEFAULT 0,
    handled_on_time INTEGER NOT NULL DEFAULT 0,
    reworked INTEGER NOT NULL DEFAULT 0,
    verifications INTEGER NOT NULL DEFAULT 0,
    verifications_on_time INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0,
    closed_on_time INTEGER NOT NULL DEFAULT 0,
    overdue INTEGER NOT NULL DEFAULT 0,
    extended INTEGER NOT NULL DEFAULT 0,
    suspended INTEGER NOT NULL DEFAULT 0,
    supervised INTEGER NOT NULL DEFAULT 0,
    rated INTEGER NOT NULL DEFAULT 0,
    satisfied INTEGER NOT NULL DEFAULT 0,
    rating_sum INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (county_code, node, day)
);
CREATE INDEX kpi_daily_node ON kpi_daily(node, day);

-- Persisted periodic jobs: claimed with a lease so that two runners never fire one job twice.
CREATE TABLE jobs (
    name TEXT PRIMARY KEY,
    run_at INTEGER NOT NULL,
    every_ms INTEGER NOT NULL,
    locked_until INTEGER,
    locked_by TEXT,
    last_run_at INTEGER,
    last_result TEXT,
    runs INTEGER NOT NULL DEFAULT 0
);
