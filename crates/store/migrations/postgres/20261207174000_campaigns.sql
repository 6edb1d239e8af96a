-- Screening campaigns (专项行动, 隐患排查整治): a checklist over the places of some kinds in a
-- territory; publishing gives every place a task, a grid worker's inspection answers it, and each
-- hazard answer opens a hazard case on the case engine (linked in campaign_hazards).
-- Campaigns are few (a county runs dozens a year) and keyed by id; tasks, inspections and hazard
-- links grow with places and are keyed on county_code like cases.

CREATE TABLE campaigns (
    id UUID NOT NULL PRIMARY KEY,
    title TEXT NOT NULL,
    -- routine | special | holiday | five_small | group_rental | work_safety | other
    kind TEXT NOT NULL,
    -- The territory (a region code of any level) whose places are covered.
    region_code TEXT NOT NULL,
    -- JSON array of place kind codes; [] covers every place of the territory.
    place_kinds TEXT NOT NULL,
    -- Local dates (Asia/Shanghai), both included.
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    -- draft | published | closed
    status TEXT NOT NULL,
    -- The checked checklist (domain: campaign::Checklist) as JSON.
    checklist TEXT NOT NULL,
    -- The department that runs it (a member department), or none for the command center.
    department_code TEXT,
    created_by UUID,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    published_at BIGINT,
    closed_at BIGINT,
    copied_from UUID,
    version BIGINT NOT NULL
);
CREATE INDEX campaigns_region ON campaigns (region_code, status);

-- One task per place at publishing (应查点位): due → inspected | unreachable.
CREATE TABLE campaign_tasks (
    county_code TEXT NOT NULL,
    campaign_id UUID NOT NULL,
    place_id UUID NOT NULL,
    grid_code TEXT,
    region_code TEXT NOT NULL,
    status TEXT NOT NULL,
    inspection_id UUID,
    visited_at BIGINT,
    PRIMARY KEY (county_code, campaign_id, place_id)
);
CREATE INDEX campaign_tasks_grid ON campaign_tasks (county_code, grid_code, status);
CREATE INDEX campaign_tasks_place ON campaign_tasks (county_code, place_id);

-- An inspection (检查记录), keyed by the id the phone generated: a retried upload finds it.
-- One per task: the unique key refuses a second visit under another id.
CREATE TABLE inspections (
    county_code TEXT NOT NULL,
    id UUID NOT NULL,
    campaign_id UUID NOT NULL,
    place_id UUID NOT NULL,
    grid_code TEXT,
    region_code TEXT NOT NULL,
    -- inspected | closed | not_found | refused_entry
    outcome TEXT NOT NULL,
    -- JSON object: item key → answer.
    answers TEXT NOT NULL,
    note TEXT,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    submitted_by UUID NOT NULL,
    submitted_at BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX inspections_task ON inspections (county_code, campaign_id, place_id);

-- Photos of an inspection, re-encoded (no EXIF), named as the checklist's photo answers name them.
CREATE TABLE inspection_photos (
    county_code TEXT NOT NULL,
    inspection_id UUID NOT NULL,
    name TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    image BYTEA NOT NULL,
    thumb BYTEA NOT NULL,
    PRIMARY KEY (county_code, inspection_id, name)
);

-- The hazard case an inspection's item opened, written in the case's registering transaction.
CREATE TABLE campaign_hazards (
    county_code TEXT NOT NULL,
    inspection_id UUID NOT NULL,
    item_key TEXT NOT NULL,
    case_id UUID NOT NULL,
    campaign_id UUID NOT NULL,
    place_id UUID NOT NULL,
    grid_code TEXT,
    region_code TEXT NOT NULL,
    severity TEXT NOT NULL,
    PRIMARY KEY (county_code, inspection_id, item_key)
);
CREATE INDEX campaign_hazards_campaign ON campaign_hazards (campaign_id, county_code);
CREATE INDEX campaign_hazards_place ON campaign_hazards (county_code, place_id);
