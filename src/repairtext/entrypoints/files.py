"""Serving an attachment's bytes, the same way for the API, the staff pages and the portal."""

from __future__ import annotations

from fastapi.responses import Response

from repairtext.adapters.db.models import Attachment
from repairtext.domain.errors import NotFound

# Stored bytes are the customer's: never let a browser sniff them into HTML or run anything in them.
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'"}


def attachment_response(blobs, attachment: Attachment | None, thumbnail: bool, *, cache: str,
                        extra_headers: dict[str, str] | None = None) -> Response:
    if attachment is None or (thumbnail and not attachment.thumbnail_key):
        raise NotFound("no such attachment" if attachment is None else f"attachment {attachment.id} has no thumbnail")
    if thumbnail:
        key, kind = attachment.thumbnail_key, attachment.thumbnail_content_type
    else:
        key, kind = attachment.blob_key, attachment.content_type
    return Response(blobs.get(key), media_type=kind,
                    headers={**SAFE_HEADERS, "Cache-Control": cache, **(extra_headers or {})})
