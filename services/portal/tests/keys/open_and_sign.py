"""Opens the suite's key files with Python's `cryptography`, as any other tool would, and signs a token with the
token-signing key using PyJWT.

usage: open_and_sign.py SIGNING_KEY KID ISSUER AUDIENCE KEY_FILE...

Prints one JSON document: {"keys": {KEY_FILE: <raw public key, base64url>}, "token": <JWT>}. Private key files
(PKCS#8) and public key files (SubjectPublicKeyInfo) are both read; every key must be Ed25519.
"""

import base64
import json
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519


def raw_public(key) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def open_key(path: str):
    data = open(path, "rb").read()
    if b"PRIVATE KEY" in data:
        key = serialization.load_pem_private_key(data, password=None)
        assert isinstance(key, ed25519.Ed25519PrivateKey), f"{path}: {type(key)}"
        return key, key.public_key()
    key = serialization.load_pem_public_key(data)
    assert isinstance(key, ed25519.Ed25519PublicKey), f"{path}: {type(key)}"
    return None, key


def main() -> None:
    signing, kid, issuer, audience, *files = sys.argv[1:]
    keys = {path: raw_public(open_key(path)[1]) for path in [signing, *files]}
    private, _ = open_key(signing)
    now = int(time.time())
    claims = {
        "sub": "svc:python",
        "scope": "identity.admin",
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + 300,
    }
    token = jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": kid})
    print(json.dumps({"keys": keys, "token": token}))


if __name__ == "__main__":
    main()
