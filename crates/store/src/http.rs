//! The one place the store's HTTP clients are made: [`HttpConfig`] says whom to trust, [`HttpClient`] is the
//! client the trustless gateway, Kubo RPC and pinning service clients share.
//!
//! TLS is rustls with the `ring` crypto provider (no C toolchain beyond `cc`, unlike aws-lc-rs). The trust roots
//! are the system's (what `rustls-native-certs` finds: `SSL_CERT_FILE`/`SSL_CERT_DIR`, else Debian's
//! `/etc/ssl/certs`), so a CA an administrator installs with `update-ca-certificates` is trusted, plus any CA the
//! caller adds ([`HttpConfig::with_ca_cert_file`]; the CLI reads [`CA_CERT_ENV`]). TLS failures are turned into
//! messages that say what failed and what to do ([`tls_failure`]).

use std::error::Error as StdError;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{CertificateError, RootCertStore};

use crate::error::{StoreError, StoreResult};

/// The environment variable the `scal3ml` CLI reads for an extra CA certificate file (PEM, one or more
/// certificates), for gateways and pinning services behind a private CA.
pub const CA_CERT_ENV: &str = "SCAL3ML_CA_CERT";

/// Whom the HTTP clients trust. The default trusts the system's CA certificates.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    system_roots: bool,
    extra_roots: Vec<CertificateDer<'static>>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            system_roots: true,
            extra_roots: Vec::new(),
        }
    }
}

impl HttpConfig {
    /// Trusts the system's CA certificates and nothing else.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts the CA certificates in `pem` (one or more `BEGIN CERTIFICATE` sections); `source` names where
    /// they came from in error messages.
    pub fn with_ca_cert_pem(mut self, pem: &[u8], source: &str) -> StoreResult<Self> {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| {
                StoreError::invalid(format!(
                    "CA certificate {source} is not valid PEM ({e}): give a PEM file with BEGIN CERTIFICATE sections"
                ))
            })?;
            // Check it parses as a trust anchor now, so a bad file is reported here and not at the first request.
            RootCertStore::empty().add(cert.clone()).map_err(|e| {
                StoreError::invalid(format!(
                    "CA certificate {source} cannot be used as a trust anchor: {e}"
                ))
            })?;
            self.extra_roots.push(cert);
            found += 1;
        }
        if found == 0 {
            return Err(StoreError::invalid(format!(
                "CA certificate {source} holds no BEGIN CERTIFICATE section: give the CA's certificate in PEM"
            )));
        }
        Ok(self)
    }

    /// Also trusts the CA certificates in the PEM file at `path`.
    pub fn with_ca_cert_file(self, path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|e| {
            StoreError::invalid(format!(
                "cannot read CA certificate file {} ({e}): give the path of the CA's PEM file",
                path.display()
            ))
        })?;
        self.with_ca_cert_pem(&pem, &path.display().to_string())
    }

    /// Trusts only the CAs added with `with_ca_cert_*`, not the system's (a private deployment, or a test that
    /// must not depend on what the machine trusts).
    pub fn without_system_roots(mut self) -> Self {
        self.system_roots = false;
        self
    }

    /// The client for this configuration.
    pub fn client(&self) -> StoreResult<HttpClient> {
        HttpClient::new(self)
    }
}

/// An HTTP(S) client made from an [`HttpConfig`]; cheap to clone (clones share one connection pool). Hand it to
/// `GatewayClient::with_http`, `KuboClient::with_http` and `PinningClient::with_http`.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
}

impl HttpClient {
    /// A client trusting what `config` says.
    pub fn new(config: &HttpConfig) -> StoreResult<Self> {
        let mut roots = if config.system_roots {
            system_roots().clone()
        } else {
            RootCertStore::empty()
        };
        for cert in &config.extra_roots {
            // Parsed in `with_ca_cert_pem` already; this cannot fail for a certificate that passed there.
            roots
                .add(cert.clone())
                .map_err(|e| StoreError::invalid(format!("CA certificate: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::invalid(format!("TLS configuration: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // The clients speak HTTP/1.1 only.
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let inner = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .build()
            .map_err(|e| StoreError::invalid(format!("HTTP client: {}", error_chain(&e))))?;
        Ok(Self { inner })
    }

    pub(crate) fn inner(&self) -> &reqwest::Client {
        &self.inner
    }

    /// The reqwest (0.12) client underneath, for other crates' HTTP clients (the access gateway's) that trust
    /// what this one trusts and share its connection pool.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }
}

impl Default for HttpClient {
    /// A client trusting the system's CA certificates.
    fn default() -> Self {
        Self::new(&HttpConfig::default())
            .expect("a TLS configuration of system roots and a safe provider always builds")
    }
}

/// The system's CA certificates, read once per process. Certificates that do not parse are skipped (as
/// browsers and curl do); none at all leaves the store empty, and every `https://` URL fails with a message
/// saying so.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::warn!(target: "store::http", %error, "reading the system CA certificates");
        }
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
        tracing::debug!(target: "store::http", added, ignored, "system CA certificates");
        roots
    })
}

/// If `error` is a TLS failure, what failed and what to do about it, naming the host.
pub(crate) fn tls_failure(error: &reqwest::Error) -> Option<String> {
    let tls = find_rustls_error(error)?;
    let host = error
        .url()
        .map(|url| match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => url.to_string(),
        })
        .unwrap_or_else(|| "the server".to_owned());
    let name = error
        .url()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| host.clone());
    Some(match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                let no_system = if system_roots().is_empty() {
                    " (this machine has no system CA certificates at all: install the ca-certificates package)"
                } else {
                    ""
                };
                format!(
                    "the TLS certificate of {host} is not trusted: it is not signed by a CA this machine trusts{no_system}; \
                     if {host} uses your own CA, pass its certificate with {CA_CERT_ENV}=/path/to/ca.pem \
                     (HttpConfig::with_ca_cert_file in Rust)"
                )
            }
            CertificateError::NotValidForName => format!(
                "the TLS certificate of {host} is not valid for the name {name}: use the host name the certificate \
                 was issued for in the URL, or reissue the certificate with {name} among its names"
            ),
            CertificateError::NotValidForNameContext { presented, .. } => format!(
                "the TLS certificate of {host} is not valid for the name {name} (it is for {}): use the host name \
                 the certificate was issued for in the URL, or reissue the certificate with {name} among its names",
                presented.join(", ")
            ),
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => format!(
                "the TLS certificate of {host} is outside its validity period ({cert}): renew the certificate, or \
                 check this machine's clock"
            ),
            other => format!("the TLS certificate of {host} was refused: {other}"),
        },
        rustls::Error::InvalidMessage(_) => format!(
            "{host} did not answer in TLS: if it is a plain HTTP server, use an http:// URL instead of https://"
        ),
        other => format!("the TLS handshake with {host} failed: {other}"),
    })
}

/// The rustls error somewhere in `error`'s chain of sources. I/O errors hide what they wrap behind `get_ref`
/// (their `source` skips it), and hyper wraps rustls's I/O error in another one, so both ways are followed.
fn find_rustls_error<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    None
}

/// `error` and its sources joined by ": ", so "connection refused" is not lost behind "error sending request".
pub(crate) fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(e) = current {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        current = e.source();
    }
    text
}

/// What to put after "cannot reach ...": the TLS explanation, or the error chain (with a hint when an
/// `http://` URL got an answer that is not HTTP, as a TLS server gives).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    if let Some(tls) = tls_failure(error) {
        return tls;
    }
    let mut text = error_chain(error);
    if let Some(hint) = plain_http_hint(error) {
        text.push_str(&hint);
    }
    text
}

/// For an `http://` URL whose server answered with something that is not HTTP or hung up mid-answer (a TLS
/// server does one or the other): a hint to try `https://`.
pub(crate) fn plain_http_hint(error: &reqwest::Error) -> Option<String> {
    if error.url().map(|url| url.scheme()) != Some("http") {
        return None;
    }
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(hyper) = e.downcast_ref::<hyper::Error>()
            && (hyper.is_parse() || hyper.is_incomplete_message())
        {
            return Some(
                "; the server did not answer in HTTP: if it speaks only TLS, use an https:// URL"
                    .to_owned(),
            );
        }
        current = e.source();
    }
    None
}

/// HTTPS for tests: a CA of its own that makes server certificates, and axum routers served over TLS on
/// 127.0.0.1 port 0 (rustls with ring, as the clients use).
#[cfg(feature = "test-utils")]
pub mod test_utils {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::server::TlsStream;

    use super::{HttpClient, HttpConfig};

    /// A server certificate chain (leaf first, then the CA) and the leaf's private key.
    pub type ServerCert = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

    /// A certificate authority of our own, as a company running its own gateway would have.
    pub struct TestCa {
        issuer: CertifiedIssuer<'static, KeyPair>,
    }

    impl TestCa {
        /// A fresh CA with a new key.
        pub fn new() -> Self {
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names");
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params
                .distinguished_name
                .push(DnType::CommonName, "Scal3ML test CA");
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let key = KeyPair::generate().expect("ring makes P-256 keys");
            Self {
                issuer: CertifiedIssuer::self_signed(params, key).expect("a CA certificate"),
            }
        }

        /// The CA certificate in PEM, what a user would put in `SCAL3ML_CA_CERT`.
        pub fn pem(&self) -> String {
            self.issuer.pem()
        }

        /// A server certificate signed by this CA for `names` (DNS names or IP addresses; at least one).
        pub fn leaf(&self, names: &[&str]) -> ServerCert {
            self.make_leaf(names, false)
        }

        /// Like [`TestCa::leaf`], but valid only during 2020.
        pub fn expired_leaf(&self, names: &[&str]) -> ServerCert {
            self.make_leaf(names, true)
        }

        fn make_leaf(&self, names: &[&str], expired: bool) -> ServerCert {
            let key = KeyPair::generate().expect("ring makes P-256 keys");
            let mut params =
                CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                    .expect("valid names");
            params.distinguished_name.push(
                DnType::CommonName,
                names.first().copied().unwrap_or("server"),
            );
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            if expired {
                params.not_before = rcgen::date_time_ymd(2020, 1, 1);
                params.not_after = rcgen::date_time_ymd(2020, 12, 31);
            }
            let cert = params
                .signed_by(&key, &self.issuer)
                .expect("a leaf certificate");
            (
                vec![cert.der().clone(), self.issuer.der().clone()],
                PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
            )
        }

        /// A client trusting the system's CAs and this one, as `SCAL3ML_CA_CERT` makes the CLI do.
        pub fn client(&self) -> HttpClient {
            HttpConfig::new()
                .with_ca_cert_pem(self.pem().as_bytes(), "the test CA")
                .and_then(|config| config.client())
                .expect("the test CA is valid PEM")
        }
    }

    impl Default for TestCa {
        fn default() -> Self {
            Self::new()
        }
    }

    /// Hands axum the connections whose TLS handshake succeeded; handshakes run in their own tasks so a client
    /// that refuses the certificate never holds up the next one.
    struct TlsListener {
        accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
        addr: SocketAddr,
    }

    impl axum::serve::Listener for TlsListener {
        type Io = TlsStream<TcpStream>;
        type Addr = SocketAddr;

        async fn accept(&mut self) -> (Self::Io, Self::Addr) {
            match self.accepted.recv().await {
                Some(connection) => connection,
                None => std::future::pending().await,
            }
        }

        fn local_addr(&self) -> std::io::Result<SocketAddr> {
            Ok(self.addr)
        }
    }

    /// Serves `app` over TLS with `cert` on 127.0.0.1 port 0 until the runtime ends; returns the port.
    pub async fn serve_tls(app: axum::Router, (chain, key): ServerCert) -> u16 {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("a certificate and its key");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let tcp = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = tcp.local_addr().expect("a bound address");
        let (sender, accepted) = mpsc::channel(16);
        tokio::spawn(async move {
            while let Ok((stream, peer)) = tcp.accept().await {
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        let _ = sender.send((tls, peer)).await;
                    }
                });
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(TlsListener { accepted, addr }, app).await;
        });
        addr.port()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused_with_what_to_give() {
        let err = HttpConfig::new()
            .with_ca_cert_pem(b"not a certificate\n", "ca.pem")
            .unwrap_err();
        assert!(err.to_string().contains("no BEGIN CERTIFICATE"), "{err}");
    }

    #[test]
    fn a_broken_pem_section_is_refused() {
        let pem = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let err = HttpConfig::new()
            .with_ca_cert_pem(pem, "ca.pem")
            .unwrap_err();
        assert!(err.to_string().contains("ca.pem"), "{err}");
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let err = HttpConfig::new()
            .with_ca_cert_file("/nonexistent/scal3ml-ca.pem")
            .unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/scal3ml-ca.pem"),
            "{err}"
        );
    }
}
