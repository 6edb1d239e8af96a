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
use sqlx::{Database, Either, QueryBuilder};

/// Statements run in order inside an open transaction, each with the number of rows it must
/// change (inserts done `OR IGNORE` report a row left out this way; see [`crate::insert_verb`]).
pub(crate) struct Statements<DB: Database> {
    merged: bool,
    builders: Vec<QueryBuilder<DB>>,
    /// Per statement, in order: what it stores (for the error) and how many rows it must change.
    expect: Vec<(&'static str, Option<u64>)>,
}

impl<DB: Database> Statements<DB> {
    /// Statements for backend `DB`: on SQLite sent as one query string.
    pub(crate) fn new() -> Self {
        Statements {
            merged: DB::NAME == "SQLite",
            builders: vec![],
            expect: vec![],
        }
    }

    /// [`Statements::new`] for the transaction `_tx` will run in (names the backend where
    /// nothing else does).
    pub(crate) fn for_tx(_tx: &sqlx::Transaction<'_, DB>) -> Self {
        Self::new()
    }

    /// Starts the next statement with `sql`; push its values and binds on the builder returned.
    /// `expect`: the rows it must change, or `None` when any number is right.
    pub(crate) fn next(
        &mut self,
        sql: &str,
        what: &'static str,
        expect: Option<u64>,
    ) -> &mut QueryBuilder<DB> {
        self.expect.push((what, expect));
        if self.merged && !self.builders.is_empty() {
            let qb = self.builders.last_mut().expect("checked non-empty");
            qb.push(";\n");
            qb.push(sql);
        } else {
            self.builders.push(QueryBuilder::new(sql));
        }
        self.builders.last_mut().expect("just pushed")
    }

    /// Runs the statements; returns the rows they returned, in order. Fails, leaving the
    /// transaction to be rolled back, when a statement changed another number of rows than
    /// it had to. `changed` reads a result's row count (a method of each backend's type).
    pub(crate) async fn run<'c>(
        self,
        tx: &mut sqlx::Transaction<'c, DB>,
        changed: impl Fn(&DB::QueryResult) -> u64,
    ) -> Result<Vec<DB::Row>>
    where
        for<'e> &'e mut <DB as Database>::Connection: sqlx::Executor<'e, Database = DB>,
        for<'a> <DB as Database>::Arguments: sqlx::IntoArguments<DB>,
    {
        let mut rows = vec![];
        let mut expect = self.expect.into_iter().peekable();
        for mut qb in self.builders {
            let query = qb.build();
            let mut results = sqlx::Executor::fetch_many(&mut **tx, query);
            loop {
                // A taken key is a conflict on either backend (PostgreSQL's plain insert raises it;
                // SQLite's OR IGNORE shows it in the row count below).
                let what = expect.peek().map_or("records", |e| e.0);
                let Some(step) = results
                    .try_next()
                    .await
                    .map_err(|e| crate::unique_to_conflict(e, &format!("one of the {what}")))?
                else {
                    break;
                };
                match step {
                    Either::Right(row) => rows.push(row),
                    Either::Left(done) => match expect.next() {
                        Some((what, Some(n))) if changed(&done) != n => {
                            return Err(StoreError::Conflict(format!(
                                "{} of {n} {what} were not stored: a unique key (id, number or sequence) is already taken",
                                n.saturating_sub(changed(&done))
                            )));
                        }
                        _ => {}
                    },
                }
            }
        }
        Ok(rows)
    }
}
