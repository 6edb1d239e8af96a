//! HTTPS served by safegrid itself (rustls): a listener concern, like `metrics_listener.rs`.
//! Service workers — and so the grid worker's offline pages — run only on a secure origin, and a
//! county intranet is rarely `localhost`; a reverse proxy is one more thing a township office
//! would have to run. Two ways: a certificate chain and key from the config (`tls_cert`,
//! `tls_key`), or `tls_self_signed`, where safegrid makes a small certificate authority of its own
//! and a server certificate for `tls_hosts`, once, beside the database (`tls/`), and reuses them;
//! phones trust that authority's certificate (README, "Phones on an intranet"). Plain HTTP stays
//! the default.

use crate::config::Settings;
use anyhow::{Context, bail};
use axum::Router;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A client that opens a connection and never finishes its handshake holds no task for longer.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Server certificates trusted through a user-installed authority must not outlive 825 days on
/// iOS; 800 leaves a margin. The authority itself lives ten years.
const SERVER_CERT_DAYS: i64 = 800;
const CA_DAYS: i64 = 3650;

/// Whether the server answers HTTPS.
pub fn enabled(s: &Settings) -> bool {
    s.tls_self_signed || s.tls_cert.is_some()
}

/// `https` or `http`, for messages.
pub fn scheme(s: &Settings) -> &'static str {
    if enabled(s) { "https" } else { "http" }
}

/// A server configuration ready to serve, and what the operator needs to know of it.
pub struct Loaded {
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the server certificate (DER), as browsers show it.
    pub fingerprint: String,
    /// The self-signed authority's certificate, the file phones install; `None` for a
    /// certificate from the config.
    pub ca_file: Option<PathBuf>,
    pub ca_fingerprint: Option<String>,
}

/// Where a self-signed certificate is kept: `tls/` beside the SQLite database (its data
/// directory), or in the working directory for PostgreSQL.
pub fn self_signed_dir(s: &Settings) -> PathBuf {
    let data = crate::app::backup::sqlite_file(&s.database)
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("tls")
}

/// Reads (or, self-signed, makes once and then reads) the certificate and key; `None` when TLS
/// is off.
pub fn load(s: &Settings) -> anyhow::Result<Option<Loaded>> {
    if !enabled(s) {
        return Ok(None);
    }
    let (cert, key, ca) = if s.tls_self_signed {
        let made = ensure_self_signed(&self_signed_dir(s), &s.tls_hosts)?;
        (made.cert, made.key, Some(made.ca))
    } else {
        let (Some(c), Some(k)) = (&s.tls_cert, &s.tls_key) else {
            bail!("tls_cert and tls_key: both are required");
        };
        (PathBuf::from(c), PathBuf::from(k), None)
    };
    let chain = read_chain(&cert).context("tls_cert")?;
    let key_pem =
        std::fs::read(&key).with_context(|| format!("tls_key: reading {}", key.display()))?;
    let private = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| anyhow::anyhow!("tls_key: no private key in {} ({e})", key.display()))?;
    let fingerprint = fingerprint(&chain[0]);
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .context("tls_cert and tls_key do not make a usable certificate")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let ca_fingerprint = match &ca {
        Some(f) => Some(fingerprint_of_file(f)?),
        None => None,
    };
    Ok(Some(Loaded {
        config: Arc::new(config),
        fingerprint,
        ca_file: ca,
        ca_fingerprint,
    }))
}

/// rustls' ring provider, named explicitly (never the process default, which another crate's
/// features could make ambiguous). rustls 0.23.48 deprecates it for lacking post-quantum key
/// exchange; its alternative, aws-lc-rs, needs a C toolchain of its own to build, and an intranet
/// server's TLS is about a phone trusting the origin, not long-term secrecy against quantum
/// attackers. Revisit when ring gains ML-KEM.
#[allow(deprecated)]
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_chain(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{}: not a PEM certificate ({e})", path.display()))?;
    if chain.is_empty() {
        bail!("{}: holds no certificate", path.display());
    }
    Ok(chain)
}

/// SHA-256 of a certificate, `AB:CD:…` as browsers and phones show it.
pub fn fingerprint(der: &CertificateDer<'_>) -> String {
    let d = Sha256::digest(der.as_ref());
    d.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn fingerprint_of_file(path: &Path) -> anyhow::Result<String> {
    Ok(fingerprint(&read_chain(path)?[0]))
}

/// The files of a self-signed setup.
pub struct SelfSigned {
    pub dir: PathBuf,
    /// The authority's certificate: what phones install.
    pub ca: PathBuf,
    /// The server certificate followed by the authority's (the chain served).
    pub cert: PathBuf,
    pub key: PathBuf,
}

const CA_NAME: &str = "safegrid intranet CA";

/// Makes the authority (once) and a server certificate for `hosts` (again only when the hosts
/// changed), so phones that trust the authority keep trusting the server across restarts and
/// host changes.
pub fn ensure_self_signed(dir: &Path, hosts: &[String]) -> anyhow::Result<SelfSigned> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let files = SelfSigned {
        dir: dir.to_path_buf(),
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    let ca_key_file = dir.join("ca-key.pem");
    let hosts_file = dir.join("hosts");
    let wanted = hosts.join("\n");
    let ca_key = if ca_key_file.is_file() && files.ca.is_file() {
        let pem = std::fs::read_to_string(&ca_key_file)?;
        rcgen::KeyPair::from_pem(&pem).context("tls/ca-key.pem")?
    } else {
        let k = rcgen::KeyPair::generate().context("making the authority's key")?;
        let ca = ca_params()?.self_signed(&k)?;
        write_private(&ca_key_file, k.serialize_pem().as_bytes())?;
        std::fs::write(&files.ca, ca.pem())?;
        // A new authority: any server certificate of an older one is worthless now.
        let _ = std::fs::remove_file(&files.cert);
        tracing::info!(file = %files.ca.display(), "made a certificate authority for the intranet");
        k
    };
    let current = std::fs::read_to_string(&hosts_file).unwrap_or_default();
    if files.cert.is_file() && files.key.is_file() && current == wanted {
        return Ok(files);
    }
    // Re-signing the same name with the same key gives an issuer phones already trust.
    let ca = ca_params()?.self_signed(&ca_key)?;
    let mut params = rcgen::CertificateParams::new(hosts.to_vec())
        .context("tls_hosts: not valid certificate names")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, hosts[0].clone());
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "safegrid");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    validity(&mut params, SERVER_CERT_DAYS);
    let key = rcgen::KeyPair::generate().context("making the server's key")?;
    let cert = params.signed_by(&key, &ca, &ca_key)?;
    write_private(&files.key, key.serialize_pem().as_bytes())?;
    let ca_pem = std::fs::read_to_string(&files.ca)?;
    std::fs::write(&files.cert, format!("{}{}", cert.pem(), ca_pem))?;
    std::fs::write(&hosts_file, wanted)?;
    tracing::info!(hosts = ?hosts, file = %files.cert.display(), "made a server certificate");
    Ok(files)
}

fn ca_params() -> anyhow::Result<rcgen::CertificateParams> {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new())?;
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, CA_NAME);
    p.distinguished_name
        .push(rcgen::DnType::OrganizationName, "safegrid");
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    // Fixed dates: the same authority re-signed later is the same certificate to a verifier.
    p.not_before = rcgen::date_time_ymd(2026, 1, 1);
    p.not_after = rcgen::date_time_ymd(2026 + (CA_DAYS / 365) as i32, 1, 1);
    Ok(p)
}

fn validity(p: &mut rcgen::CertificateParams, days: i64) {
    use chrono::Datelike;
    let from = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    let to = from + chrono::Duration::days(days);
    p.not_before = rcgen::date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    p.not_after = rcgen::date_time_ymd(to.year(), to.month() as u8, to.day() as u8);
}

/// A private key, readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

/// Serves `app` over TLS on `listener` until `shutdown` resolves, then lets the requests in
/// flight finish (the caller bounds that wait). Each connection's peer address reaches the
/// handlers as `ConnectInfo`, as over plain HTTP.
pub async fn serve(
    app: Router,
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use tower::Service;
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    let mut make = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(svc) = make.call(peer).await;
        let acceptor = acceptor.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, %peer, "TLS handshake refused");
                    return;
                }
                Err(_) => return,
            };
            let io = hyper_util::rt::TokioIo::new(tls);
            let conn = builder
                .serve_connection_with_upgrades(
                    io,
                    hyper_util::service::TowerToHyperService::new(svc),
                )
                .into_owned();
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_and_remade_only_for_new_hosts() {
        let dir = std::env::temp_dir().join(format!("sg-tls-{}", uuid::Uuid::now_v7().simple()));
        let hosts = vec!["localhost".to_string(), "10.0.0.8".to_string()];
        let a = ensure_self_signed(&dir, &hosts).unwrap();
        let first = std::fs::read(&a.cert).unwrap();
        let ca = std::fs::read(&a.ca).unwrap();
        ensure_self_signed(&dir, &hosts).unwrap();
        assert_eq!(std::fs::read(&a.cert).unwrap(), first, "reused");
        ensure_self_signed(&dir, &["grid.local".to_string()]).unwrap();
        assert_ne!(
            std::fs::read(&a.cert).unwrap(),
            first,
            "new hosts, new certificate"
        );
        assert_eq!(std::fs::read(&a.ca).unwrap(), ca, "the same authority");
        let s = Settings {
            database: format!("sqlite://{}", dir.join("x.db").display()),
            tls_self_signed: true,
            tls_hosts: vec!["grid.local".into()],
            ..Settings::default()
        };
        // The database's directory is the data directory: load makes its own under dir/tls.
        let l = load(&s).unwrap().unwrap();
        assert_eq!(l.fingerprint.len(), 32 * 3 - 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn half_a_certificate_is_refused_naming_the_key() {
        let s = Settings {
            tls_cert: Some("/nonexistent/cert.pem".into()),
            ..Settings::default()
        };
        assert!(s.check().unwrap_err().to_string().starts_with("tls_key"));
        let s = Settings {
            tls_cert: Some("/nonexistent/cert.pem".into()),
            tls_key: Some("/nonexistent/key.pem".into()),
            ..Settings::default()
        };
        assert!(s.check().unwrap_err().to_string().starts_with("tls_cert"));
        let s = Settings {
            tls_hosts: vec!["bad host".into()],
            ..Settings::default()
        };
        assert!(s.check().unwrap_err().to_string().starts_with("tls_hosts"));
    }
}
