//! The statements of a group commit, sent to the database together where it can take them.
//!
//! sqlx runs every SQLite connection on a thread of its own: each statement is a hand-off to
//! that thread and back. Under a surge both cores are busy with requests, and the intake
//! writer's nine statements per batch waited about as long for those hand-offs as SQLite took
//! to run them (perf, docs/performance.md). SQLite's driver runs every statement of one query
//! string, binding `?` parameters in order across them, so on SQLite a batch's writes go as one
//! query. sqlx calls that behaviour deprecated (launchbadge/sqlx#3108) and PostgreSQL's protocol
//! binds one statement at a time, so [`Statements`] also runs them one by one — the PostgreSQL
//! path today, and SQLite's if the driver ever drops it: one test in [`Statements::new`], the
//! same statements.

use crate::{Result, StoreError};
use futures_util::TryStreamExt;
use sqlx::pool::PoolConnection;
use sqlx::{Database, Either, Pool, QueryBuilder};

/// The longest statement text worth keeping prepared in a connection's cache (an intake batch's
/// statements are a few kilobytes; a bulk load's, megabytes).
pub(crate) const PREPARED_SQL_MAX: usize = 64 * 1024;

/// Statements run in order inside an open transaction. A key already taken is an error on
/// both backends (plain inserts; a [`GroupTx`]'s `OR ROLLBACK`), so no row count is checked.
pub(crate) struct Statements<DB: Database> {
    merged: bool,
    builders: Vec<QueryBuilder<DB>>,
    /// Per statement, in order: what it stores (for the error).
    what: Vec<&'static str>,
}

impl<DB: Database> Statements<DB> {
    /// Statements for backend `DB`: on SQLite sent as one query string.
    pub(crate) fn new() -> Self {
        Statements {
            merged: DB::NAME == "SQLite",
            builders: vec![],
            what: vec![],
        }
    }

    /// [`Statements::new`] for the transaction `_tx` will run in (names the backend where
    /// nothing else does).
    pub(crate) fn for_tx(_tx: &sqlx::Transaction<'_, DB>) -> Self {
        Self::new()
    }

    /// Starts the next statement with `sql`; push its values and binds on the builder returned.
    /// `what`: what it stores, named in the error when a key is taken.
    pub(crate) fn next(&mut self, sql: &str, what: &'static str) -> &mut QueryBuilder<DB> {
        self.what.push(what);
        if self.merged && !self.builders.is_empty() {
            let qb = self.builders.last_mut().expect("checked non-empty");
            qb.push(";\n");
            qb.push(sql);
        } else {
            self.builders.push(QueryBuilder::new(sql));
        }
        self.builders.last_mut().expect("just pushed")
    }

    /// Runs the statements on `conn` (inside its open transaction); returns the rows they
    /// returned, in order.
    pub(crate) async fn run(self, conn: &mut DB::Connection) -> Result<Vec<DB::Row>>
    where
        for<'e> &'e mut <DB as Database>::Connection: sqlx::Executor<'e, Database = DB>,
        for<'a> <DB as Database>::Arguments: sqlx::IntoArguments<DB>,
        DB: sqlx::database::HasStatementCache,
    {
        let mut rows = vec![];
        let mut what = self.what.into_iter();
        // The statement whose result comes next: the one an error belongs to.
        let mut current = what.next();
        for mut qb in self.builders {
            // A multi-row statement's text changes with its row count, so it is rarely met again,
            // and a prepared statement costs memory in proportion to its rows (SQLite's program,
            // PostgreSQL's plan): a bulk load's counters — tens of thousands of rows in one
            // statement — kept in the connection's statement cache (100 of them) grew the
            // process past 22 GB during a 10,000,000-case load. Large ones are not kept.
            let keep = qb.sql().as_str().len() <= PREPARED_SQL_MAX;
            let query = qb.build().persistent(keep);
            let mut results = sqlx::Executor::fetch_many(&mut *conn, query);
            while let Some(step) = results.try_next().await.map_err(|e| {
                crate::unique_to_conflict(
                    e,
                    &format!("one of the {}", current.unwrap_or("records")),
                )
            })? {
                match step {
                    Either::Right(row) => rows.push(row),
                    Either::Left(_) => current = what.next(),
                }
            }
        }
        Ok(rows)
    }
}

/// A group commit's transaction (批量提交), begun and ended by statements of its own instead
/// of sqlx's `Transaction`, so that on SQLite `BEGIN` travels with the first statements and
/// `COMMIT` with the last: a batch is two hand-offs to the connection's thread. Taking a pooled
/// connection per batch and sqlx's own `BEGIN`/`COMMIT` made it six (a ping on taking, a ping on
/// giving back, `BEGIN`, two query strings, `COMMIT`), and under a surge each hand-off waited
/// for a core busy with requests. So the connection is kept in `slot` from batch to batch.
///
/// sqlx counts the transactions it began itself and would issue a `ROLLBACK` for one dropped
/// open; this one is invisible to it, so it rolls back itself ([`GroupTx::rollback`]) and, when
/// that cannot be done (a dropped future, a failed `ROLLBACK`), closes the connection — SQLite
/// and PostgreSQL roll back what a closed connection left open — and the next batch takes a
/// fresh one.
pub(crate) struct GroupTx<'s, DB: Database> {
    slot: &'s mut Option<PoolConnection<DB>>,
    /// SQLite: `BEGIN` is still to go, in front of the first statements.
    begin_pending: bool,
    /// Begun and not yet committed or rolled back.
    open: bool,
}

impl<'s, DB: Database + sqlx::database::HasStatementCache> GroupTx<'s, DB>
where
    for<'e> &'e mut <DB as Database>::Connection: sqlx::Executor<'e, Database = DB>,
    for<'a> <DB as Database>::Arguments: sqlx::IntoArguments<DB>,
{
    /// Begins on the connection in `slot`, taking one from `pool` if it holds none. On SQLite
    /// `BEGIN IMMEDIATE` goes with the first [`GroupTx::statements`]; on PostgreSQL now.
    pub(crate) async fn begin(
        pool: &Pool<DB>,
        slot: &'s mut Option<PoolConnection<DB>>,
    ) -> Result<Self> {
        if slot.is_none() {
            *slot = Some(pool.acquire().await?);
        }
        let mut tx = GroupTx {
            slot,
            begin_pending: DB::NAME == "SQLite",
            open: true,
        };
        if !tx.begin_pending {
            sqlx::Executor::execute(tx.conn()?, "BEGIN").await?;
        }
        Ok(tx)
    }

    /// How this transaction inserts: a taken key is an error that ends it, so no row count
    /// needs checking — on SQLite `OR ROLLBACK` (SQLite rolls the whole transaction back at
    /// once, so unlike a plain insert's `ABORT` it need not journal the statement's pages to
    /// undo it alone: that journal was a seventh of the intake writer's SQLite time, perf in
    /// docs/performance.md), on PostgreSQL the plain insert (its error aborts the transaction).
    pub(crate) fn insert(&self) -> &'static str {
        if DB::NAME == "SQLite" {
            "INSERT OR ROLLBACK INTO"
        } else {
            "INSERT INTO"
        }
    }

    /// The connection, inside this transaction.
    pub(crate) fn conn(&mut self) -> Result<&mut DB::Connection> {
        self.slot
            .as_deref_mut()
            .ok_or(StoreError::Db(sqlx::Error::PoolClosed))
    }

    /// Statements to run in this transaction; the first set carries SQLite's `BEGIN`.
    pub(crate) fn statements(&mut self) -> Statements<DB> {
        let mut s = Statements::new();
        if std::mem::take(&mut self.begin_pending) {
            s.next("BEGIN IMMEDIATE", "transaction");
        }
        s
    }

    /// Runs `stmts` and commits; on SQLite `COMMIT` is the query string's last statement (the
    /// driver stops at the first statement that fails, so a failed insert never reaches it).
    pub(crate) async fn commit(&mut self, mut stmts: Statements<DB>) -> Result<Vec<DB::Row>> {
        let rows = if stmts.merged {
            stmts.next("COMMIT", "transaction");
            stmts.run(self.conn()?).await?
        } else {
            let rows = stmts.run(self.conn()?).await?;
            sqlx::Executor::execute(self.conn()?, "COMMIT").await?;
            rows
        };
        self.open = false;
        Ok(rows)
    }

    /// Undoes the transaction after a failure. SQLite may already have rolled it back (an `OR
    /// ROLLBACK` insert, or `BEGIN` itself failed); anything else that stops the `ROLLBACK`
    /// closes the connection.
    pub(crate) async fn rollback(mut self) {
        let Ok(conn) = self.conn() else { return };
        match sqlx::Executor::execute(conn, "ROLLBACK").await {
            Ok(_) => self.open = false,
            Err(sqlx::Error::Database(e)) if e.message().contains("no transaction is active") => {
                self.open = false
            }
            // Left open: dropping `self` closes the connection.
            Err(e) => {
                tracing::warn!(error = %e, "rolling back a group commit failed; closing its connection")
            }
        }
    }
}

impl<DB: Database> Drop for GroupTx<'_, DB> {
    fn drop(&mut self) {
        if self.open
            && let Some(mut conn) = self.slot.take()
        {
            conn.close_on_drop();
        }
    }
}
