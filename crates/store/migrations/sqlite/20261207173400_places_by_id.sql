-- Places are addressed by id alone (`/api/v1/places/{id}`, a campaign's list of places), as cases
-- are (`cases_id`): the primary key leads with the county, so a lookup by id needs its own index.
-- Not unique, so that the table still distributes by county.
CREATE INDEX places_id ON places (id);
