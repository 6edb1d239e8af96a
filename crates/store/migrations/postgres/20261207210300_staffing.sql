-- Grid staffing (一人一格): who is responsible for each grid. The effective truth stays in
-- users.grids (what every scope check reads); each change of it through staffing is written in
-- the same transaction as a row here, so the history says who held a grid when and who changed it.
-- Few rows (a grid changes hands a few times a year), keyed by id; read by grid.

CREATE TABLE grid_staffing (
    id UUID NOT NULL PRIMARY KEY,
    grid_code TEXT NOT NULL,
    -- worker (网格员, one per grid) | leader (网格长)
    post TEXT NOT NULL,
    -- assign | handover | vacate
    kind TEXT NOT NULL,
    -- The account that holds the post after the change (none when vacated).
    user_id UUID,
    -- The account that held it before (none when it was vacant).
    previous_user_id UUID,
    -- What moved with a handover (JSON: open campaign tasks, cases awaiting verification, …).
    moved TEXT,
    note TEXT,
    by_user_id UUID,
    at BIGINT NOT NULL
);
CREATE INDEX grid_staffing_grid ON grid_staffing (grid_code, at);

-- An absence cover (代班): cover_user_id looks after absent_user_id's grids from starts_at until
-- ends_at (exclusive). Scope checks read the covers live at the time asked, so a cover ends by
-- itself; a cancelled cover keeps its row (cancelled_at) for the record.
CREATE TABLE grid_covers (
    id UUID NOT NULL PRIMARY KEY,
    absent_user_id UUID NOT NULL,
    cover_user_id UUID NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    note TEXT,
    created_by UUID,
    created_at BIGINT NOT NULL,
    cancelled_at BIGINT
);
CREATE INDEX grid_covers_cover ON grid_covers (cover_user_id, ends_at);
CREATE INDEX grid_covers_absent ON grid_covers (absent_user_id, ends_at);
