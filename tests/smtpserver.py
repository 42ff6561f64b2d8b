"""Real SMTP servers for tests (aiosmtpd), each on a free local port, recording what they receive.

- ``smtp_plain``: plain SMTP, no STARTTLS offered, no auth.
- ``smtp_starttls``: STARTTLS required before anything else, then AUTH LOGIN/PLAIN required.
- ``smtps_server``: implicit TLS from the first byte, AUTH required.

TLS uses a CA and a server certificate (for ``127.0.0.1`` and ``localhost``) made with ``cryptography`` per test
session; clients trust it through ``?cafile=`` in the SMTP URL (``SmtpServer.url``), with full verification.
The conftest registers this module as a plugin (``pytest_plugins``), so any test can ask for these fixtures.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
USER = "mailer@example.com"
PASSWORD = "s3cret p@ss/word"  # URL-unsafe on purpose: the Mailer must URL-decode it


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def make_tls_files(folder: Path) -> TlsFiles:
    """A private CA and a server certificate it signed, valid for 127.0.0.1 and localhost, for one day."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Boxoffice test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(IPv4Address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    """One message as the server took it: envelope, raw bytes, and how the session was secured."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class Recorder:
    """aiosmtpd handler: keeps every message it accepts."""

    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content), tls, login)
            )
        return "250 Message accepted for delivery"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == USER
        and auth_data.password.decode() == PASSWORD
    )
    # handled=False on failure: aiosmtpd then answers "535 Authentication credentials invalid" itself
    return AuthResult(success=ok, handled=ok, auth_data=auth_data if ok else None)


class SmtpServer:
    """A running aiosmtpd server; ``url()`` gives the SMTP URL a Mailer needs to reach it."""

    def __init__(self, kind: str, tls: TlsFiles | None = None):
        self.kind, self.tls = kind, tls
        self.recorder = Recorder()
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if kind == "starttls":
            assert tls is not None
            kwargs = dict(
                tls_context=tls.server_context(),
                require_starttls=True,
                authenticator=_authenticator,
                auth_required=True,
            )
        elif kind == "smtps":
            assert tls is not None
            # Implicit TLS: aiosmtpd's auth_require_tls only knows STARTTLS, but this whole session is TLS.
            kwargs = dict(
                ssl_context=tls.server_context(),
                authenticator=_authenticator,
                auth_required=True,
                auth_require_tls=False,
            )
        self.controller = Controller(
            self.recorder, hostname=HOST, port=self.port, server_hostname="localhost", **kwargs
        )

    @property
    def received(self) -> list[Received]:
        return self.recorder.received

    def url(self, *, user: str | None = USER, password: str | None = PASSWORD, scheme: str | None = None) -> str:
        """``scheme://user:password@127.0.0.1:port?cafile=…`` (credentials and cafile only where TLS is used)."""
        scheme = scheme or {"plain": "smtp", "starttls": "smtp+starttls", "smtps": "smtps"}[self.kind]
        creds = ""
        if scheme != "smtp" and user is not None:
            creds = quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "") + "@"
        query = f"?cafile={quote(str(self.tls.ca_cert))}" if self.tls and scheme != "smtp" else ""
        return f"{scheme}://{creds}{HOST}:{self.port}{query}"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def smtp_plain() -> Iterator[SmtpServer]:
    with SmtpServer("plain") as server:
        yield server


@pytest.fixture
def smtp_starttls(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    with SmtpServer("starttls", tls_files) as server:
        yield server


@pytest.fixture
def smtps_server(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    with SmtpServer("smtps", tls_files) as server:
        yield server
