"""MMS media: fetched by the worker from durable state, after the webhook has been answered.

Images (JPEG, PNG, GIF, identified by their bytes) become public attachments with thumbnails on the reply's
public comment; anything else is refused with a hidden note saying what was sent. MMS is carried only to and
from US and Canadian numbers, so media from elsewhere is refused the same way (the text still lands).
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from datetime import timedelta

from repairtext.adapters.db.models import Attachment, Comment, Job, Message, Ticket
from repairtext.adapters.db.rows import must_get
from repairtext.adapters.images import ImageRefused, process_image
from repairtext.adapters.media import MediaError, MediaFetcher, MediaUnavailable
from repairtext.bootstrap import Context
from repairtext.domain.phones import supports_mms
from repairtext.services.comments import add_system_note
from repairtext.services.sending import backoff, lease

MEDIA_JOB = "inbound_media"
# Where the platform's Twilio credentials may go with a media request: Twilio's own origins over https, and the
# configured API base exactly (the simulator in tests and the demo). Any other allowed media host gets none.
TWILIO_MEDIA_ORIGINS = ("https://api.twilio.com", "https://media.twiliocdn.com")
MAX_MEDIA = 10
FILE_NAME_MAX = 200  # attachments.file_name
# A media retry due later than this is not slept on in a worker thread: the job goes back in the queue with
# run_after (its tries stay bounded by the job's max_attempts), and each wait is at most MAX_WAIT.
MAX_SLEEP = 1.0
MAX_WAIT = timedelta(minutes=5)
log = logging.getLogger("repairtext.media")


def _fetcher(ctx: Context) -> MediaFetcher:
    return MediaFetcher(ctx.settings.media_hosts, backoff=ctx.media_backoff, client=ctx.http, max_sleep=MAX_SLEEP)


class _MustWait(Exception):
    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds, self.reason = seconds, reason


def _process_item(ctx: Context, fetcher: MediaFetcher, item: dict, provider: str) -> dict:
    auth: tuple[str, str] | None = None
    origins: tuple[str, ...] = ()
    sid, token = ctx.settings.twilio_account_sid, ctx.settings.twilio_auth_token
    if provider == "twilio" and sid and token:  # Twilio is configured only with both (Context.twilio)
        auth = (sid, token)
        origins = (*TWILIO_MEDIA_ORIGINS, ctx.settings.twilio_api_base)
    try:
        fetched = fetcher.fetch(item["url"], auth=auth, auth_origins=origins)
    except MediaUnavailable as exc:
        if exc.wait is not None:
            raise _MustWait(exc.wait, exc.reason) from exc
        return dict(item, state="failed", reason=f"could not be downloaded: {exc.reason}")
    except MediaError as exc:
        return dict(item, state="refused", reason=exc.reason)
    try:
        image = process_image(fetched.data)
    except ImageRefused as exc:
        return dict(item, state="refused", reason=exc.reason)
    extension = mimetypes.guess_extension(image.content_type) or ""
    thumb_extension = mimetypes.guess_extension(image.thumbnail_content_type) or ""
    return dict(
        item, state="stored", content_type=image.content_type, size=len(image.data),
        sha256=hashlib.sha256(image.data).hexdigest(),
        blob_key=ctx.blobs.put(image.data, extension), thumbnail_key=ctx.blobs.put(image.thumbnail, thumb_extension),
        thumbnail_content_type=image.thumbnail_content_type,
        file_name=safe_file_name(item.get("file_name"), extension),
    )


def safe_file_name(given: object, extension: str) -> str:
    """The sender's file name as an attachment keeps it: no folders or control characters, and at most
    FILE_NAME_MAX characters with its extension kept (a longer one failed the insert, and with it the job)."""
    name = given if isinstance(given, str) else ""
    name = "".join(c for c in name.replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable()).strip()
    if not name:
        return f"photo{extension}"
    if len(name) <= FILE_NAME_MAX:
        return name
    stem, dot, suffix = name.rpartition(".")
    if dot and 0 < len(suffix) <= 10:
        return stem[:FILE_NAME_MAX - len(suffix) - 1] + "." + suffix
    return name[:FILE_NAME_MAX]


def _forget_blobs(ctx: Context, results: dict[int, dict]) -> None:
    """Blobs this run stored but will not record (the lease was lost, or the write failed): delete them."""
    for item in results.values():
        if item.get("state") == "stored":
            for key in (item.get("blob_key"), item.get("thumbnail_key")):
                if key:
                    ctx.blobs.delete(key)


def _still_ours(ctx: Context, job_id: int, owner: str) -> bool:
    """Renew the lease between downloads (ten slow media can outlast one lease); False once it was lost."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        job = must_get(session, Job, job_id, with_for_update=True)
        if job.state != "running" or job.locked_by != owner:
            return False
        job.lease_until = now + lease(ctx)
        return True


def process_media(ctx: Context, job_id: int, owner: str) -> None:
    if not _still_ours(ctx, job_id, owner):
        return
    with ctx.db.transaction() as session:
        job = must_get(session, Job, job_id)
        message = must_get(session, Message, job.message_id)
        items, provider, sender = list(message.media or []), message.provider, message.from_number
        last_try = job.attempts >= job.max_attempts
    results: dict[int, dict] = {}
    fetcher = _fetcher(ctx)
    for index, item in enumerate(items):
        if item.get("state") != "pending":
            continue
        if index >= MAX_MEDIA:
            results[index] = dict(item, state="refused", reason=f"more than {MAX_MEDIA} media in one message")
        elif not supports_mms(sender):
            results[index] = dict(item, state="refused", reason="MMS is only supported for US and Canadian numbers")
        else:
            if not _still_ours(ctx, job_id, owner):
                _forget_blobs(ctx, results)
                return  # another worker has the job now and does the whole of it
            try:
                results[index] = _process_item(ctx, fetcher, item, provider)
            except _MustWait as wait:
                if not last_try:
                    _save_or_forget(ctx, job_id, owner, results,
                                    wait_for=min(timedelta(seconds=wait.seconds), MAX_WAIT))
                    return
                results[index] = dict(item, state="failed", reason=f"could not be downloaded: {wait.reason}")
    _save_or_forget(ctx, job_id, owner, results)


def _save_or_forget(ctx: Context, job_id: int, owner: str, results: dict[int, dict],
                    wait_for: timedelta | None = None) -> None:
    try:
        recorded = _save(ctx, job_id, owner, results, wait_for)
    except Exception:
        _forget_blobs(ctx, results)  # the job runs again and stores them afresh
        raise
    if not recorded:
        _forget_blobs(ctx, results)


def _save(ctx: Context, job_id: int, owner: str, results: dict[int, dict], wait_for: timedelta | None = None) -> bool:
    """Keep what was fetched; then either finish (attaching it) or wait in the queue to fetch the rest. False
    when the job is no longer ours (nothing recorded)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        job = must_get(session, Job, job_id, with_for_update=True)
        if job.state != "running" or job.locked_by != owner:
            return False
        # Locked: staff may be assigning this inbox text right now (do_assign locks it too), and each side must
        # see the other's work, or the images are stored but never attached.
        message = must_get(session, Message, job.message_id, with_for_update=True)
        current = list(message.media or [])
        message.media = [results.get(i, item) if item.get("state") == "pending" else item
                         for i, item in enumerate(current)]
        message.updated_at = now
        if wait_for is not None:
            job.state, job.lease_until = "pending", None
            job.run_after = now + max(wait_for, backoff(job.attempts, None))
            return True
        if message.ticket_id is not None:
            attach_processed_media(session, message, now)
        job.state, job.finished_at = "done", now
    return True


def attach_processed_media(session, message: Message, now) -> None:
    """Stored images become public attachments on the reply's comment; refusals become one hidden note."""
    if not message.media or message.ticket_id is None:
        return
    ticket = session.get(Ticket, message.ticket_id)
    updated, refused = [], []
    for item in message.media:
        if item.get("state") == "stored":
            session.add(Attachment(
                shop_id=message.shop_id, ticket_id=ticket.id, comment_id=message.comment_id,
                file_name=safe_file_name(item.get("file_name"), ""), content_type=item["content_type"], size=item["size"],
                sha256=item["sha256"], blob_key=item["blob_key"], thumbnail_key=item["thumbnail_key"],
                thumbnail_content_type=item["thumbnail_content_type"], public=True, created_at=now,
            ))
            item = dict(item, state="attached")
        elif item.get("state") in ("refused", "failed"):
            declared = item.get("content_type") or "a file"
            refused.append(f"{declared} ({item['reason']})")
            item = dict(item, state=f"{item['state']}_noted")
        updated.append(item)
    message.media = updated
    if refused:
        add_system_note(session, ticket, "The customer's text came with media that was not attached: "
                        + "; ".join(refused) + ".", now)
        _hide_if_empty(session, message)
    session.flush()


def _hide_if_empty(session, message: Message) -> None:
    """A picture-only reply whose pictures were all refused would leave a blank public comment on the portal."""
    comment = session.get(Comment, message.comment_id) if message.comment_id else None
    if comment is None or comment.body.strip() or not comment.public:
        return
    has_attachment = any(i.get("state") == "attached" for i in message.media or [])
    if not has_attachment:
        comment.public = False
        comment.body = "(the customer sent media only; see the note about what was not attached)"
