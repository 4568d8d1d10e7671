//! TLS for the unit, as a requirer of the `certificates` relation (interface `tls-certificates`):
//! pure functions, no I/O and no hook tools, called by the charm's reconcile.
//!
//! The flow, one certificate per unit used for everything (client connections, the Patroni REST
//! API, pgBackRest's TLS server):
//!
//! 1. **Key** ([`PrivateKey`]): generated here, or supplied by the operator with the
//!    `set-tls-private-key` action and normalised to PKCS#8. The charm keeps it in a unit-owned
//!    Juju secret.
//! 2. **CSR** ([`identity`], [`make_csr`]): the unit's names (pod, headless service, primary and
//!    replicas services) and IP, signed with the key; [`csr_matches`] tells whether the stored
//!    CSR still fits the key and the names, or a new one is needed.
//! 3. **Request** ([`render_requests`]): the CSR goes to our unit databag under
//!    [`REQUESTS_KEY`].
//! 4. **Answer** ([`parse_provider`], [`find_for_csr`]): the provider's application databag
//!    lists certificates under [`CERTIFICATES_KEY`]; we pick the one for our CSR.
//! 5. **Verify** ([`verify()`]): used only if not revoked, for our key, covering our names, within
//!    its validity and chaining to the CA it came with (DESIGN §6); otherwise a [`CertError`]
//!    that becomes a blocked status.
//! 6. **Files**: [`Verified`] holds what the workload gets (`cert.pem` with intermediates,
//!    `ca.pem`; `key.pem` is [`PrivateKey::pem`]), and [`renewal_due`] says when to ask again.
//!
//! Why ECDSA P-256 is the generated key type: our one crypto provider is ring, which cannot
//! generate RSA keys (rcgen generates them only with aws-lc, a C library build we avoid);
//! PostgreSQL, libpq, Patroni and pgBackRest all accept P-256 certificates; and P-256 keys are
//! small and make handshakes faster than RSA. RSA keys (2048 bits or more) are still accepted
//! from operators through `set-tls-private-key`, since ring signs with existing RSA keys.

mod der;
mod pem;

pub mod csr;
pub mod keys;
pub mod relation;
pub mod verify;

pub use csr::{CsrError, Identity, csr_matches, identity, make_csr};
pub use keys::{KeyError, KeyKind, PrivateKey};
pub use relation::{
    CERTIFICATES_KEY, ProviderCertificate, REQUESTS_KEY, RelationDataError, find_for_csr,
    parse_provider, render_requests, same_pem,
};
pub use verify::{CertError, Verified, renewal_due, verify};
