# The DuckDB side of `safegrid bench`: the same KPI figures safegrid keeps as counters, computed
# here from the raw case rows (exported by the bench as CSV), node by node, timed per query.
# Usage: python duckdb_kpi.py CASES_CSV PLAN_JSON OUT_JSON
import json
import sys
import time

import duckdb

csv_path, plan_path, out_path = sys.argv[1:4]
plan = json.load(open(plan_path))
con = duckdb.connect()
started = time.perf_counter()
con.execute(
    "CREATE TABLE cases AS SELECT * FROM read_csv(?, header = true, columns = {"
    "'region_code': 'VARCHAR', 'grid_code': 'VARCHAR', 'status': 'VARCHAR',"
    "'created_at': 'BIGINT', 'registered_at': 'BIGINT', 'handled_at': 'BIGINT',"
    "'closed_at': 'BIGINT', 'ever_overdue': 'INTEGER', 'rating': 'INTEGER',"
    "'rework_count': 'INTEGER'})",
    [csv_path],
)
load_secs = time.perf_counter() - started

# The counters behind the rates (same order as the bench's `FIGURES`), then the rates themselves,
# so DuckDB does the whole job the KPI endpoint does.
FIGURES = """
    count(*) AS reported,
    count(registered_at) AS registered,
    count(*) FILTER (WHERE status = 'voided') AS voided,
    count(closed_at) AS closed,
    count(*) FILTER (WHERE closed_at IS NOT NULL AND ever_overdue = 0) AS closed_on_time,
    count(handled_at) AS handled,
    count(*) FILTER (WHERE rework_count > 0) AS reworked,
    count(rating) AS rated,
    count(*) FILTER (WHERE rating >= 4) AS satisfied,
    coalesce(sum(rating), 0) AS rating_sum
"""
RATES = """
SELECT *,
    closed / nullif(registered - voided, 0) AS close_rate,
    closed_on_time / nullif(registered - voided, 0) AS on_time_close_rate,
    reworked / nullif(handled, 0) AS rework_rate,
    registered / nullif(reported, 0) AS valid_report_rate,
    satisfied / nullif(rated, 0) AS satisfaction_rate,
    rating_sum / nullif(rated, 0) AS mean_rating
FROM (SELECT {figures} FROM cases WHERE {where} AND created_at >= ? AND created_at < ?)
"""
region_sql = RATES.format(figures=FIGURES, where="starts_with(region_code, ?)")
grid_sql = RATES.format(figures=FIGURES, where="grid_code = ?")

out = {"load_secs": load_secs, "levels": [], "values": {}}
for level in plan["levels"]:
    sql = grid_sql if level["grid"] else region_sql
    # One untimed pass warms the caches, as the bench does for safegrid.
    for code, key in zip(level["codes"], level["keys"]):
        con.execute(sql, [key, plan["from_ms"], plan["to_ms"]]).fetchall()
    times = []
    for code, key in zip(level["codes"], level["keys"]):
        t = time.perf_counter()
        row = con.execute(sql, [key, plan["from_ms"], plan["to_ms"]]).fetchall()[0]
        times.append(time.perf_counter() - t)
        out["values"][code] = [int(v) for v in row[:10]]
    out["levels"].append({"level": level["level"], "seconds": times})
json.dump(out, open(out_path, "w"))
