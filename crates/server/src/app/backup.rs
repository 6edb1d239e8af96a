//! Backup and restore (备份与恢复), the operator's use cases behind `safegrid backup` and
//! `safegrid restore`. Their reader is the operator at the console, so failures carry the whole
//! story (`anyhow`), not a client-safe message.
//!
//! - SQLite: an online, consistent copy while the server runs (`VACUUM INTO`: one read snapshot),
//!   checked before it takes its name — SQLite's integrity check, the audit chain, the row counts.
//! - PostgreSQL: `pg_dump`'s custom format (one snapshot as well), checked with `pg_restore --list`;
//!   point-in-time recovery from WAL archiving is the server's own (README, "Backups").
//!
//! A backup is written under a `.partial` name and renamed once checked and on disk, so a file
//! with the final name is always a whole, verified backup.

use anyhow::{Context, bail, ensure};
use safegrid_store::Store;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a backup or a restore produced, as the operator and the drill read it.
#[derive(Debug, Clone)]
pub struct Report {
    pub path: PathBuf,
    pub bytes: u64,
    /// Rows per table in the copy (SQLite backups and every restore; a PostgreSQL dump is
    /// counted when it is restored).
    pub counts: Vec<(String, i64)>,
    /// Entries of the audit chain, verified intact.
    pub audit_entries: Option<i64>,
    /// Tables whose data the dump holds (PostgreSQL backups).
    pub dumped_tables: Option<usize>,
    pub seconds: f64,
}

impl Report {
    /// Rows of one table in the copy.
    pub fn count(&self, table: &str) -> Option<i64> {
        self.counts
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, n)| *n)
    }
}

pub(crate) fn partial(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

/// The file of a `sqlite://` URL (query parameters dropped).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or(rest);
    (!file.is_empty() && file != ":memory:").then(|| PathBuf::from(file))
}

/// Makes a renamed or written file durable: its data, then the directory entry.
pub(crate) fn sync_file_and_dir(path: &Path) -> anyhow::Result<()> {
    std::fs::File::open(path)?.sync_all()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Opens a SQLite copy and checks it: SQLite's integrity check, the audit chain, today's
/// migrations applied (a backup of an older release comes up to date); returns its counts and
/// audit entries. The copy is closed (its log folded back) before this returns.
async fn check_sqlite_copy(path: &Path) -> anyhow::Result<(Vec<(String, i64)>, i64)> {
    let url = format!("sqlite://{}", path.display());
    let copy = Store::connect(&url)
        .await
        .with_context(|| format!("opening the copy {}", path.display()))?;
    let checked = verify(&copy).await;
    copy.close().await;
    checked
}

/// Checks an opened copy: SQLite's integrity check (nothing to do on PostgreSQL), today's
/// migrations applied, the audit chain intact; returns its row counts and audit entries.
async fn verify(copy: &Store) -> anyhow::Result<(Vec<(String, i64)>, i64)> {
    if let Some(problem) = copy.integrity_problem().await? {
        bail!("the copy fails SQLite's integrity check: {problem}");
    }
    copy.migrate().await.context("migrating the copy")?;
    let verdict = copy.verify_audit(|_| {}).await?;
    if let Some(at) = verdict.broken_at {
        bail!(
            "the copy's audit chain breaks at entry {at}: {}",
            verdict.reason.unwrap_or_default()
        );
    }
    Ok((copy.table_counts().await?, verdict.entries))
}

async fn run(cmd: &mut tokio::process::Command, what: &str) -> anyhow::Result<String> {
    let out = cmd.output().await.with_context(|| {
        format!("{what}: could not start it (is the PostgreSQL client installed?)")
    })?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Backs up the database `store` serves (`url`) to `out`, which must not exist yet.
pub async fn backup(store: &Store, url: &str, out: &Path) -> anyhow::Result<Report> {
    let started = Instant::now();
    ensure!(
        !out.exists(),
        "{} exists: a backup never overwrites; choose a new name",
        out.display()
    );
    let tmp = partial(out);
    if tmp.exists() {
        // A previous attempt that did not finish: never a backup, by its name.
        std::fs::remove_file(&tmp)?;
    }
    let (counts, audit_entries, dumped_tables) = match store {
        Store::Sqlite(_) => {
            store
                .sqlite_snapshot_into(&tmp)
                .await
                .with_context(|| format!("copying the database to {}", tmp.display()))?;
            let (counts, audit) = match check_sqlite_copy(&tmp).await {
                Ok(c) => c,
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            };
            (counts, Some(audit), None)
        }
        Store::Postgres(_) => {
            run(
                tokio::process::Command::new("pg_dump")
                    .arg("--format=custom")
                    .arg("--no-owner")
                    .arg(format!("--file={}", tmp.display()))
                    .arg(format!("--dbname={url}")),
                "pg_dump",
            )
            .await?;
            let list = run(
                tokio::process::Command::new("pg_restore")
                    .arg("--list")
                    .arg(&tmp),
                "pg_restore --list (checking the dump)",
            )
            .await;
            let list = match list {
                Ok(l) => l,
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            };
            let tables = list.lines().filter(|l| l.contains(" TABLE DATA ")).count();
            ensure!(
                list.contains(" TABLE DATA public cases ")
                    || list.contains(" TABLE DATA public cases"),
                "the dump holds no cases table: is {} a safegrid database?",
                crate::redact(url)
            );
            (vec![], None, Some(tables))
        }
    };
    sync_file_and_dir(&tmp)?;
    std::fs::rename(&tmp, out)?;
    sync_file_and_dir(out)?;
    Ok(Report {
        path: out.to_path_buf(),
        bytes: std::fs::metadata(out)?.len(),
        counts,
        audit_entries,
        dumped_tables,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Restores the backup `from` into the database at `url`: a SQLite file (which must not exist,
/// or `replace` and no program using it), or an empty PostgreSQL database (create it first).
/// The restored database is brought up to today's migrations and its audit chain verified.
pub async fn restore(from: &Path, url: &str, replace: bool) -> anyhow::Result<Report> {
    let started = Instant::now();
    ensure!(from.is_file(), "{}: no such backup file", from.display());
    if url.starts_with("sqlite:") {
        let Some(target) = sqlite_file(url) else {
            bail!("restore needs a database file, not {url}");
        };
        if target.exists() {
            ensure!(
                replace,
                "{} exists: pass --replace to overwrite it (stop the server first)",
                target.display()
            );
            // Fails (Conflict) while any other program holds the file, changing nothing then;
            // the connection is let go at once, the file about to be replaced.
            let alone = Store::sqlite_alone(url).await.with_context(|| {
                format!("{} is in use: stop the server first", target.display())
            })?;
            sqlx::Connection::close(alone).await?;
        }
        let tmp = partial(&target);
        std::fs::copy(from, &tmp)
            .with_context(|| format!("copying {} to {}", from.display(), tmp.display()))?;
        let (counts, audit) = match check_sqlite_copy(&tmp).await {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.context(format!("{} is not a sound backup", from.display())));
            }
        };
        sync_file_and_dir(&tmp)?;
        for side in ["-wal", "-shm"] {
            let mut p = target.as_os_str().to_owned();
            p.push(side);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
        std::fs::rename(&tmp, &target)?;
        sync_file_and_dir(&target)?;
        return Ok(Report {
            path: target.clone(),
            bytes: std::fs::metadata(&target)?.len(),
            counts,
            audit_entries: Some(audit),
            dumped_tables: None,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    ensure!(
        url.starts_with("postgres:") || url.starts_with("postgresql:"),
        "--database: must be sqlite://FILE or postgres://…"
    );
    ensure!(
        !replace,
        "--replace is for SQLite files; restore PostgreSQL into a new empty database and switch to it"
    );
    let target = Store::connect(url).await?;
    let in_use = target
        .table_counts()
        .await?
        .iter()
        .any(|(t, _)| t == "cases");
    target.close().await;
    ensure!(
        !in_use,
        "{} already holds a safegrid schema: restore into a new empty database",
        crate::redact(url)
    );
    run(
        tokio::process::Command::new("pg_restore")
            .arg("--no-owner")
            .arg("--exit-on-error")
            .arg("--single-transaction")
            .arg(format!("--dbname={url}"))
            .arg(from),
        "pg_restore",
    )
    .await?;
    let restored = Store::connect(url).await?;
    let checked = verify(&restored).await;
    restored.close().await;
    let (counts, audit) = checked?;
    Ok(Report {
        path: from.to_path_buf(),
        bytes: std::fs::metadata(from)?.len(),
        counts,
        audit_entries: Some(audit),
        dumped_tables: None,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite://data/safegrid.db?mode=rwc"),
            Some(PathBuf::from("data/safegrid.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:/var/lib/safegrid/safegrid.db"),
            Some(PathBuf::from("/var/lib/safegrid/safegrid.db"))
        );
        assert_eq!(sqlite_file("sqlite://:memory:"), None);
        assert_eq!(sqlite_file("postgres://x@h/db"), None);
        assert_eq!(
            partial(Path::new("/b/x.db")),
            PathBuf::from("/b/x.db.partial")
        );
    }
}
