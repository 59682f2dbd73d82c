"""Serving an attachment's bytes, the same way for the API, the staff pages and the portal.

The bytes are streamed from the blob store through us (never a redirect to the bucket): the portal's link is
the only address a customer sees, and it dies with the ticket's token.
"""

from __future__ import annotations

from fastapi.responses import StreamingResponse

from repairtext.adapters.blobs import MissingBlob
from repairtext.adapters.db.models import Attachment
from repairtext.domain.errors import NotFound

# Stored bytes are the customer's: never let a browser sniff them into HTML or run anything in them.
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'"}


def attachment_response(blobs, attachment: Attachment | None, thumbnail: bool, *, cache: str,
                        extra_headers: dict[str, str] | None = None) -> StreamingResponse:
    if attachment is None or (thumbnail and not attachment.thumbnail_key):
        raise NotFound("no such attachment" if attachment is None else f"attachment {attachment.id} has no thumbnail")
    if thumbnail:
        key, kind = attachment.thumbnail_key, attachment.thumbnail_content_type
    else:
        key, kind = attachment.blob_key, attachment.content_type
    return _stream(blobs, key, kind, None if thumbnail else attachment.size, f"attachment {attachment.id}",
                   cache, extra_headers)


def stored_media_response(blobs, item: dict | None, thumbnail: bool, *, cache: str) -> StreamingResponse:
    """A received text's stored picture (services/inbox.stored_media), before or after it is an attachment."""
    if item is None or (thumbnail and not item.get("thumbnail_key")):
        raise NotFound("no such picture")
    if thumbnail:
        return _stream(blobs, item["thumbnail_key"], item["thumbnail_content_type"], None, "the picture", cache)
    return _stream(blobs, item["blob_key"], item["content_type"], item.get("size"), "the picture", cache)


def _stream(blobs, key: str | None, kind: str | None, size: int | None, what: str, cache: str,
            extra_headers: dict[str, str] | None = None) -> StreamingResponse:
    if not key:
        raise NotFound(f"{what} has no such file")
    try:
        chunks = blobs.open(key)  # a missing object is known here, before any byte of the answer is sent
    except MissingBlob:
        raise NotFound(f"{what}'s file is missing from storage") from None
    headers = {**SAFE_HEADERS, "Cache-Control": cache, **(extra_headers or {})}
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(chunks, media_type=kind, headers=headers)
