"""The two webhook signatures, both HMAC-SHA256 over the raw request body.

Invoiced: ``X-Invoiced-Signature`` = lowercase hex, keyed with the account's webhook
secret. Intuit: ``intuit-signature`` = base64, keyed with the app's verifier token.
Checked on the bytes as received, before any parsing: re-encoded JSON would not match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

INVOICED_HEADER = "x-invoiced-signature"
INTUIT_HEADER = "intuit-signature"


def _digest(key: str, body: bytes) -> bytes:
    return hmac.new(key.encode(), body, hashlib.sha256).digest()


def invoiced_signature(secret: str, body: bytes) -> str:
    return _digest(secret, body).hex()


def intuit_signature(verifier_token: str, body: bytes) -> str:
    return base64.b64encode(_digest(verifier_token, body)).decode()


def signed_by(given: str | None, expected: str) -> bool:
    """Constant-time comparison; a missing or non-ASCII header never matches."""
    if not given or not given.isascii():
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())
