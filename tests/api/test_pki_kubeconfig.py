"""The API's PKI and ``manage.py kubeconfig``: a private CA, a serving certificate for the
loopback names, and a kubeconfig whose token authenticates against its cluster."""

from __future__ import annotations

import base64
import io
import ipaddress
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from django.core.management import CommandError, call_command
from django.test import Client

from cluster.models import Cluster
from k8sviz import pki

pytestmark = pytest.mark.django_db


def test_pki_is_created_once_and_reused(tmp_path: Path) -> None:
    first = pki.ensure(tmp_path)
    ca = x509.load_pem_x509_certificate(first.ca_cert.read_bytes())
    cert = x509.load_pem_x509_certificate(first.cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    assert oct(first.key.stat().st_mode & 0o777) == "0o600"
    again = pki.ensure(tmp_path)
    assert again.cert.read_bytes() == first.cert.read_bytes()
    assert again.ca_pem() == first.ca_pem()


def test_daphne_endpoint_escapes_colons(tmp_path: Path) -> None:
    keys = pki.paths(tmp_path / "a:b")
    endpoint = pki.daphne_endpoint(keys, host="127.0.0.1", port=6443)
    assert endpoint.startswith("ssl:6443:interface=127.0.0.1:privateKey=")
    assert "a\\:b" in endpoint


def test_kubeconfig_command(demo: Cluster, settings, tmp_path: Path) -> None:
    """The kubeconfig names the cluster's HTTPS prefix, embeds the CA, and its token works."""
    settings.VAR_DIR = tmp_path
    settings.K8SVIZ_API_PORT = 16443
    out = io.StringIO()
    call_command("kubeconfig", "demo", "--user", "student", stdout=out)
    config = yaml.safe_load(out.getvalue())
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:16443/clusters/demo"
    assert base64.b64decode(cluster["certificate-authority-data"]) == pki.paths(tmp_path).ca_pem()
    assert config["current-context"] == "demo"
    assert config["contexts"][0]["context"]["namespace"] == "default"
    (user,) = config["users"]
    assert user["name"] == "student@demo"
    client = Client(headers={"Authorization": f"Bearer {user['user']['token']}"})
    assert client.get("/clusters/demo/api/v1/nodes").status_code == 200


def test_kubeconfig_of_missing_cluster(db: None) -> None:
    with pytest.raises(CommandError, match='cluster "nope" not found'):
        call_command("kubeconfig", "nope")


def test_the_serving_certificate_covers_the_configured_api_host(tmp_path: Path) -> None:
    """A classroom server names its routable host in K8SVIZ_API_URL: the certificate is made
    again to cover it (a name or an address), keeping the CA kubeconfigs already trust."""
    first = pki.ensure(tmp_path)
    ca = first.ca_pem()
    named = pki.ensure(tmp_path, ("k8s.school.example",))
    cert = x509.load_pem_x509_certificate(named.cert.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost", "k8s.school.example"]
    assert named.ca_pem() == ca
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca))
    kept = named.cert.read_bytes()
    assert pki.ensure(tmp_path, ("k8s.school.example",)).cert.read_bytes() == kept
    assert pki.ensure(tmp_path).cert.read_bytes() == kept  # covers the loopback names too
    by_address = pki.ensure(tmp_path, ("192.0.2.10",))
    cert = x509.load_pem_x509_certificate(by_address.cert.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("192.0.2.10") in sans.get_values_for_type(x509.IPAddress)


def test_kubeconfig_command_names_the_configured_url(demo: Cluster, settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path
    settings.K8SVIZ_API_URL = "https://k8s.school.example:6443"
    out = io.StringIO()
    call_command("kubeconfig", "demo", stdout=out)
    config = yaml.safe_load(out.getvalue())
    assert config["clusters"][0]["cluster"]["server"] == (
        "https://k8s.school.example:6443/clusters/demo"
    )
