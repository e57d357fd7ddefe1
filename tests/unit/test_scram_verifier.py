"""The SCRAM-SHA-256 verifier sent instead of a reader's password, checked against RFC 7677's
example exchange (user "user", password "pencil"), not against the function's own output."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest

from crm_scoring.warehouse.access import scram_sha256_verifier

# RFC 7677, section 3
RFC_SALT = "W22ZaJ0SNY7soEsUEjb6gQ=="
RFC_AUTH_MESSAGE = (
    b"n=user,r=rOprNGfwEbeRWgbNEkqO,"
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
)
RFC_CLIENT_PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
RFC_SERVER_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

VERIFIER = re.compile(r"SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)")


def _parse(verifier: str) -> tuple[int, bytes, bytes, bytes]:
    match = VERIFIER.fullmatch(verifier)
    assert match, verifier
    iterations, salt, stored_key, server_key = match.groups()
    return int(iterations), *(base64.b64decode(part) for part in (salt, stored_key, server_key))


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def test_the_verifier_authenticates_the_rfc_7677_exchange() -> None:
    iterations, salt, stored_key, server_key = _parse(
        scram_sha256_verifier("pencil", salt=base64.b64decode(RFC_SALT))
    )
    assert (iterations, salt) == (4096, base64.b64decode(RFC_SALT))
    # what a server does with the stored verifier: recover ClientKey from the client's proof...
    client_signature = _hmac(stored_key, RFC_AUTH_MESSAGE)
    client_proof = base64.b64decode(RFC_CLIENT_PROOF)
    client_key = bytes(a ^ b for a, b in zip(client_proof, client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    # ...and prove itself to the client
    assert base64.b64encode(_hmac(server_key, RFC_AUTH_MESSAGE)).decode() == RFC_SERVER_SIGNATURE


def test_the_verifier_follows_rfc_5802_with_a_fresh_salt() -> None:
    verifier = scram_sha256_verifier("s3cret-Pw")
    iterations, salt, stored_key, server_key = _parse(verifier)
    assert iterations == 4096 and len(salt) == 16
    salted_password = hashlib.pbkdf2_hmac("sha256", b"s3cret-Pw", salt, 4096)
    assert stored_key == hashlib.sha256(_hmac(salted_password, b"Client Key")).digest()
    assert server_key == _hmac(salted_password, b"Server Key")
    assert "s3cret-Pw" not in verifier
    assert _parse(scram_sha256_verifier("s3cret-Pw"))[1] != salt  # a new salt each time


def test_a_non_ascii_password_is_refused() -> None:
    # PostgreSQL normalizes those with SASLprep first; a verifier without it might never match
    with pytest.raises(ValueError, match="ASCII"):
        scram_sha256_verifier("pässword")
