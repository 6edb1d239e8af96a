-- Volunteer and patrol teams (群防群治: 平安志愿者队, 巡防队, 楼道长, 好邻居), their members (volunteers,
-- not accounts: a name, a phone shown masked, skills and the consent they gave), the public
-- sign-ups a command center approves, patrol schedules (a planned area or route, never a trail)
-- and patrol logs with their participants, findings and photos. Hours are summed from the logs'
-- participants and from manual service-hour entries on read.

CREATE TABLE volunteer_teams (
    id UUID NOT NULL PRIMARY KEY,
    county_code TEXT NOT NULL,
    name TEXT NOT NULL,
    -- volunteer | patrol | building_captain | good_neighbour | mediation | other
    kind TEXT NOT NULL,
    -- The territory: a region code (12 digits) of any level within one county.
    region_code TEXT NOT NULL,
    -- JSON array of grid codes inside the territory ([] for the whole territory).
    grids TEXT NOT NULL,
    -- A member (volunteer_members.id) who leads the team.
    leader_id UUID,
    -- The staff account the team is in touch with (a grid worker, a township's officer).
    contact_user_id UUID,
    -- active | disbanded
    status TEXT NOT NULL,
    created_by UUID,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX volunteer_teams_name ON volunteer_teams (region_code, name);
CREATE INDEX volunteer_teams_county ON volunteer_teams (county_code, region_code);

CREATE TABLE volunteer_members (
    id UUID NOT NULL PRIMARY KEY,
    team_id UUID NOT NULL,
    county_code TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    -- JSON array of skill codes from the closed list (domain: team::SKILLS).
    skills TEXT NOT NULL,
    -- Skills in the volunteer's own words, beside the list.
    skills_note TEXT,
    -- When the volunteer agreed, and to which version of the consent text: no member without it.
    consent_at BIGINT NOT NULL,
    consent_version TEXT NOT NULL,
    -- Local dates (Asia/Shanghai).
    joined_on TEXT NOT NULL,
    left_on TEXT,
    -- The sign-up it came from, if any.
    application_id UUID,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX volunteer_members_phone ON volunteer_members (team_id, phone);

-- A resident's sign-up from the public page, checked by a reference code instead of an account.
CREATE TABLE volunteer_applications (
    id UUID NOT NULL PRIMARY KEY,
    ref_code TEXT NOT NULL,
    -- The team chosen, or none when the resident chose only an area.
    team_id UUID,
    region_code TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    skills TEXT NOT NULL,
    skills_note TEXT,
    consent_at BIGINT NOT NULL,
    consent_version TEXT NOT NULL,
    -- pending | approved | declined
    status TEXT NOT NULL,
    reason TEXT,
    member_id UUID,
    decided_by UUID,
    decided_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX volunteer_applications_ref ON volunteer_applications (ref_code);
CREATE INDEX volunteer_applications_region ON volunteer_applications (region_code, status);

-- Service hours entered by hand (training, an event) beside the hours of patrol logs.
CREATE TABLE volunteer_hours (
    id UUID NOT NULL PRIMARY KEY,
    member_id UUID NOT NULL,
    team_id UUID NOT NULL,
    region_code TEXT NOT NULL,
    served_at BIGINT NOT NULL,
    minutes BIGINT NOT NULL,
    note TEXT NOT NULL,
    created_by UUID,
    created_at BIGINT NOT NULL
);
CREATE INDEX volunteer_hours_team ON volunteer_hours (team_id, served_at);
CREATE INDEX volunteer_hours_region ON volunteer_hours (region_code, served_at);

-- A planned patrol: who, when, which grids or which planned route (a GeoJSON LineString as
-- text). A plan, not a record of where anyone went.
CREATE TABLE patrol_schedules (
    id UUID NOT NULL PRIMARY KEY,
    team_id UUID NOT NULL,
    region_code TEXT NOT NULL,
    title TEXT NOT NULL,
    grids TEXT NOT NULL,
    route TEXT,
    -- JSON array of member ids ([] for the whole team).
    members TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    -- Repeats every week at the same time until this local date (included).
    weekly BOOLEAN NOT NULL,
    repeat_until TEXT,
    created_by UUID,
    created_at BIGINT NOT NULL
);
CREATE INDEX patrol_schedules_team ON patrol_schedules (team_id, starts_at);

-- A patrol that took place, keyed by the id the phone generated (a retried upload finds it).
CREATE TABLE patrol_logs (
    county_code TEXT NOT NULL,
    id UUID NOT NULL,
    team_id UUID NOT NULL,
    schedule_id UUID,
    region_code TEXT NOT NULL,
    grids TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT NOT NULL,
    minutes BIGINT NOT NULL,
    note TEXT,
    submitted_by UUID NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX patrol_logs_team ON patrol_logs (team_id, started_at);
CREATE INDEX patrol_logs_by ON patrol_logs (submitted_by, started_at);
CREATE INDEX patrol_logs_region ON patrol_logs (county_code, region_code, started_at);

-- Who took part, each credited with the patrol's minutes (their service hours).
CREATE TABLE patrol_log_members (
    county_code TEXT NOT NULL,
    log_id UUID NOT NULL,
    member_id UUID NOT NULL,
    team_id UUID NOT NULL,
    region_code TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    minutes BIGINT NOT NULL,
    PRIMARY KEY (county_code, log_id, member_id)
);
CREATE INDEX patrol_log_members_member ON patrol_log_members (member_id, started_at);
CREATE INDEX patrol_log_members_region ON patrol_log_members (county_code, region_code, started_at);

-- What a patrol found; case_id links the case it became (the case's report data links back).
CREATE TABLE patrol_findings (
    county_code TEXT NOT NULL,
    log_id UUID NOT NULL,
    n INTEGER NOT NULL,
    text TEXT NOT NULL,
    -- The case category asked for at submission: the case is opened (again after a broken
    -- first attempt) until case_id is set.
    category TEXT,
    address TEXT,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    case_id UUID,
    PRIMARY KEY (county_code, log_id, n)
);

-- Photos of a patrol's findings, re-encoded (no EXIF).
CREATE TABLE patrol_photos (
    county_code TEXT NOT NULL,
    log_id UUID NOT NULL,
    name TEXT NOT NULL,
    finding INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    image BYTEA NOT NULL,
    thumb BYTEA NOT NULL,
    PRIMARY KEY (county_code, log_id, name)
);
