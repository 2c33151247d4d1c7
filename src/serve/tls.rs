//! TLS for the HTTPS and TLS-HELLO checks: rustls driven by hand over a
//! tokio `TcpStream` (no extra glue crate). Certificates are not verified
//! unless the monitor asks (`verify`, `ca_file`).

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::io::{Read, Write};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where the system's trusted roots are on Debian.
pub const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts any certificate (the handshake signatures are still checked).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client configuration: verifying against `ca_file` (the system's roots
/// when `None`) if `verify`, else accepting any certificate.
pub fn client_config(verify: bool, ca_file: Option<&str>) -> Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = if verify {
        let path = ca_file.unwrap_or(SYSTEM_CA_FILE);
        let mut roots = RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| format!("{path}: {e}"))?;
        for c in certs {
            let c = c.map_err(|e| format!("{path}: {e}"))?;
            roots.add(c).map_err(|e| format!("{path}: {e}"))?;
        }
        if roots.is_empty() {
            return Err(format!("{path}: no certificate"));
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// Complete a handshake over `stream`; then, with `request`, send it and
/// return the first line of the answer (the status line).
pub async fn exchange(
    mut stream: TcpStream,
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    request: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, String> {
    let mut conn = ClientConnection::new(config, name).map_err(|e| format!("TLS: {e}"))?;
    if let Some(req) = request {
        conn.writer()
            .write_all(req)
            .map_err(|e| format!("TLS: {e}"))?;
    }
    let mut buf = vec![0u8; 16 * 1024];
    let mut plain = Vec::new();
    let mut out = Vec::new();
    loop {
        while conn.wants_write() {
            out.clear();
            conn.write_tls(&mut out).map_err(|e| format!("TLS: {e}"))?;
            stream
                .write_all(&out)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
        }
        if !conn.is_handshaking() {
            if request.is_none() {
                return Ok(None);
            }
            loop {
                let mut tmp = [0u8; 1024];
                match conn.reader().read(&mut tmp) {
                    Ok(0) => return Ok(Some(plain)),
                    Ok(n) => {
                        plain.extend_from_slice(&tmp[..n]);
                        if plain.contains(&b'\n') || plain.len() > 8192 {
                            return Ok(Some(plain));
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(format!("TLS: {e}")),
                }
            }
        }
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        if n == 0 {
            return if conn.is_handshaking() {
                Err("TLS: connection closed during the handshake".into())
            } else {
                Ok(Some(plain))
            };
        }
        let mut rd = &buf[..n];
        while !rd.is_empty() {
            conn.read_tls(&mut rd).map_err(|e| format!("TLS: {e}"))?;
            conn.process_new_packets()
                .map_err(|e| format!("TLS: {e}"))?;
        }
    }
}
