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
    try:
        chunks = blobs.open(key)  # a missing object is known here, before any byte of the answer is sent
    except MissingBlob:
        raise NotFound(f"attachment {attachment.id}'s file is missing from storage") from None
    headers = {**SAFE_HEADERS, "Cache-Control": cache, **(extra_headers or {})}
    if not thumbnail:
        headers["Content-Length"] = str(attachment.size)
    return StreamingResponse(chunks, media_type=kind, headers=headers)
