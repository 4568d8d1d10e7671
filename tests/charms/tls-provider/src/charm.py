#!/usr/bin/env python3
"""A TLS certificates provider for lab tests, on ops and the tls-certificates library.

It keeps a self-signed CA and answers every certificate request on the `certificates` relation
through the library's provider (`TLSCertificatesProvidesV4`). Config `mode` makes it issue
certificates that are wrong in one way, to test what a requirer accepts:

- `valid`: signed by the CA for the CSR, as the library builds it;
- `expired`: as valid, but the validity window lies entirely in the past;
- `wrong-san`: for the CSR's key, but named only `wrong.example` (subject and SAN);
- `wrong-key`: the CSR's subject and names, but the public key of a fresh key (thrown away);
- `wrong-ca`: signed by a second CA of the same name, while `ca` and `chain` give the real CA;
- `revoked`: valid, then flagged `revoked` by the library's `revoke_all_certificates()` (the
  only way the library sets the flag: it flags every certificate of the provider, which is
  what this mode wants anyway).

The CAs live in this unit's StoredState (ops keeps it in the unit's charm directory), so the
provider is meant to run as one unit: only the leader issues.
"""

import datetime
import logging

import ops
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    PrivateKey,
    ProviderCertificate,
    RequirerCertificateRequest,
    TLSCertificatesProvidesV4,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

logger = logging.getLogger(__name__)

RELATION = "certificates"
MODES = ("valid", "expired", "wrong-san", "wrong-key", "wrong-ca", "revoked")
CA_NAME = "tls-provider lab CA"
CA_VALIDITY = datetime.timedelta(days=365)
WRONG_NAME = "wrong.example"


class TLSProviderCharm(ops.CharmBase):
    """Issues (possibly deliberately bad) certificates for every request it gets."""

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self._stored.set_default(ca="", ca_key="", rogue_ca="", rogue_ca_key="")
        # The library observes relation-created/joined/changed and update-status itself: as
        # leader it drops certificates whose CSR is gone (a renewal replaced it). It is made
        # first, so that runs before our handlers.
        self.tls = TLSCertificatesProvidesV4(self, RELATION)
        framework.observe(self.on.install, self._on_install)
        framework.observe(self.on.config_changed, self._on_config_changed)
        framework.observe(self.on[RELATION].relation_changed, self._on_relation_changed)
        framework.observe(self.on.get_ca_action, self._on_get_ca)

    # --- events ---

    def _on_install(self, _event: ops.InstallEvent):
        self._ensure_ca()

    def _on_config_changed(self, _event: ops.ConfigChangedEvent):
        self._ensure_ca()
        mode = self._mode()
        if mode is None:
            return
        if not self.unit.is_leader():
            self.unit.status = ops.ActiveStatus(f"mode {mode} (not the leader: not issuing)")
            return
        # Every current request, not only the outstanding ones: a test flips modes this way.
        self._issue(self.tls.get_certificate_requests(), mode)

    def _on_relation_changed(self, _event: ops.RelationChangedEvent):
        self._ensure_ca()
        mode = self._mode()
        if mode is None or not self.unit.is_leader():
            return
        self._issue(self._pending(mode), mode)

    def _on_get_ca(self, event: ops.ActionEvent):
        self._ensure_ca()
        event.set_results({"ca": self._stored.ca})

    # --- issuing ---

    def _mode(self) -> str | None:
        mode = str(self.config.get("mode", "valid"))
        if mode not in MODES:
            self.unit.status = ops.BlockedStatus(f"unknown mode {mode!r}: one of {MODES}")
            return None
        return mode

    def _validity(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=int(self.config.get("validity-seconds", 2592000)))

    def _pending(self, mode: str) -> list[RequirerCertificateRequest]:
        """Requests to answer on relation-changed: new CSRs, and CSRs replacing old ones.

        The library counts a request as outstanding until a non-revoked certificate for the
        CSR's key is in the databag; our wrong-key and revoked certificates never are, so in
        the bad modes a CSR already answered (in this mode, since config-changed re-issues
        everything) is left alone rather than re-issued on every relation-changed.
        """
        outstanding = self.tls.get_outstanding_certificate_requests()
        if mode == "valid":
            return outstanding
        issued = self.tls.get_provider_certificates()
        answered = {str(c.certificate_signing_request) for c in issued}
        return [r for r in outstanding if str(r.certificate_signing_request) not in answered]

    def _issue(self, requests: list[RequirerCertificateRequest], mode: str):
        ca = Certificate.from_string(self._stored.ca)
        ca_key = PrivateKey.from_string(self._stored.ca_key)
        validity = self._validity()
        for request in requests:
            csr = request.certificate_signing_request
            certificate = self._certificate(mode, csr, request.is_ca, ca, ca_key, validity)
            self.tls.set_relation_certificate(
                ProviderCertificate(
                    relation_id=request.relation_id,
                    certificate=certificate,
                    certificate_signing_request=csr,
                    ca=ca,
                    # Leaf first, then the CA: the order the library checks for.
                    chain=[certificate, ca],
                )
            )
            logger.info(
                "issued a certificate in mode %s (serial %x, not after %s) for CSR CN=%r on "
                "relation %d",
                mode,
                x509.load_pem_x509_certificate(str(certificate).encode()).serial_number,
                certificate.expiry_time.isoformat(),
                csr.common_name,
                request.relation_id,
            )
        if mode == "revoked" and requests:
            self.tls.revoke_all_certificates()
            logger.info("flagged every certificate revoked")
        self.unit.status = ops.ActiveStatus(f"mode {mode}")

    def _certificate(
        self,
        mode: str,
        csr: CertificateSigningRequest,
        is_ca: bool,
        ca: Certificate,
        ca_key: PrivateKey,
        validity: datetime.timedelta,
    ) -> Certificate:
        if mode in ("valid", "revoked"):
            return csr.sign(ca=ca, ca_private_key=ca_key, validity=validity, is_ca=is_ca)
        if mode == "wrong-ca":
            rogue = Certificate.from_string(self._stored.rogue_ca)
            rogue_key = PrivateKey.from_string(self._stored.rogue_ca_key)
            return csr.sign(ca=rogue, ca_private_key=rogue_key, validity=validity, is_ca=is_ca)
        # The library builds certificates only from a CSR, from now on: the rest by hand.
        request = x509.load_pem_x509_csr(str(csr).encode())
        subject = request.subject
        public_key = request.public_key()
        names = _san_of(request)
        now = datetime.datetime.now(datetime.timezone.utc)
        not_before, not_after = now, now + validity
        if mode == "expired":
            not_after = now - datetime.timedelta(hours=1)
            not_before = not_after - validity
        elif mode == "wrong-san":
            subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, WRONG_NAME)])
            names = x509.SubjectAlternativeName([x509.DNSName(WRONG_NAME)])
        elif mode == "wrong-key":
            fresh = PrivateKey.generate().raw  # never stored nor logged
            public_key = serialization.load_pem_private_key(fresh.encode(), None).public_key()
        return _sign(subject, public_key, names, is_ca, ca, ca_key, not_before, not_after)

    # --- the CAs ---

    def _ensure_ca(self):
        """Make the CA (and the rogue one, same name, other key) once; StoredState keeps them."""
        if not self._stored.ca:
            self._stored.ca_key, self._stored.ca = _new_ca()
            logger.info("generated the CA %r", CA_NAME)
        if not self._stored.rogue_ca:
            self._stored.rogue_ca_key, self._stored.rogue_ca = _new_ca()
            logger.info("generated the rogue CA for mode wrong-ca")


def _new_ca() -> tuple[str, str]:
    """A self-signed CA: (key PEM, certificate PEM)."""
    key = PrivateKey.generate()
    attributes = CertificateRequestAttributes(
        common_name=CA_NAME, is_ca=True, add_unique_id_to_subject_name=False
    )
    ca = Certificate.generate_self_signed_ca(attributes, key, CA_VALIDITY)
    return key.raw, ca.raw


def _san_of(request: x509.CertificateSigningRequest) -> x509.SubjectAlternativeName | None:
    try:
        return request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def _sign(
    subject: x509.Name,
    public_key,
    names: x509.SubjectAlternativeName | None,
    is_ca: bool,
    ca: Certificate,
    ca_key: PrivateKey,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
) -> Certificate:
    """A certificate built with cryptography, with the extensions the library would give it."""
    issuer = x509.load_pem_x509_certificate(ca.raw.encode())
    signer = serialization.load_pem_private_key(ca_key.raw.encode(), None)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if names is not None:
        builder = builder.add_extension(names, critical=False)
    return Certificate(x509_object=builder.sign(signer, hashes.SHA256()))


if __name__ == "__main__":
    ops.main(TLSProviderCharm)
