-- Disputes (矛盾纠纷, GB/T 31000 table 30) and petitions (信访): the records these case types carry
-- beside the case row. Each keys on (county_code, case_id) like the case, so it distributes with it.
-- Personal data: parties and agents only, as a mediation agreement or a reply needs them.

CREATE TABLE mediation_committees (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    region_code TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (region_code, name)
);

CREATE TABLE mediators (
    id BLOB PRIMARY KEY,
    committee_id BLOB NOT NULL REFERENCES mediation_committees(id),
    name TEXT NOT NULL,
    phone TEXT,
    user_id BLOB REFERENCES users(id),
    active INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX mediators_committee ON mediators(committee_id);
CREATE INDEX mediators_user ON mediators(user_id);

CREATE TABLE dispute_records (
    county_code TEXT NOT NULL,
    case_id BLOB NOT NULL,
    region_code TEXT NOT NULL,
    category TEXT NOT NULL,
    scale TEXT NOT NULL,
    grade TEXT NOT NULL,
    people_count BIGINT NOT NULL,
    units_involved TEXT,
    occurred_on TEXT,
    found_by TEXT NOT NULL,
    committee_id BLOB REFERENCES mediation_committees(id),
    mediator_id BLOB REFERENCES mediators(id),
    method TEXT,
    -- resolved | unresolved | handed_on | not_mediated, set when the dispute ends.
    outcome TEXT,
    concluded_at BIGINT,
    destination TEXT,
    destination_body TEXT,
    -- 化解结果 (the closing note) and the evaluation (评估日期, 评估意见) of table 30.
    result TEXT,
    evaluated_at BIGINT,
    evaluation TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (county_code, case_id)
);
CREATE INDEX dispute_records_region ON dispute_records(region_code, outcome);

CREATE TABLE dispute_parties (
    county_code TEXT NOT NULL,
    case_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT,
    id_number TEXT,
    PRIMARY KEY (county_code, case_id, seq)
);

CREATE TABLE mediation_sessions (
    county_code TEXT NOT NULL,
    case_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    held_on TEXT NOT NULL,
    place TEXT NOT NULL,
    attendees TEXT NOT NULL,
    notes TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (county_code, case_id, seq)
);

CREATE TABLE mediation_agreements (
    county_code TEXT NOT NULL,
    case_id BLOB NOT NULL,
    form TEXT NOT NULL,
    content TEXT NOT NULL,
    obligations TEXT,
    perform_by TEXT,
    agreed_at BIGINT NOT NULL,
    -- 司法确认: the parties may jointly apply within 30 日 of the agreement.
    confirmation_due_at BIGINT NOT NULL,
    confirmation_reminded_at BIGINT,
    court TEXT,
    court_confirmed INTEGER,
    court_recorded_at BIGINT,
    honoured INTEGER,
    followed_up_at BIGINT,
    PRIMARY KEY (county_code, case_id)
);
CREATE INDEX mediation_agreements_confirmation ON mediation_agreements(confirmation_due_at);

CREATE TABLE screening_reports (
    id BLOB PRIMARY KEY,
    grid_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    none_found INTEGER NOT NULL,
    notes TEXT,
    reported_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (grid_code, period_from, period_to)
);
CREATE INDEX screening_reports_region ON screening_reports(region_code, period_from);

CREATE TABLE screening_report_cases (
    report_id BLOB NOT NULL REFERENCES screening_reports(id),
    county_code TEXT NOT NULL,
    case_id BLOB NOT NULL,
    PRIMARY KEY (report_id, case_id)
);

CREATE TABLE petition_records (
    county_code TEXT NOT NULL,
    case_id BLOB NOT NULL,
    region_code TEXT NOT NULL,
    channel TEXT NOT NULL,
    petitioners BIGINT NOT NULL,
    agent_name TEXT,
    agent_phone TEXT,
    agent_relation TEXT,
    -- Later petitions on the same matter linked to this one (重复信访): counted here, not as new.
    repeat_count INTEGER NOT NULL DEFAULT 0,
    reply TEXT,
    replied_at BIGINT,
    review_answer TEXT,
    re_review_answer TEXT,
    -- The leader who took charge of the matter (包案领导).
    leader_id BLOB,
    leader_name TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (county_code, case_id)
);
CREATE INDEX petition_records_region ON petition_records(region_code);

-- KPI counters of mediation (调处成功率 = resolved / concluded), kept as disputes move.
ALTER TABLE kpi_daily ADD COLUMN disputes_concluded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kpi_daily ADD COLUMN disputes_resolved INTEGER NOT NULL DEFAULT 0;
