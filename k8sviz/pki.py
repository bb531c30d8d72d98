"""The API server's own PKI: a private CA and a serving certificate for 127.0.0.1/localhost.

kubectl never sends a bearer token over plain http (client-go only reads auth info for a TLS
transport), so the Kubernetes-style API is served over HTTPS like kube-apiserver's :6443. On
first use :func:`ensure` creates, under ``<VAR_DIR>/pki/`` (never committed):

- ``ca.crt`` / ``ca.key``: a self-signed CA, embedded in kubeconfigs as
  ``certificate-authority-data``;
- ``apiserver.crt`` / ``apiserver.key``: the serving certificate signed by that CA, with the
  subject alternative names kubeadm gives kube-apiserver for loopback (``localhost``,
  ``127.0.0.1``, ``::1``).

Existing files are reused, so kubeconfigs stay valid across restarts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVING_DAYS = 825
SERVING_NAMES = ("localhost",)
SERVING_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path

    def ca_pem(self) -> bytes:
        return self.ca_cert.read_bytes()


def paths(var_dir: Path) -> Pki:
    base = Path(var_dir) / "pki"
    return Pki(
        ca_cert=base / "ca.crt",
        ca_key=base / "ca.key",
        cert=base / "apiserver.crt",
        key=base / "apiserver.key",
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(tmp, flags, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    tmp.replace(path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _create_ca(pki: Pki, now: dt.datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k8sviz-ca")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(pki.ca_key, _key_pem(key), private=True)
    _write(pki.ca_cert, _cert_pem(cert))


def _serving_sans(names: tuple[str, ...]) -> list[x509.GeneralName]:
    """The loopback names and addresses, and ``names`` (a host name or an IP address each)."""
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVING_NAMES]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVING_IPS]
    for name in names:
        try:
            entry: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
        except ValueError:
            entry = x509.DNSName(name)
        if entry not in sans:
            sans.append(entry)
    return sans


def _covers(pki: Pki, names: tuple[str, ...]) -> bool:
    cert = x509.load_pem_x509_certificate(pki.cert.read_bytes())
    have = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return all(entry in have for entry in _serving_sans(names))


def _create_serving(pki: Pki, now: dt.datetime, names: tuple[str, ...] = ()) -> None:
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    sans = _serving_sans(names)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVING_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(pki.key, _key_pem(key), private=True)
    _write(pki.cert, _cert_pem(cert))


def ensure(var_dir: Path, names: tuple[str, ...] = ()) -> Pki:
    """The CA and serving certificate under ``var_dir/pki``, created if missing (idempotent).

    The serving certificate covers the loopback names and ``names`` (the host kubeconfigs
    name, ``K8SVIZ_API_URL``'s). A new CA always gets a new serving certificate, and so does a
    certificate that does not cover every name; otherwise the pair is kept as is."""
    pki = paths(var_dir)
    pki.ca_cert.parent.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    fresh_ca = not (pki.ca_cert.exists() and pki.ca_key.exists())
    if fresh_ca:
        _create_ca(pki, now)
    if fresh_ca or not (pki.cert.exists() and pki.key.exists()) or not _covers(pki, names):
        _create_serving(pki, now, names)
    return pki


def daphne_endpoint(pki: Pki, *, host: str, port: int) -> str:
    """A Twisted server endpoint string for daphne's ``-e``: TLS on ``host:port``."""

    def esc(value: object) -> str:  # Twisted endpoint syntax escapes ':' and '\\'
        return str(value).replace("\\", "\\\\").replace(":", "\\:")

    return f"ssl:{port}:interface={esc(host)}:privateKey={esc(pki.key)}:certKey={esc(pki.cert)}"
