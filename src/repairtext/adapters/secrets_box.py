"""Shop secrets at rest (the Flowroute secret key): Fernet with a key derived from REPAIRTEXT_SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet


class SecretBox:
    def __init__(self, secret_key: str):
        key = base64.urlsafe_b64encode(hashlib.sha256(("repairtext:" + secret_key).encode()).digest())
        self._fernet = Fernet(key)

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()
