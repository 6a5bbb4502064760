"""Verifies what the suite signs the way a party outside it would: PyJWT fetches the suite's JWKS over HTTP,
picks each key by its `kid`, and checks bearer tokens (signature, issuer, audience, expiry) and authorizations to
run (an Ed25519 signature over the grant's bytes, the key named by `signing_key_id`).

usage: verify.py JWKS_URL ISSUER AUDIENCE GRANTS TOKEN...

GRANTS is a JSON list of {"kid", "grant", "signature"} (bytes as hex). Prints one JSON document:
{"kids": [...], "tokens": [{"kid", "sub", "scope"}], "grants": [true, ...],
 "tampered_tokens_refused": bool, "tampered_grants_refused": bool}. A token or grant that does not verify fails
the script.
"""

import json
import sys

import jwt
from cryptography.exceptions import InvalidSignature


def tampered_token(token: str) -> str:
    header, payload, signature = token.split(".")
    first = "B" if signature[0] != "B" else "C"
    return ".".join([header, payload, first + signature[1:]])


def main() -> None:
    url, issuer, audience, grants, *tokens = sys.argv[1:]
    client = jwt.PyJWKClient(url)
    kids = [key.key_id for key in client.get_signing_keys()]

    def decode(token: str) -> dict:
        key = client.get_signing_key_from_jwt(token)
        return jwt.decode(
            token, key.key, algorithms=["EdDSA"], audience=audience, issuer=issuer
        )

    verified = []
    refused = True
    for token in tokens:
        claims = decode(token)
        kid = jwt.get_unverified_header(token)["kid"]
        verified.append({"kid": kid, "sub": claims["sub"], "scope": claims.get("scope")})
        try:
            decode(tampered_token(token))
            refused = False
        except jwt.InvalidSignatureError:
            pass

    granted = []
    grants_refused = True
    for grant in json.loads(grants):
        key = client.get_signing_key(grant["kid"]).key
        body = bytes.fromhex(grant["grant"])
        signature = bytes.fromhex(grant["signature"])
        key.verify(signature, body)
        granted.append(True)
        edited = bytearray(body)
        edited[-1] ^= 1
        try:
            key.verify(signature, bytes(edited))
            grants_refused = False
        except InvalidSignature:
            pass

    print(
        json.dumps(
            {
                "kids": kids,
                "tokens": verified,
                "grants": granted,
                "tampered_tokens_refused": refused,
                "tampered_grants_refused": grants_refused,
            }
        )
    )


if __name__ == "__main__":
    main()
