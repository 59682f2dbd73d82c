"""Blob storage for attachments and thumbnails: one interface, chosen by REPAIRTEXT_BLOB_URL.

`file:./var/blobs` (the embedded default) keeps them in a local folder; `s3://bucket/prefix` keeps them in any
S3-compatible store, so every `serve` process on every machine sees the same photos. Keys are ours
(`ab/<hex><suffix>`): content-addressed prefix plus randomness, never anything a caller chose.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

CHUNK = 64 * 1024


class MissingBlob(LookupError):
    """The key names nothing in the store (deleted, or another deployment's)."""


class BlobStore(Protocol):
    def put(self, data: bytes, suffix: str = "") -> str: ...
    def get(self, key: str) -> bytes: ...
    def open(self, key: str) -> Iterator[bytes]:
        """The bytes in chunks, for streaming to a client; raises MissingBlob before the first chunk."""
        ...
    def delete(self, key: str) -> None: ...


def new_key(data: bytes, suffix: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest[2:16]}{secrets.token_hex(8)}{suffix}"


def check_key(key: str) -> str:
    # Keys are ours (hex + suffix); refuse anything that could walk out of the root or the prefix.
    if key.count("/") != 1 or ".." in key or key.startswith("/") or "\\" in key:
        raise MissingBlob(f"bad blob key {key!r}")
    return key


class DirectoryBlobStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, data: bytes, suffix: str = "") -> str:
        key = new_key(data, suffix)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # readers never see half a file
        return key

    def get(self, key: str) -> bytes:
        return b"".join(self.open(key))

    def open(self, key: str) -> Iterator[bytes]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise MissingBlob(key) from None

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(CHUNK):
                    yield chunk

        return chunks()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3BlobStore:
    """Any S3-compatible store through boto3 (AWS, MinIO, Ceph, R2, moto): credentials and region come from
    the standard AWS variables; REPAIRTEXT_S3_ENDPOINT_URL points it elsewhere than AWS."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None, endpoint_url: str | None = None):
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix.strip("/")
        # Bounded like every other outbound call: a store that hangs must not hold a request or a worker.
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, config=Config(
            connect_timeout=5, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"}))

    def _name(self, key: str) -> str:
        key = check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, data: bytes, suffix: str = "") -> str:
        key = new_key(data, suffix)
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data)
        return key

    def get(self, key: str) -> bytes:
        return b"".join(self.open(key))

    def open(self, key: str) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise MissingBlob(key) from None

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()

        return chunks()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))


def blob_store_for(url: str, s3_endpoint_url: str | None = None) -> BlobStore:
    """`file:PATH` or `s3://bucket/prefix` (REPAIRTEXT_BLOB_URL)."""
    if url.startswith("file:"):
        return DirectoryBlobStore(url.removeprefix("file:").removeprefix("//"))
    parsed = urlparse(url)
    if parsed.scheme == "s3" and parsed.netloc:
        return S3BlobStore(parsed.netloc, parsed.path, endpoint_url=s3_endpoint_url)
    raise ValueError(f"REPAIRTEXT_BLOB_URL must be file:PATH or s3://bucket/prefix, not {url!r}")
