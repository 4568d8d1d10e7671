//! In-cluster discovery: the environment map and a fake pod root with the service-account
//! files, and HTTPS to a one-connection rustls server whose certificate a test CA signed.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use postgresql_k8s::k8s::{Error, KubeClient};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::fake::{install_crypto, pod};

// A test CA, a server certificate it signed for 127.0.0.1/localhost, that certificate's key, and
// an unrelated CA (generated once with openssl; valid for 100 years).
const CA_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBlDCCATmgAwIBAgIUDRsOv5gXsFQ8IlnqgwlqOWy6eo8wCgYIKoZIzj0EAwIw\n\
FjEUMBIGA1UEAwwLazhzLXRlc3QtY2EwIBcNMjYxMTI4MDEyOTE0WhgPMjEyNjEx\n\
MDQwMTI5MTRaMBYxFDASBgNVBAMMC2s4cy10ZXN0LWNhMFkwEwYHKoZIzj0CAQYI\n\
KoZIzj0DAQcDQgAEp5W4dSN7JZtXGykEAuD7uhKl8e6JZ0t716Ds+wwj3NAgNJsy\n\
g49/AdRRKmQVVCcUTGJuoBccWaM545exbruZfKNjMGEwHQYDVR0OBBYEFNWlqRKl\n\
RdAqNMxTY23zKSzHrW12MB8GA1UdIwQYMBaAFNWlqRKlRdAqNMxTY23zKSzHrW12\n\
MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoGCCqGSM49BAMCA0kA\n\
MEYCIQDPa19SFvuIYDIwkn/5E1l0nvHI76817jWxCyGoJSyoDwIhAO5+SZFSukew\n\
bAnGVtiVZB/vLRaEw1wyvs5It4GdZqZ/\n\
-----END CERTIFICATE-----\n\
";
const SERVER_CERT_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBwTCCAWegAwIBAgIULqGkrsycNVp2yo9RCcmoyI1wPf0wCgYIKoZIzj0EAwIw\n\
FjEUMBIGA1UEAwwLazhzLXRlc3QtY2EwIBcNMjYxMTI4MDEyOTE0WhgPMjEyNjEx\n\
MDQwMTI5MTRaMBQxEjAQBgNVBAMMCTEyNy4wLjAuMTBZMBMGByqGSM49AgEGCCqG\n\
SM49AwEHA0IABH/kyzPv2Pkg9SvXTjtyjqfJGNL0PHXbfoMERwUQtaRWMicdvSBE\n\
6KYSfnbG68k3zrrrNVagVWsK1cXlZiq3AXGjgZIwgY8wDAYDVR0TAQH/BAIwADAO\n\
BgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwGgYDVR0RBBMwEYcE\n\
fwAAAYIJbG9jYWxob3N0MB0GA1UdDgQWBBRzmKsx8mFwhui67iKbmnUkaarjyjAf\n\
BgNVHSMEGDAWgBTVpakSpUXQKjTMU2Nt8yksx61tdjAKBggqhkjOPQQDAgNIADBF\n\
AiEAwI3eiRbuXKWYedoG37bSqMQclItdSe4e/ICcsCWxc8sCIHnqIGutgiUqPiNi\n\
dfFY5uKI3d9vslt77eTS/Sgkc0a6\n\
-----END CERTIFICATE-----\n\
";
const SERVER_KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgh6GK2lLQyRSLPJ64\n\
yxcHvWgo2eg3WeFi20QHlxTK2vuhRANCAAR/5Msz79j5IPUr1047co6nyRjS9Dx1\n\
236DBEcFELWkVjInHb0gROimEn52xuvJN8666zVWoFVrCtXF5WYqtwFx\n\
-----END PRIVATE KEY-----\n\
";
const OTHER_CA_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBfTCCASOgAwIBAgIUHwrQLFeBcCPog2QCohC3dElaBAQwCgYIKoZIzj0EAwIw\n\
EzERMA8GA1UEAwwIb3RoZXItY2EwIBcNMjYxMTI4MDEyOTE0WhgPMjEyNjExMDQw\n\
MTI5MTRaMBMxETAPBgNVBAMMCG90aGVyLWNhMFkwEwYHKoZIzj0CAQYIKoZIzj0D\n\
AQcDQgAEgEIyYA5K+CJ1CgGaL/duaWQiT+D2GQbZP0rkP+v3N7jIN8X5kR/hq9tL\n\
0sKArjs8P84QwWkiKLEdfbYe/ZeqM6NTMFEwHQYDVR0OBBYEFKBGhp/QDwhOuhjN\n\
/uZgbIrX55mbMB8GA1UdIwQYMBaAFKBGhp/QDwhOuhjN/uZgbIrX55mbMA8GA1Ud\n\
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAKgxTw3URW3TCb3n9Yd0a9do\n\
ICqTRvLGaiQbA/u9mDt9AiAszoZIMUDsdHhJA5e6e1jZ3p1ACy6Ry3kctSeXy3wU\n\
rg==\n\
-----END CERTIFICATE-----\n\
";
fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A pod's root with the service-account files, as Kubernetes mounts them.
fn fake_root(ca_pem: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let dir = root
        .path()
        .join("var/run/secrets/kubernetes.io/serviceaccount");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("token"), "t0ken\n").unwrap();
    std::fs::write(dir.join("ca.crt"), ca_pem).unwrap();
    std::fs::write(dir.join("namespace"), "model").unwrap();
    root
}

#[test]
fn in_cluster_is_none_outside_kubernetes() {
    install_crypto();
    let missing = Path::new("/nonexistent");
    assert!(
        KubeClient::in_cluster(&env(&[]), missing)
            .unwrap()
            .is_none()
    );
    let empty = env(&[
        ("KUBERNETES_SERVICE_HOST", ""),
        ("KUBERNETES_SERVICE_PORT", "443"),
    ]);
    assert!(KubeClient::in_cluster(&empty, missing).unwrap().is_none());
}

#[test]
fn in_cluster_with_broken_configuration_is_an_error() {
    install_crypto();
    let host = env(&[
        ("KUBERNETES_SERVICE_HOST", "10.152.183.1"),
        ("KUBERNETES_SERVICE_PORT", "443"),
    ]);
    let error = KubeClient::in_cluster(&host, Path::new("/nonexistent")).unwrap_err();
    assert!(
        matches!(&error, Error::Config(m) if m.contains("/nonexistent/var/run/secrets/kubernetes.io/serviceaccount/token")),
        "{error:?}"
    );
    let root = fake_root("not a certificate");
    let error = KubeClient::in_cluster(&host, root.path()).unwrap_err();
    assert!(
        matches!(&error, Error::Config(m) if m.contains("ca.crt")),
        "{error:?}"
    );
    let bad_port = env(&[
        ("KUBERNETES_SERVICE_HOST", "10.152.183.1"),
        ("KUBERNETES_SERVICE_PORT", "https"),
    ]);
    assert!(matches!(
        KubeClient::in_cluster(&bad_port, fake_root(CA_PEM).path()),
        Err(Error::Config(_))
    ));
    // The port defaults to 443, and IPv6 hosts are bracketed.
    let v6 = env(&[("KUBERNETES_SERVICE_HOST", "fd00::1")]);
    let client = KubeClient::in_cluster(&v6, fake_root(CA_PEM).path())
        .unwrap()
        .expect("client");
    assert_eq!(client.namespace(), "model");
}

/// A one-connection HTTPS server with the test CA's server certificate; returns its port and
/// the request head it received (`None` if the handshake failed).
fn tls_server() -> (u16, std::thread::JoinHandle<Option<String>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let certs = CertificateDer::pem_slice_iter(SERVER_CERT_PEM.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY_PEM.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let handle = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().ok()?;
        let connection = rustls::ServerConnection::new(Arc::new(config)).ok()?;
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if tls.read(&mut byte).ok()? == 0 {
                return None;
            }
            head.push(byte[0]);
        }
        let body = pod("pg-0").to_string();
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(response.as_bytes()).ok()?;
        tls.conn.send_close_notify();
        let _ = tls.flush();
        Some(String::from_utf8_lossy(&head).into_owned())
    });
    (port, handle)
}

#[tokio::test]
async fn in_cluster_speaks_https_with_the_service_account() {
    install_crypto();
    let (port, server) = tls_server();
    let environment = env(&[
        ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
        ("KUBERNETES_SERVICE_PORT", &port.to_string()),
    ]);
    let root = fake_root(CA_PEM);
    let client = KubeClient::in_cluster(&environment, root.path())
        .unwrap()
        .expect("in cluster");
    assert_eq!(client.namespace(), "model");
    assert!(
        !format!("{client:?}").contains("t0ken"),
        "token leaked in Debug"
    );
    let pod = client.get_pod("pg-0").await.unwrap();
    assert_eq!(pod.metadata.owner_references[0].uid, "5e1c-uid");
    let head = server.join().unwrap().expect("TLS request");
    let head = head.to_ascii_lowercase();
    assert!(
        head.starts_with("get /api/v1/namespaces/model/pods/pg-0 http/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nauthorization: bearer t0ken\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn in_cluster_trusts_only_the_service_account_ca() {
    install_crypto();
    let (port, server) = tls_server();
    let environment = env(&[
        ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
        ("KUBERNETES_SERVICE_PORT", &port.to_string()),
    ]);
    let root = fake_root(OTHER_CA_PEM);
    let client = KubeClient::in_cluster(&environment, root.path())
        .unwrap()
        .expect("in cluster");
    let error = client.get_pod("pg-0").await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(
        server.join().unwrap(),
        None,
        "the server must not see the request"
    );
}

#[tokio::test]
async fn base_url_https_with_a_test_ca() {
    install_crypto();
    let (port, server) = tls_server();
    let url = format!("https://localhost:{port}");
    let client = KubeClient::with_base_url(&url, "model", None, Some(CA_PEM.as_bytes())).unwrap();
    client.get_pod("pg-0").await.unwrap();
    let head = server.join().unwrap().expect("TLS request");
    assert!(
        !head.to_ascii_lowercase().contains("authorization"),
        "{head}"
    );
}
