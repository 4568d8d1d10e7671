//! reqwest (rustls without a bundled provider) cannot build any client, even a plain-HTTP
//! unix-socket one, until a crypto provider is installed. The client reports that as an error
//! instead of panicking. This runs in its own test binary because installing a provider is
//! process-wide.

use pebble::{Client, Error};

#[test]
fn constructors_require_a_crypto_provider() {
    let err = Client::with_socket_path("/nonexistent/pebble.socket").unwrap_err();
    assert!(
        matches!(&err, Error::Setup(message) if message.contains("crypto provider")),
        "{err:?}"
    );

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::with_socket_path("/nonexistent/pebble.socket").unwrap();
    assert_eq!(
        client.socket_path(),
        std::path::Path::new("/nonexistent/pebble.socket")
    );
    let container = Client::for_container("postgresql").unwrap();
    assert_eq!(
        container.socket_path(),
        std::path::Path::new("/charm/containers/postgresql/pebble.socket")
    );
}
