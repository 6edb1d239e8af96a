//! Configuration: defaults, then a TOML file (`--config`, `SAFEGRID_CONFIG` or `./safegrid.toml`
//! when present), then `SAFEGRID__*` environment variables (`SAFEGRID__LISTEN`,
//! `SAFEGRID__DATABASE`, nested keys joined by `__`), then command-line flags.

use crate::ratelimit::Rate;
use anyhow::{Context, bail};
use safegrid_domain::kpi::ScoreWeights;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `sqlite://FILE` (the embedded default) or `postgres://…`.
    pub database: String,
    pub listen: String,
    /// Working hours of the official calendar, e.g. "08:30-12:00,13:30-17:30" (Asia/Shanghai).
    pub working_hours: String,
    /// The deployment's root region (Open311 jurisdiction, default KPI node). Guessed when unset.
    pub root_region: Option<String>,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    /// How often the deadline job scans for cases nearing or past their limits.
    pub deadline_scan_seconds: u64,
    /// KPI counter changes (计数增量) wait in a small table and are folded into the settled
    /// counters at this hour of the day (0–23, Asia/Shanghai)…
    pub kpi_fold_hour: u32,
    /// …or as soon as that many rows wait (see `jobs::fold_counters`).
    pub kpi_fold_rows: i64,
    pub body_limit_bytes: usize,
    pub request_timeout_seconds: u64,
    pub demo_seed: u64,
    pub demo_cases: usize,
    pub score_weights: ScoreWeights,
    pub rate_limits: RateLimits,
    /// Take the client address from `X-Forwarded-For` (only behind a reverse proxy you run).
    pub trust_proxy: bool,
    /// Consecutive failed logins that lock an account, and for how long.
    pub lockout_failures: i32,
    pub lockout_minutes: i64,
    /// The Open311 GeoReport v2 door (`[open311]`).
    pub open311: Open311Settings,
    /// Read the B-trees new cases write at random places into the page cache after start-up
    /// (SQLite; see `prewarm` in lib.rs). Off on a machine whose memory is needed elsewhere.
    pub prewarm: bool,
    /// Rows read per page of a streamed case export (an export holds one page, about 1 KB a row).
    pub export_page_rows: i64,
    /// Serve Prometheus metrics (`GET /metrics`) on this address of its own, e.g.
    /// "127.0.0.1:9184"; off when unset. Not on the public listener: figures of the deployment.
    pub metrics_listen: Option<String>,
    /// SQLite's durability promise: "normal" keeps every acknowledged write across a crash of
    /// the process; "full" also across a power loss or an OS crash (each commit waits for the
    /// disk). No effect on PostgreSQL, whose own `synchronous_commit` decides.
    pub sqlite_synchronous: String,
    /// Audit entries stay in the live trail at least this many days (等保 2.0 asks for six
    /// months); `safegrid audit archive` moves only older ones out. 180 or more.
    pub audit_retention_days: u32,
    /// Administrators must log in with a second factor (TOTP, 等保 2.0); an administrator without
    /// one is refused until enrolled (`safegrid user totp-enrol NAME`). Other accounts may enrol.
    pub admin_totp_required: bool,
    /// A map tile service as an XYZ template (`https://tiles.example/{z}/{x}/{y}.png`), empty by
    /// default (the pages draw grids without a base map). Used only for the offline pages: the
    /// service worker caches these tiles over the grid worker's own grids (docs/offline.md).
    pub tile_url: String,
    /// HTTPS served by safegrid itself (tls.rs): the certificate chain and its private key, PEM
    /// files. Unset with `tls_self_signed = false`: plain HTTP (behind a TLS proxy, or local).
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    /// Serve HTTPS with a certificate safegrid makes once for `tls_hosts` (an intranet without
    /// a real certificate), kept in the data directory and reused (docs/offline.md).
    pub tls_self_signed: bool,
    /// The host names and IP addresses a self-signed certificate is valid for.
    pub tls_hosts: Vec<String>,
    /// Care visits (关爱走访) are deleted this many days after they were recorded (the jobs
    /// runner, hourly; `safegrid visits purge` by hand).
    pub visit_care_retention_days: i64,
    /// The span coverage is counted over: "month", "quarter" ("every address once a quarter")
    /// or "year".
    pub coverage_period: String,
}

/// Rates for the abuse-prone doors (see `ratelimit.rs`); `per_minute = 0` turns one off.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// Login attempts per client address.
    pub login: Rate,
    /// Reports from residents without an account, per client address.
    pub public_intake: Rate,
    /// Open311 requests per api_key.
    pub open311_key: Rate,
    /// Open311 requests per client address.
    pub open311_address: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            login: Rate::new(20, 10),
            public_intake: Rate::new(10, 5),
            open311_key: Rate::new(600, 120),
            open311_address: Rate::new(60, 20),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database: "sqlite://safegrid.db".into(),
            listen: "127.0.0.1:8080".into(),
            working_hours: "08:30-12:00,13:30-17:30".into(),
            root_region: None,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            deadline_scan_seconds: 60,
            kpi_fold_hour: 3,
            kpi_fold_rows: 200_000,
            body_limit_bytes: 2 * 1024 * 1024,
            request_timeout_seconds: 30,
            demo_seed: 20_261_121,
            demo_cases: 50_000,
            score_weights: ScoreWeights::default(),
            rate_limits: RateLimits::default(),
            trust_proxy: false,
            lockout_failures: 5,
            lockout_minutes: 15,
            open311: Default::default(),
            prewarm: true,
            export_page_rows: 1000,
            metrics_listen: None,
            sqlite_synchronous: "normal".into(),
            audit_retention_days: 180,
            admin_totp_required: false,
            tile_url: String::new(),
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            tls_hosts: vec!["localhost".into(), "127.0.0.1".into()],
            visit_care_retention_days: 365,
            coverage_period: "quarter".into(),
        }
    }
}

// The database URL may carry a password: keep it out of logs.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let db = match self.database.split_once('@') {
            Some((scheme_user, host)) => {
                let scheme = scheme_user.split("://").next().unwrap_or("");
                format!("{scheme}://***@{host}")
            }
            None => self.database.clone(),
        };
        f.debug_struct("Settings")
            .field("database", &db)
            .field("listen", &self.listen)
            .field("working_hours", &self.working_hours)
            .field("root_region", &self.root_region)
            .finish_non_exhaustive()
    }
}

fn set_path(root: &mut toml::Table, path: &[String], value: toml::Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut t = root;
    for p in parents {
        let entry = t
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(Default::default()));
        if !entry.is_table() {
            *entry = toml::Value::Table(Default::default());
        }
        t = entry.as_table_mut().expect("made a table above");
    }
    t.insert(last.clone(), value);
}

/// Environment values are typed by their look: integers, floats and booleans as such, else strings.
fn env_value(v: &str) -> toml::Value {
    if let Ok(i) = v.parse::<i64>() {
        toml::Value::Integer(i)
    } else if let Ok(f) = v.parse::<f64>() {
        toml::Value::Float(f)
    } else if let Ok(b) = v.parse::<bool>() {
        toml::Value::Boolean(b)
    } else {
        toml::Value::String(v.to_string())
    }
}

impl Settings {
    /// The URL the stores connect with: `database`, with `sqlite_synchronous = "full"` carried
    /// to SQLite as the store's `synchronous=full` parameter.
    pub fn store_url(&self) -> String {
        if self.sqlite_synchronous == "full" && self.database.starts_with("sqlite:") {
            let sep = if self.database.contains('?') {
                '&'
            } else {
                '?'
            };
            format!("{}{sep}synchronous=full", self.database)
        } else {
            self.database.clone()
        }
    }

    /// The checks a value's type cannot make, each naming its key: found at start, not at the
    /// first request that needs the setting.
    pub fn check(&self) -> anyhow::Result<()> {
        if !(self.database.starts_with("sqlite:")
            || self.database.starts_with("postgres:")
            || self.database.starts_with("postgresql:"))
        {
            bail!("database: must be sqlite://FILE or postgres://…");
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            bail!(
                "listen: must be an address and port such as 127.0.0.1:8080 (got {:?})",
                self.listen
            );
        }
        safegrid_domain::calendar::WorkingHours::parse(&self.working_hours)
            .map_err(|e| anyhow::anyhow!("working_hours: {e}"))?;
        if let Some(r) = &self.root_region {
            safegrid_domain::codes::RegionCode::parse(r)
                .map_err(|e| anyhow::anyhow!("root_region: {}", e.reason))?;
        }
        if let Some(m) = &self.metrics_listen
            && m.parse::<std::net::SocketAddr>().is_err()
        {
            bail!("metrics_listen: must be an address and port such as 127.0.0.1:9184 (got {m:?})");
        }
        if !["normal", "full"].contains(&self.sqlite_synchronous.as_str()) {
            bail!(
                "sqlite_synchronous: must be normal or full (got {:?})",
                self.sqlite_synchronous
            );
        }
        if self.audit_retention_days < 180 {
            bail!(
                "audit_retention_days: must be 180 or more (等保 2.0 keeps six months; got {})",
                self.audit_retention_days
            );
        }
        if self.export_page_rows < 1 || self.export_page_rows > 10_000 {
            bail!(
                "export_page_rows: must be 1 to 10000 (got {})",
                self.export_page_rows
            );
        }
        if !(1..=3650).contains(&self.visit_care_retention_days) {
            bail!(
                "visit_care_retention_days: must be 1 to 3650 (got {})",
                self.visit_care_retention_days
            );
        }
        if !["month", "quarter", "year"].contains(&self.coverage_period.as_str()) {
            bail!(
                "coverage_period: must be month, quarter or year (got {:?})",
                self.coverage_period
            );
        }
        if self.request_timeout_seconds == 0 || self.deadline_scan_seconds == 0 {
            bail!("request_timeout_seconds and deadline_scan_seconds: must be 1 or more");
        }
        check_tls(self)?;
        let t = &self.tile_url;
        if !t.is_empty()
            && (!(t.starts_with("https://") || t.starts_with("http://"))
                || !["{z}", "{x}", "{y}"].iter().all(|p| t.contains(p)))
        {
            bail!(
                "tile_url: must be an http(s) XYZ template with {{z}}, {{x}} and {{y}} (got {:?})",
                self.tile_url
            );
        }
        let w = &self.score_weights;
        let sum = w.volume + w.close_rate + w.on_time_handling + w.no_rework;
        if [w.volume, w.close_rate, w.on_time_handling, w.no_rework]
            .iter()
            .any(|x| !x.is_finite() || *x < 0.0)
            || (sum - 1.0).abs() > 1e-6
        {
            bail!(
                "score_weights: must be four non-negative weights summing to 1 (they sum to {sum})"
            );
        }
        Ok(())
    }

    pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
        let mut table = toml::Table::new();
        let explicit = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("SAFEGRID_CONFIG").map(Into::into));
        let path = explicit.clone().or_else(|| {
            let p = Path::new("safegrid.toml");
            p.exists().then(|| p.to_path_buf())
        });
        if let Some(p) = path {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("reading configuration {}", p.display()))?;
            table = toml::from_str(&text)
                .with_context(|| format!("parsing configuration {}", p.display()))?;
        }
        for (k, v) in std::env::vars() {
            if let Some(rest) = k.strip_prefix("SAFEGRID__") {
                let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
                let value = if path.len() == 1
                    && ["database", "listen", "working_hours", "root_region"]
                        .contains(&path[0].as_str())
                {
                    toml::Value::String(v)
                } else {
                    env_value(&v)
                };
                set_path(&mut table, &path, value);
            }
        }
        let s: Settings = toml::Value::Table(table)
            .try_into()
            .context("configuration (file or SAFEGRID__* variables)")?;
        if s.session_idle_minutes <= 0 || s.session_absolute_hours <= 0 {
            bail!("session_idle_minutes and session_absolute_hours must be positive");
        }
        if s.kpi_fold_hour > 23 {
            bail!(
                "kpi_fold_hour: must be an hour of the day, 0 to 23 (got {})",
                s.kpi_fold_hour
            );
        }
        if s.kpi_fold_rows < 1 {
            bail!("kpi_fold_rows: must be 1 or more (got {})", s.kpi_fold_rows);
        }
        s.check()?;
        Ok(s)
    }
}

/// Settings of the Open311 door (`[open311]` in the configuration file).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Open311Settings {
    /// Region codes served as jurisdictions (`jurisdiction_id`); empty: the deployment's root region.
    pub jurisdictions: Vec<String>,
    /// Who to contact about the API (discovery `contact`).
    pub contact: String,
    /// How to get an api_key (discovery `key_service`).
    pub key_service: String,
    /// The public base URL of the API (discovery `url`); by default built from the Host header.
    pub public_url: Option<String>,
    /// When the API or its configuration last changed (discovery `changeset`).
    pub changeset: String,
    /// Take the client address for rate limits from the last `X-Forwarded-For` entry: only behind
    /// a proxy that sets it, otherwise anyone could pick a fresh address per request.
    pub trust_forwarded_for: bool,
    /// Largest POST body accepted (form fields; media go by URL).
    pub body_limit_bytes: usize,
    /// Reads (GET) per client address. Writes count against `rate_limits.open311_address` (and
    /// their key's `rate_limits.open311_key`); reads are cheaper and clients poll, so they get
    /// their own, larger bucket.
    pub read_limit: Rate,
}

impl Default for Open311Settings {
    fn default() -> Self {
        Open311Settings {
            jurisdictions: vec![],
            contact: "The safegrid operator of this deployment (see docs/open311.md)".into(),
            key_service: "Ask the operator for an api_key (safegrid token create --open311 NAME)"
                .into(),
            public_url: None,
            changeset: "2026-11-21T00:00:00+08:00".into(),
            trust_forwarded_for: false,
            body_limit_bytes: 64 * 1024,
            read_limit: Rate::new(300, 100),
        }
    }
}

/// The checks of the TLS settings (tls.rs) a type cannot make.
fn check_tls(s: &Settings) -> anyhow::Result<()> {
    match (&s.tls_cert, &s.tls_key) {
        (Some(_), None) => {
            bail!("tls_key: required with tls_cert (the certificate's private key, PEM)")
        }
        (None, Some(_)) => bail!("tls_cert: required with tls_key (the certificate chain, PEM)"),
        _ => {}
    }
    if s.tls_self_signed && s.tls_hosts.is_empty() {
        bail!("tls_hosts: name at least one host name or IP address the phones use");
    }
    for h in &s.tls_hosts {
        let ip = h.parse::<std::net::IpAddr>().is_ok();
        let name = !h.is_empty()
            && h.len() <= 253
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.*".contains(c));
        if !ip && !name {
            bail!("tls_hosts: {h:?} is not a host name or an IP address");
        }
    }
    if !s.tls_self_signed
        && let (Some(c), Some(k)) = (&s.tls_cert, &s.tls_key)
    {
        for (key, f) in [("tls_cert", c), ("tls_key", k)] {
            if !std::path::Path::new(f).is_file() {
                bail!("{key}: no file {f}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/safegrid.example.toml holds every setting at its default: read as a file, it gives
    /// exactly the defaults, and serialised defaults hold no key the file lacks.
    #[test]
    fn the_example_file_documents_every_setting_at_its_default() {
        let text = include_str!("../../../docs/safegrid.example.toml");
        let file: toml::Table = toml::from_str(text).unwrap();
        let defaults = toml::Table::try_from(Settings::default()).unwrap();
        assert_eq!(file, defaults);
        let dir = std::env::temp_dir().join(format!("sg-example-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("safegrid.toml");
        std::fs::write(&f, text).unwrap();
        let s = Settings::load(Some(&f)).unwrap();
        assert_eq!(toml::Table::try_from(s).unwrap(), defaults);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn values_a_type_cannot_check_are_refused_naming_the_key() {
        for (patch, key) in [
            (r#"listen = "8080""#, "listen:"),
            (r#"database = "mysql://x""#, "database:"),
            (r#"working_hours = "25:00-26:00""#, "working_hours:"),
            (r#"root_region = "3305x""#, "root_region:"),
            ("export_page_rows = 0", "export_page_rows:"),
            ("audit_retention_days = 90", "audit_retention_days:"),
            (
                "[score_weights]\nvolume = 0.5\nclose_rate = 0.3\non_time_handling = 0.3\nno_rework = 0.3",
                "score_weights:",
            ),
        ] {
            let dir = std::env::temp_dir().join(format!("sg-check-{}-{key}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let f = dir.join("c.toml");
            std::fs::write(&f, patch).unwrap();
            let e = Settings::load(Some(&f)).unwrap_err().to_string();
            assert!(e.starts_with(key), "{patch}: {e}");
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    #[test]
    fn file_then_env_override_defaults_and_unknown_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("sg-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        std::fs::write(&f, "listen = \"0.0.0.0:9000\"\n[score_weights]\nvolume = 0.2\nclose_rate = 0.3\non_time_handling = 0.3\nno_rework = 0.2\n").unwrap();
        let s = Settings::load(Some(&f)).unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000");
        assert_eq!(s.score_weights.volume, 0.2);
        assert_eq!(s.database, "sqlite://safegrid.db");
        std::fs::write(&f, "lisen = 1\n").unwrap();
        assert!(Settings::load(Some(&f)).is_err());
        let dbg = format!(
            "{:?}",
            Settings {
                database: "postgres://u:secret@h/db".into(),
                ..Default::default()
            }
        );
        assert!(!dbg.contains("secret"));
    }
}
