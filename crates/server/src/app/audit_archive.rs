//! Audit archive (审计归档), the audit administrator's use case behind `safegrid audit archive`:
//! entries older than the retention period (`audit_retention_days`, at least six months as 等保
//! 2.0 asks) move out of the live trail into a file, and the chain still verifies.
//!
//! The file is gzip-compressed JSON lines: a header (first and last seq, the hash before the first
//! entry and the last entry's hash), then every entry exactly as stored, so anyone can recompute the
//! chain from the file alone (`safegrid audit verify --archive FILE`). It is written under a
//! `.partial` name, read back and checked, made durable and renamed; only then, in one transaction,
//! the anchor (last seq and hash, the file's SHA-256) is stored, the entries are deleted and an
//! `audit.archive` entry that repeats the anchor is appended. The live trail then verifies from the
//! anchor on, and an anchor edited by hand no longer matches the entry that vouches for it.

use crate::app::backup::{partial, sync_file_and_dir};
use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Duration, Utc};
use safegrid_store::{ArchiveAnchor, AuditEntry, RawAuditEntry, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The archive file's format name, on its first line.
pub const FORMAT: &str = "safegrid-audit-archive/1";

/// Entries read per page while writing.
const PAGE: i64 = 5_000;

/// The first line of an archive file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Header {
    pub format: String,
    pub first_seq: i64,
    pub last_seq: i64,
    /// The hash the first entry links to (the genesis hash, or the previous archive's last).
    pub prev_hash: String,
    pub last_hash: String,
    pub entries: i64,
    pub created_at: DateTime<Utc>,
}

/// What an archive run did.
#[derive(Debug, Clone)]
pub struct Archived {
    pub path: PathBuf,
    pub first_seq: i64,
    pub last_seq: i64,
    pub entries: i64,
    pub deleted: u64,
    pub sha256: String,
    pub bytes: u64,
}

/// Moves every entry written before `before` out to `out` (a file name, or a directory that gets
/// `audit-<first>-<last>.jsonl.gz`). Refuses a `before` inside the retention period counted back
/// from `now`. `Ok(None)` when no entry is old enough.
pub async fn archive(
    store: &Store,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
    retention_days: u32,
    out: &Path,
    by: &str,
    mut progress: impl FnMut(i64),
) -> anyhow::Result<Option<Archived>> {
    let limit = now - Duration::days(i64::from(retention_days));
    ensure!(
        before <= limit,
        "--before: entries younger than {retention_days} days stay in the live trail \
         (audit_retention_days); the latest allowed is {}",
        crate::app::time::local_time(limit)
    );
    ensure!(
        out.is_dir() || !out.exists(),
        "--out: {} exists; an archive is never overwritten",
        out.display()
    );
    let verdict = store.verify_audit(|_| {}).await?;
    if let Some(at) = verdict.broken_at {
        bail!(
            "the audit trail is broken at entry {at} ({}); archive nothing until it is explained",
            verdict.reason.unwrap_or_default()
        );
    }
    let Some((first, last)) = store.audit_archivable(before).await? else {
        return Ok(None);
    };
    let path = if out.is_dir() {
        out.join(format!("audit-{first}-{last}.jsonl.gz"))
    } else {
        out.to_path_buf()
    };
    ensure!(
        !path.exists(),
        "--out: {} exists; an archive is never overwritten",
        path.display()
    );
    let tmp = partial(&path);
    let first_entry = store.audit_raw(first, first, 1).await?;
    let prev_hash = first_entry
        .first()
        .map(|e| e.prev_hash.clone())
        .context("the first entry to archive vanished")?;
    let last_hash = store
        .audit_raw(last, last, 1)
        .await?
        .first()
        .map(|e| e.hash.clone())
        .context("the last entry to archive vanished")?;
    let header = Header {
        format: FORMAT.into(),
        first_seq: first,
        last_seq: last,
        prev_hash,
        last_hash: last_hash.clone(),
        entries: last - first + 1,
        created_at: now,
    };
    {
        let file =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut gz =
            flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
        serde_json::to_writer(&mut gz, &header)?;
        gz.write_all(b"\n")?;
        let mut next = first;
        while next <= last {
            let page = store.audit_raw(next, last, PAGE).await?;
            ensure!(
                !page.is_empty(),
                "entries {next}..{last} vanished while archiving"
            );
            for e in &page {
                serde_json::to_writer(&mut gz, e)?;
                gz.write_all(b"\n")?;
            }
            next = page.last().map_or(last, |e| e.seq) + 1;
            progress(next - first);
        }
        let mut w = gz.finish()?;
        w.flush()?;
        w.into_inner()
            .map_err(|e| anyhow::anyhow!("writing the archive: {}", e.error()))?
            .sync_all()?;
    }
    // Read back what is on disk before anything is deleted.
    let (checked, sha256) = verify_file(&tmp)?;
    ensure!(
        checked == header,
        "the archive read back differs from what was written"
    );
    std::fs::rename(&tmp, &path)?;
    sync_file_and_dir(&path)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let anchor = ArchiveAnchor {
        upto_seq: last,
        upto_hash: last_hash.clone(),
        first_seq: first,
        entries: header.entries,
        file_name: file_name.clone(),
        file_sha256: sha256.clone(),
        archived_at: now,
        archived_by: by.to_string(),
    };
    let entry = AuditEntry::new(
        None,
        by,
        "audit.archive",
        "audit",
        Some(last.to_string()),
        serde_json::json!({
            "first_seq": first,
            "upto_hash": last_hash,
            "entries": header.entries,
            "file": file_name,
            "file_sha256": sha256,
            "before": before,
        }),
    );
    let deleted = store.audit_archive_commit(&anchor, &entry).await?;
    let bytes = std::fs::metadata(&path)?.len();
    Ok(Some(Archived {
        path,
        first_seq: first,
        last_seq: last,
        entries: header.entries,
        deleted,
        sha256,
        bytes,
    }))
}

/// Reads an archive file and checks its chain from its header's `prev_hash` to its last hash:
/// every entry in order, each hash recomputed. Returns the header and the file's SHA-256.
pub fn verify_file(path: &Path) -> anyhow::Result<(Header, String)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let mut lines = BufReader::new(flate2::read::GzDecoder::new(bytes.as_slice())).lines();
    let header: Header = serde_json::from_str(
        &lines
            .next()
            .context("the archive is empty")?
            .context("the archive is not gzip-compressed text")?,
    )
    .context("the archive's first line is not its header")?;
    ensure!(
        header.format == FORMAT,
        "not a safegrid audit archive (format {:?})",
        header.format
    );
    let mut prev = header.prev_hash.clone();
    let mut expect = header.first_seq;
    for line in lines {
        let e: RawAuditEntry = serde_json::from_str(&line?)
            .with_context(|| format!("entry {expect} is not readable"))?;
        ensure!(
            e.seq == expect,
            "entry {expect} is missing (found {})",
            e.seq
        );
        ensure!(
            e.prev_hash == prev,
            "entry {} does not link to the entry before it",
            e.seq
        );
        ensure!(
            e.computed_hash() == e.hash,
            "entry {} does not match its hash (it was edited)",
            e.seq
        );
        prev = e.hash;
        expect += 1;
    }
    ensure!(
        expect - 1 == header.last_seq && prev == header.last_hash,
        "the archive ends at entry {} but its header says {}",
        expect - 1,
        header.last_seq
    );
    Ok((header, sha256))
}

/// Checks several archive files as one history: each file's own chain, the files following one
/// another without a gap (the oldest starting at the genesis hash), and the newest ending where the
/// live trail's anchor says. Returns one line per file for the operator.
pub fn verify_files(
    paths: &[PathBuf],
    anchor: Option<&ArchiveAnchor>,
) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::with_capacity(paths.len());
    for p in paths {
        let (h, sha) = verify_file(p).with_context(|| format!("{}", p.display()))?;
        files.push((p, h, sha));
    }
    files.sort_by_key(|(_, h, _)| h.first_seq);
    let mut lines = Vec::new();
    let mut prev: Option<&Header> = None;
    for (p, h, sha) in &files {
        match prev {
            None if h.first_seq == 1 => ensure!(
                h.prev_hash == safegrid_store::audit::GENESIS,
                "{}: entry 1 does not start from the genesis hash",
                p.display()
            ),
            None => {}
            Some(before) => ensure!(
                h.first_seq == before.last_seq + 1 && h.prev_hash == before.last_hash,
                "{}: does not follow the archive of entries {}..{}",
                p.display(),
                before.first_seq,
                before.last_seq
            ),
        }
        lines.push(format!(
            "{}: entries {}..{} intact, sha256 {sha}",
            p.display(),
            h.first_seq,
            h.last_seq
        ));
        prev = Some(h);
    }
    if let (Some((p, h, sha)), Some(a)) = (files.last(), anchor) {
        ensure!(
            h.last_seq == a.upto_seq && h.last_hash == a.upto_hash && *sha == a.file_sha256,
            "{}: the live trail's anchor is entry {} of {} (sha256 {}), not this file",
            p.display(),
            a.upto_seq,
            a.file_name,
            a.file_sha256
        );
        lines.push(format!(
            "the newest archive is the one the live trail starts after (entry {})",
            a.upto_seq
        ));
    }
    Ok(lines)
}
