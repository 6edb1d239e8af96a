//! KPI counter rows (综合评价): added to as cases move, summed per node and period on read.
//!
//! Two tables hold them. `kpi_daily` is the settled one, keyed by (node, day) so that a node's
//! period is one short range. Changes go first to `kpi_delta`, same columns and key, which holds
//! only what changed since the last [`Store::fold_kpi_delta`]: a new case adds to the day's rows of
//! its grid, village and township, which in a settled table of millions of rows sit at random
//! places, one page each for the single writer to fetch and log; in the delta they stay in memory,
//! and the fold writes them in key order when the server is quiet. Every read sums both tables in
//! one statement (one snapshot), so a fold never shows a count twice or not at all.

use crate::{Result, Store, with_pool};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use safegrid_domain::engine::Case;
use safegrid_domain::kpi::Counters;
use sqlx::AssertSqlSafe;

/// The counter day of a case: the Shanghai date it was reported, as yyyymmdd.
pub fn case_day(created_at: DateTime<Utc>) -> i32 {
    let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    day_number(created_at.with_timezone(&cst).date_naive())
}

pub fn day_number(d: NaiveDate) -> i32 {
    d.format("%Y%m%d").to_string().parse().unwrap_or(0)
}

/// The settled counter table: bulk loads write it directly.
pub(crate) const SETTLED: &str = "kpi_daily";
/// Changes since the last fold: every case's counter changes go here.
pub(crate) const DELTA: &str = "kpi_delta";

/// `SET` clauses adding `excluded`'s values of `cols` to `table`'s row.
fn add_sets(table: &str, cols: &[&str]) -> String {
    cols.iter()
        .map(|f| format!("{f} = {table}.{f} + excluded.{f}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn upsert_sql() -> String {
    let cols = Counters::FIELDS.join(", ");
    let ph: Vec<String> = (0..Counters::FIELDS.len())
        .map(|i| format!("${}", i + 4))
        .collect();
    format!(
        "INSERT INTO {DELTA} (county_code, node, day, {cols}) VALUES ($1, $2, $3, {}) ON CONFLICT (node, day, county_code) DO UPDATE SET {}",
        ph.join(", "),
        add_sets(DELTA, Counters::FIELDS)
    )
}

/// Adds `delta` to every node's row of the case's counter day (in the delta table), inside the
/// caller's transaction.
pub(crate) async fn add_counters<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    case: &Case,
    nodes: &[String],
    delta: &Counters,
) -> Result<()>
where
    DB: sqlx::Database,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i32: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    if delta.is_zero() {
        return Ok(());
    }
    let sql = upsert_sql();
    let day = case_day(case.created_at);
    for node in nodes {
        let mut q = sqlx::query::<DB>(AssertSqlSafe(sql.as_str()))
            .bind(row_county(&case.county_code, node).to_string())
            .bind(node.clone())
            .bind(day);
        for v in delta.values() {
            q = q.bind(v);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The `county_code` a counter row is kept under. Province and city nodes are kept under ""
/// (one row per node and day, not one per county): a province's KPI then sums 365 rows for a
/// year instead of 365 × its 90 counties, which is what keeps it under 20 ms. Those rows are few
/// (nodes × days), so in a distribution by county they sit on one shard like a reference table.
pub fn row_county<'a>(case_county: &'a str, node: &str) -> &'a str {
    let above_county = node.len() == 12
        && node.bytes().all(|b| b.is_ascii_digit())
        && node[4..].bytes().all(|b| b == b'0');
    if above_county { "" } else { case_county }
}

/// Adds to `stmts` the multi-row upserts into `table` ([`SETTLED`] or [`DELTA`]) of
/// pre-aggregated rows `(county, node, day, counters)`; rows that land on the same stored row
/// (see [`row_county`]) are merged first, since PostgreSQL refuses to update one row twice in a
/// statement.
pub(crate) fn push_counters<DB>(
    stmts: &mut crate::batch::Statements<DB>,
    table: &'static str,
    rows: &[(String, String, i32, Counters)],
) where
    DB: sqlx::Database,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i32: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut merged: Vec<(String, String, i32, Counters)> = Vec::with_capacity(rows.len());
    let mut at: std::collections::HashMap<(&str, &str, i32), usize> = Default::default();
    for (county, node, day, c) in rows {
        let county = row_county(county, node);
        match at.get(&(county, node.as_str(), *day)) {
            Some(&i) => merged[i].3.add(c),
            None => {
                at.insert((county, node.as_str(), *day), merged.len());
                merged.push((county.to_string(), node.clone(), *day, *c));
            }
        }
    }
    for chunk in merged.chunks(400) {
        // Only the counters some row of the chunk moves: a new case moves three or four of the
        // 28, and binding and re-adding the zeros was most of the statement's work.
        let values: Vec<Vec<i64>> = chunk.iter().map(|r| r.3.values()).collect();
        let used: Vec<usize> = (0..Counters::FIELDS.len())
            .filter(|&i| values.iter().any(|v| v[i] != 0))
            .collect();
        if used.is_empty() {
            continue;
        }
        let cols: Vec<&str> = used.iter().map(|&i| Counters::FIELDS[i]).collect();
        let qb = stmts.next(
            &format!(
                "INSERT INTO {table} (county_code, node, day, {}) ",
                cols.join(", ")
            ),
            "counter rows",
        );
        qb.push_values(
            chunk.iter().zip(values),
            |mut b, ((county, node, day, _), v)| {
                b.push_bind(county.clone())
                    .push_bind(node.clone())
                    .push_bind(*day);
                for &i in &used {
                    b.push_bind(v[i]);
                }
            },
        );
        qb.push(format!(
            " ON CONFLICT (node, day, county_code) DO UPDATE SET {}",
            add_sets(table, &cols)
        ));
    }
}

/// The rows of both counter tables that match `filter`: node and every counter column.
fn both_tables(filter: &str) -> String {
    let cols = Counters::FIELDS.join(", ");
    format!(
        "SELECT node, {cols} FROM {SETTLED} WHERE {filter} UNION ALL SELECT node, {cols} FROM {DELTA} WHERE {filter}"
    )
}

impl Store {
    /// Moves up to `max_rows` rows of the counter delta into the settled table, in key order, in
    /// one transaction; returns how many moved (0: the delta is empty). Safe beside new cases
    /// and beside another fold (PostgreSQL: rows locked by another fold are skipped).
    pub async fn fold_kpi_delta(&self, max_rows: i64) -> Result<u64> {
        let cols = Counters::FIELDS.join(", ");
        let upsert = format!(
            "ON CONFLICT (node, day, county_code) DO UPDATE SET {}",
            add_sets(SETTLED, Counters::FIELDS)
        );
        let key = "node, day, county_code";
        let moved = match self {
            Store::Sqlite(p) => {
                // One writer at a time: the rows read by the insert are the rows the delete
                // takes. The insert comes first so that the transaction holds the write lock
                // from its first statement (a read first could not upgrade past a commit made
                // meanwhile by the intake writer).
                let mut tx = p.begin().await?;
                sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO {SETTLED} ({key}, {cols}) SELECT {key}, {cols} FROM {DELTA} WHERE true ORDER BY {key} LIMIT $1 {upsert}"
                )))
                .bind(max_rows)
                .execute(&mut *tx)
                .await?;
                let n = sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {DELTA} WHERE ({key}) IN (SELECT {key} FROM {DELTA} ORDER BY {key} LIMIT $1)"
                )))
                .bind(max_rows)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                n
            }
            Store::Postgres(p) => {
                // Several writers: the rows are taken (deleted, locked) and added in one
                // statement, so a case's change made meanwhile lands in a new delta row.
                sqlx::query(AssertSqlSafe(format!(
                    "WITH moved AS (DELETE FROM {DELTA} WHERE ({key}) IN (SELECT {key} FROM {DELTA} ORDER BY {key} LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING {key}, {cols}) \
                     INSERT INTO {SETTLED} ({key}, {cols}) SELECT {key}, {cols} FROM moved {upsert}"
                )))
                .bind(max_rows)
                .execute(p)
                .await?
                .rows_affected()
            }
        };
        Ok(moved)
    }

    /// Rows in the counter delta (changes not yet folded).
    pub async fn kpi_delta_rows(&self) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {DELTA}");
        let (n,): (i64,) =
            with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).fetch_one(p).await)?;
        Ok(n)
    }

    /// Sums one node's counters over reported days `from..=to` (yyyymmdd).
    pub async fn kpi(&self, node: &str, from_day: i32, to_day: i32) -> Result<Counters> {
        let sums: Vec<String> = Counters::FIELDS
            .iter()
            .map(|f| format!("CAST(COALESCE(SUM({f}), 0) AS BIGINT)"))
            .collect();
        let sql = format!(
            "SELECT {} FROM ({}) AS k",
            sums.join(", "),
            both_tables("node = $1 AND day BETWEEN $2 AND $3")
        );
        let values: Vec<i64> = with_pool!(self, p => {
            use sqlx::Row;
            let row = sqlx::query(AssertSqlSafe(sql.as_str())).bind(node).bind(from_day).bind(to_day).fetch_one(p).await?;
            (0..Counters::FIELDS.len()).map(|i| row.try_get::<i64, _>(i)).collect::<Result<Vec<i64>, sqlx::Error>>()?
        });
        Ok(Counters::from_values(&values))
    }

    /// Counters of every child node of a kind under a prefix, for rankings: nodes whose code has
    /// `len` characters and starts with `prefix`.
    pub async fn kpi_children(
        &self,
        prefix: &str,
        len: i32,
        from_day: i32,
        to_day: i32,
    ) -> Result<Vec<(String, Counters)>> {
        let sums: Vec<String> = Counters::FIELDS
            .iter()
            .map(|f| format!("CAST(COALESCE(SUM({f}), 0) AS BIGINT)"))
            .collect();
        let sql = format!(
            "SELECT node, {} FROM ({}) AS k GROUP BY node ORDER BY node",
            sums.join(", "),
            both_tables("node LIKE $1 AND LENGTH(node) = $2 AND day BETWEEN $3 AND $4")
        );
        let like = format!("{prefix}%");
        let rows: Vec<(String, Vec<i64>)> = with_pool!(self, p => {
            use sqlx::Row;
            let rows = sqlx::query(AssertSqlSafe(sql.as_str())).bind(&like).bind(len).bind(from_day).bind(to_day).fetch_all(p).await?;
            let mut out = vec![];
            for row in rows {
                let node: String = row.try_get(0)?;
                let vals = (1..=Counters::FIELDS.len()).map(|i| row.try_get::<i64, _>(i)).collect::<Result<Vec<i64>, sqlx::Error>>()?;
                out.push((node, vals));
            }
            out
        });
        Ok(rows
            .into_iter()
            .map(|(n, v)| (n, Counters::from_values(&v)))
            .collect())
    }
}
