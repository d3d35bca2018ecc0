"""Registry bearer tokens that a real distribution 2.8 ``docker-registry`` accepts.

distribution 2.8 (``registry/auth/token``) verifies a JWS in compact form. It finds the signing key from the
header: ``x5c`` (chain to ``rootcertbundle``), ``jwk``, or ``kid``. For ``kid`` it looks the value up among
the keys of the root certificates, keyed by their *libtrust key ID*. We sign with RS256 and send ``kid``,
because that keeps the token small and needs only a self-signed certificate in the bundle. The claim set
is the one from distribution's token spec: ``iss sub aud exp nbf iat jti access``; ``aud`` is a plain
string, which every distribution release accepts.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

HARBOR_SERVICE = "harbor-registry"
HARBOR_ISSUER = "harbor-token-issuer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def libtrust_key_id(public_key: rsa.RSAPublicKey) -> str:
    """The key ID distribution derives from a trusted certificate (libtrust ``KeyID``).

    sha256 over the DER SubjectPublicKeyInfo, first 30 bytes, base32 without padding, 12 groups of 4
    joined by ``:``. A ``kid`` that differs by one character makes the registry reject the token.
    """
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


@dataclass(frozen=True)
class ResourceScope:
    """One ``type:name:actions`` item of a token request or of a JWT ``access`` claim."""

    type: str
    name: str
    actions: tuple[str, ...]

    def claim(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def parse_scopes(values: Iterable[str]) -> list[ResourceScope]:
    """Parse ``scope`` query values; each may hold several space-separated scopes.

    The name may carry a ``host:port/`` prefix, so the type ends at the first colon and the actions start
    after the last one. Malformed items are skipped, as distribution's token servers do.
    """
    scopes: list[ResourceScope] = []
    for value in values:
        for item in value.split():
            first, last = item.find(":"), item.rfind(":")
            if first <= 0 or last == first:
                continue
            actions = tuple(a for a in item[last + 1 :].split(",") if a)
            scopes.append(ResourceScope(item[:first], item[first + 1 : last], actions))
    return scopes


@dataclass
class TokenSigner:
    """An RSA key plus a self-signed certificate: the registry trusts the cert, we sign with the key."""

    issuer: str = HARBOR_ISSUER
    audience: str = HARBOR_SERVICE
    ttl_seconds: int = 1800
    private_key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    certificate: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "skoala-airgap test token signer")])
        now = dt.datetime.now(dt.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.private_key, hashes.SHA256())
        )

    @property
    def kid(self) -> str:
        return libtrust_key_id(self.private_key.public_key())

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def write_to(self, directory: Path) -> tuple[Path, Path]:
        """Write ``token-signer.crt`` (the registry's ``rootcertbundle``) and ``token-signer.key``."""
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / "token-signer.crt", directory / "token-signer.key"
        cert_path.write_bytes(self.cert_pem)
        key_path.write_bytes(self.key_pem)
        return cert_path, key_path

    def sign(self, claims: Mapping[str, Any]) -> str:
        """Compact JWS (RS256) with the ``kid`` header distribution looks up in its trusted keys."""
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = ".".join(_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
        signature = self.private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def issue(self, subject: str, access: Sequence[ResourceScope], *, now: float | None = None) -> str:
        """A registry token for ``subject`` ("" when anonymous) granting exactly ``access``."""
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "exp": issued + self.ttl_seconds,
            "nbf": issued,
            "iat": issued,
            "jti": secrets.token_hex(16),
            "access": [scope.claim() for scope in access],
        }
        return self.sign(claims)

    def verify(self, token: str, *, now: float | None = None, check_audience: bool = True) -> dict[str, Any]:
        """Check signature, ``kid``, lifetime and (optionally) issuer/audience; return the claims.

        ChartMuseum's bearer mode checks only signature and lifetime, hence ``check_audience``.
        Raises ValueError for any failure.
        """
        try:
            raw_header, raw_claims, raw_signature = token.split(".")
            header = json.loads(_b64url_decode(raw_header))
            claims: dict[str, Any] = json.loads(_b64url_decode(raw_claims))
            signature = _b64url_decode(raw_signature)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError("malformed token") from exc
        if header.get("alg") != "RS256" or header.get("kid") != self.kid:
            raise ValueError("token signed by an untrusted key")
        try:
            self.private_key.public_key().verify(
                signature, f"{raw_header}.{raw_claims}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature as exc:
            raise ValueError("bad token signature") from exc
        current = time.time() if now is None else now
        if check_audience and (claims.get("iss") != self.issuer or claims.get("aud") != self.audience):
            raise ValueError("token for another issuer or audience")
        if not claims.get("nbf", 0) - 60 <= current <= claims.get("exp", 0) + 60:
            raise ValueError("token expired or not yet valid")
        return claims


def registry_token_config(
    realm_url: str, cert_path: Path | str, *, service: str = HARBOR_SERVICE, issuer: str = HARBOR_ISSUER
) -> dict[str, Any]:
    """The value of ``auth:`` for a docker-registry config that trusts tokens from ``realm_url``."""
    return {"token": {"realm": realm_url, "service": service, "issuer": issuer, "rootcertbundle": str(cert_path)}}
