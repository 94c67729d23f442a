"""Certificates and tokens made by the tests: a CA, Envoy's server certificate, client
certificates whose URI SAN is a given (SPIFFE) id, and RS256 tokens with their JWKS."""

from __future__ import annotations

import base64
import datetime
import json
import ssl
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class Pki:
    """A CA in `directory`, and the certificates it signs (written as PEM files)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(_name("meshgate e2e ca"))
            .issuer_name(_name("meshgate e2e ca"))
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_path = self.dir / "ca.pem"
        self.ca_path.write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))
        self.server_cert, self.server_key = self.issue("server", [x509.DNSName("localhost")])
        self._clients: dict[str, tuple[Path, Path]] = {}

    def issue(self, stem: str, sans: list[x509.GeneralName]) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(stem))
            .issuer_name(self.ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        cert_path, key_path = self.dir / f"{stem}.pem", self.dir / f"{stem}-key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(_pem_key(key))
        return cert_path, key_path

    def client(self, uri: str | None) -> ssl.SSLContext:
        """A client TLS context presenting a certificate whose only URI SAN is `uri` (none when
        `uri` is None). The server certificate is not checked: the tests test Envoy, not TLS."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if uri is not None:
            if uri not in self._clients:
                stem = f"client-{len(self._clients)}"
                self._clients[uri] = self.issue(stem, [x509.UniformResourceIdentifier(uri)])
            cert, key = self._clients[uri]
            ctx.load_cert_chain(cert, key)
        return ctx

    def downstream_tls(self, require_client_certificate: bool = False) -> dict[str, Any]:
        """Envoy's `DownstreamTlsContext` with the server certificate, trusting the CA."""
        return {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "require_client_certificate": require_client_certificate,
            "common_tls_context": {
                "tls_certificates": [
                    {
                        "certificate_chain": {"filename": str(self.server_cert)},
                        "private_key": {"filename": str(self.server_key)},
                    }
                ],
                "validation_context": {"trusted_ca": {"filename": str(self.ca_path)}},
            },
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """An RS256 key, its JWKS (written to `path`) and the tokens it signs."""

    def __init__(self, path: Path, kid: str = "e2e") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = kid
        numbers = self.key.public_key().public_numbers()

        def big(n: int) -> str:
            return _b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        self.jwks_path = path
        path.write_text(
            json.dumps({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": big(numbers.n), "e": big(numbers.e)}]})
        )

    def token(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": self.kid}).encode())
        payload = _b64(json.dumps(claims).encode())
        signature = self.key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{payload}.{_b64(signature)}"
