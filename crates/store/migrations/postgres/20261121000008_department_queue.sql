-- A department's open queue, due first (the list a department's handler opens every morning).
-- Without it PostgreSQL fetched every case the department ever had (24,538 heap rows for one
-- department at 10,000,000 cases, 268 ms) to sort the few open ones by due time. Walking this
-- index in the list's order (`stage_due_at ASC NULLS LAST, id`) reaches the open cases first:
-- a case's due time is cleared when its clock stops, so closed cases sit at the end.
-- PostgreSQL only: SQLite answers the same list in ~20 ms at 10,000,000 cases from
-- `cases_department`, and another index there would cost intake on its single writer.
CREATE INDEX cases_department_due ON cases(department, stage_due_at, id);
