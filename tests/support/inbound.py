"""Customers texting in: deliver webhooks through the simulator (or by hand, signed the way Twilio signs), and
make real image bytes for MMS."""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import struct
import zlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
from PIL import Image
from sqlalchemy import update
from twilio.request_validator import RequestValidator

from repairtext.adapters.db.models import Message
from support.shops import ShopHandle, fresh_number

TWILIO_INBOUND = "/webhooks/twilio/inbound"


# --- shops -----------------------------------------------------------------------------------------------


def open_shop(shops, **options) -> ShopHandle:
    """A shop with quiet hours off, so the Initial Problem text goes out whatever the hour the suite runs."""
    shop = shops.create(**options)
    response = shop.api.patch("/api/v1/shop", json={"quiet_hours": {"start": "00:00", "end": "00:00"}})
    assert response.status_code == 200, response.text
    return shop


def flowroute_shop(shops, sim, **options) -> ShopHandle:
    """A shop on its own Flowroute account, registered with the simulator so its texts come in by webhook."""
    shop = open_shop(shops, **options)
    key, secret, own = f"fr-{shop.id}", f"fr-secret-{shop.id}", fresh_number()
    response = shop.api.patch("/api/v1/shop", json={"flowroute_access_key": key, "flowroute_secret_key": secret,
                                                    "provider": "flowroute", "numbers": [shop.number, own]})
    assert response.status_code == 200, response.text
    hooks = response.json()["webhooks"]
    sim.post("/_sim/flowroute/accounts", {"access_key": key, "secret_key": secret,
                                          "numbers": [own.lstrip("+")],
                                          "sms_callback_url": hooks["flowroute_inbound"],
                                          "dlr_callback_url": hooks["flowroute_status"]})
    # Its number is now its own Flowroute number; the built-in one it was created with stays the operator's.
    return dataclasses.replace(shop, number=own)


def customer_with_number(shop: ShopHandle, number: str | None = None, name: str = "Jane Cooper", **extra) -> dict:
    return shop.customer(name, phones=[{"number": number or fresh_number(), "type": "mobile"}], **extra)


def phone_of(customer: dict) -> str:
    return customer["phones"][0]["number"]


def age_outbound_texts(ctx, shop: ShopHandle, days: float) -> None:
    """Make every text the shop has sent so far `days` old (tickets opened long ago)."""
    then = datetime.now(UTC) - timedelta(days=days)
    with ctx.db.transaction() as session:
        session.execute(update(Message).where(Message.shop_id == shop.id, Message.direction == "outbound")
                        .values(created_at=then))


# --- delivering texts ----------------------------------------------------------------------------------


def media(data: bytes, content_type: str, fail_first: int = 0) -> dict:
    return {"content_type": content_type, "data_base64": base64.b64encode(data).decode(), "fail_first": fail_first}


def twilio_text(sim, shop: ShopHandle, sender: str, body: str = "", items: list[dict] | None = None, **extra) -> dict:
    """The customer texts the shop's number; the simulator posts Twilio's signed webhook to our live server."""
    result = sim.post("/_sim/twilio/inbound", {"from": sender, "to": shop.number, "body": body,
                                               "media": items or [], **extra})
    assert result["status_code"] == 200, result
    return result


def flowroute_text(sim, shop: ShopHandle, sender: str, body: str | None = "", items: list[dict] | None = None,
                   **extra) -> dict:
    result = sim.post("/_sim/flowroute/inbound", {"from": sender.lstrip("+"), "to": shop.number.lstrip("+"),
                                                  "body": body, "media": items or [], **extra})
    assert result["status_code"] == 200, result
    return result


def twilio_form(shop: ShopHandle, sender: str, body: str, sid: str | None = None, **fields) -> list[tuple[str, str]]:
    """An inbound form as Twilio posts it (without OptOutType unless given)."""
    sid = sid or "SM" + os.urandom(16).hex()
    form = [("MessageSid", sid), ("SmsSid", sid), ("AccountSid", "AC" + "7e" * 16), ("From", sender),
            ("To", shop.number), ("Body", body), ("NumMedia", "0"), ("FromCountry", "US")]
    return form + [(k, v) for k, v in fields.items()]


def signature(token: str, url: str, form: list[tuple[str, str]]) -> str:
    """Signed by twilio-python's RequestValidator: the reference, not our own signer."""
    return RequestValidator(token).compute_signature(url, _MultiDict(form))


def post_twilio(url: str, form: list[tuple[str, str]], signature_header: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature_header is not None:
        headers["X-Twilio-Signature"] = signature_header
    return httpx.post(url, content=urlencode(form), headers=headers, timeout=30)


class _MultiDict(dict):
    """What RequestValidator takes for a form with repeated names (it calls getlist, like Django's QueryDict)."""

    def __init__(self, pairs: list[tuple[str, str]]):
        super().__init__()
        self._pairs = list(pairs)
        for name, value in self._pairs:
            self.setdefault(name, value)

    def getlist(self, name: str) -> list[str]:
        return [v for n, v in self._pairs if n == name]


# --- reading results -----------------------------------------------------------------------------------


def inbox(shop: ShopHandle) -> list[dict]:
    response = shop.api.get("/api/v1/inbox")
    assert response.status_code == 200, response.text
    return response.json()


def inbound_messages(shop: ShopHandle) -> list[dict]:
    return [m for m in shop.messages() if m["direction"] == "inbound"]


def customer_comments(shop: ShopHandle, ticket_id: int) -> list[dict]:
    return [c for c in shop.comments(ticket_id) if c["author"] == "customer"]


def hidden_notes(shop: ShopHandle, ticket_id: int) -> list[str]:
    return [c["body"] for c in shop.comments(ticket_id) if not c["public"]]


def ticket_status(shop: ShopHandle, ticket_id: int) -> str:
    return shop.api.get(f"/api/v1/tickets/{ticket_id}").json()["status"]


# --- real image bytes ----------------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def two_tone(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue: shows which way a rotation went."""
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    return image


def jpeg(size=(640, 480), orientation: int | None = None) -> bytes:
    options = {"quality": 90}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    return encode(two_tone(size), "JPEG", **options)


def png(size=(1000, 500)) -> bytes:
    return encode(two_tone(size), "PNG")


def gif(size=(120, 90), frames: int = 3) -> bytes:
    images = [Image.new("P", size, i * 40) for i in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


def noisy_png(min_bytes: int) -> bytes:
    """A real PNG of random pixels (which do not compress), larger than `min_bytes`."""
    side = int((min_bytes / 3) ** 0.5) + 64
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    data = encode(image, "PNG", compress_level=1)
    assert len(data) > min_bytes
    return data


def decompression_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A valid 1-bit PNG of width x height zero pixels: a few dozen KB that decode to 400 megapixels."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    idat = b"".join(compressor.compress(row * 1000) for _ in range(height // 1000)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


VCARD = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jane Cooper\r\nTEL;TYPE=CELL:+12065550134\r\nEND:VCARD\r\n"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
