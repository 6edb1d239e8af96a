-- PostgreSQL indexes a department's open queue by due time in this version
-- (cases_department_due, see its migration). SQLite answers that list in ~20 ms at 10,000,000
-- cases from cases_department, and another index would cost its single writer at intake, so
-- nothing changes here; the version exists to keep both trees in step.
SELECT 1;
