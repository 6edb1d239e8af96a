-- Photos of cases uploaded through the web pages (report, handling, verification). The bytes are the
-- re-encoded image (EXIF and GPS dropped) and a small thumbnail; kept in the database so SQLite and
-- PostgreSQL deployments back up the same way.
CREATE TABLE case_photos (
    county_code TEXT NOT NULL,
    id UUID NOT NULL,
    case_id UUID NOT NULL,
    -- the step the photo documents: report, handle, verify, self_handle, …
    action TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    image BYTEA NOT NULL,
    thumb BYTEA NOT NULL,
    uploaded_by UUID,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX case_photos_case ON case_photos (county_code, case_id, created_at);
