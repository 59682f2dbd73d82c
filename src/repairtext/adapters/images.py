"""Check an MMS media item is a picture we can show, and make its thumbnail.

The bytes decide, never the provider's declared content type: phones and gateways mislabel media
(a PNG sent as image/jpeg), and an attacker can label anything as anything. Only JPEG, PNG and GIF are
accepted, which is what Twilio delivers as MMS images (providers.md); other things people send (videos,
voice notes, contact cards, PDFs, HEIC/WebP photos) are refused with their name so the desk can tell the
customer what went wrong.

Security: Pillow is only allowed to open the one format the magic bytes named, and an image whose declared
size exceeds ``max_pixels`` is refused before its pixels are decoded (a few KB of PNG can claim 20000x20000
pixels, i.e. gigabytes of RAM). This does not touch Pillow's global ``Image.MAX_IMAGE_PIXELS``: we compare
``im.size`` ourselves right after ``Image.open`` (which reads only the header), so concurrent callers with
different limits cannot disturb each other.

EXIF: attachments are public (the customer portal shows them), and a phone's photo usually carries the GPS
position of the customer's home. A photo whose EXIF orientation is already normal keeps its pixels untouched
but loses its metadata losslessly (JPEG APP1 segments, that is EXIF and XMP; PNG eXIf and text chunks). A
rotated one is stored re-encoded upright without EXIF: the orientation tag would be wrong after transposing.
The ICC colour profile is kept. Thumbnails never carry EXIF.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

ACCEPTED = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF"}  # content type -> Pillow format
ACCEPTED_TEXT = "only JPEG, PNG and GIF are accepted"
JPEG_QUALITY = 90  # re-encoding a rotated photo: close to the original, still a sensible size
THUMBNAIL_JPEG_QUALITY = 80
ORIENTATION_TAG = 0x0112
NOT_READABLE = "file is not a readable image"
TOO_LARGE = "image is too large to open safely (decompression bomb guard)"


class ImageRefused(Exception):
    """The media is not an image we accept; ``reason`` is fit to show the shop (and to tell the customer).

    ``detected_type`` is what the bytes looked like (e.g. ``video/mp4``), or None if not recognised.
    """

    def __init__(self, reason: str, *, detected_type: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detected_type = detected_type


@dataclass(frozen=True)
class ProcessedImage:
    content_type: str  # from the bytes: image/jpeg, image/png or image/gif
    data: bytes  # the original pixels without metadata when upright already, else re-encoded upright
    width: int  # as displayed, i.e. after the EXIF orientation is applied
    height: int
    thumbnail: bytes
    thumbnail_content_type: str  # image/jpeg for a JPEG, image/png otherwise (a GIF's first frame)
    thumbnail_width: int
    thumbnail_height: int


# ISO base media ("ftyp" box) brands: the same container carries MP4, QuickTime, 3GPP video (common in MMS
# from Android phones) and HEIF photos (iPhones), so the brand names the content.
_FTYP_BRANDS = {
    b"qt  ": "video/quicktime",
    b"3gp4": "video/3gpp", b"3gp5": "video/3gpp", b"3gp6": "video/3gpp", b"3gg6": "video/3gpp",
    b"3g2a": "video/3gpp2", b"3g2b": "video/3gpp2", b"3g2c": "video/3gpp2",
    b"heic": "image/heic", b"heix": "image/heic", b"hevc": "image/heic", b"hevx": "image/heic",
    b"heim": "image/heic", b"heis": "image/heic", b"mif1": "image/heic", b"msf1": "image/heic",
    b"avif": "image/avif", b"avis": "image/avif",
    b"M4A ": "audio/mp4", b"M4B ": "audio/mp4",
}
_PREFIXES = [
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"#!AMR-WB\n", "audio/amr-wb"),
    (b"#!AMR\n", "audio/amr"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
]


def sniff_content_type(data: bytes) -> str | None:
    """Name the content from its magic bytes; None when unrecognised.

    Besides the three accepted image types it recognises common refusals, only so messages can name them.
    """
    for prefix, content_type in _PREFIXES:
        if data.startswith(prefix):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(data[8:12], "video/mp4")
    if _is_mpeg_audio_frame(data):
        return "audio/mpeg"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:11].upper() == b"BEGIN:VCARD":
        return "text/vcard"
    return None


def _is_mpeg_audio_frame(data: bytes) -> bool:
    """An MP3 without an ID3 tag starts with an 11-bit frame sync and a valid layer."""
    return len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06 != 0


def check_image_type(data: bytes) -> str:
    """Return the accepted content type of ``data``, or raise ImageRefused naming what it is."""
    detected = sniff_content_type(data)
    if detected in ACCEPTED:
        return detected
    if detected is None:
        raise ImageRefused(f"file is not a recognised image ({ACCEPTED_TEXT})")
    if detected.startswith("image/"):
        raise ImageRefused(f"{detected} images are not accepted ({ACCEPTED_TEXT})", detected_type=detected)
    raise ImageRefused(f"{detected} is not an image ({ACCEPTED_TEXT})", detected_type=detected)


def process_image(data: bytes, *, max_pixels: int = 40_000_000, thumbnail_size: int = 320) -> ProcessedImage:
    """Validate ``data`` as a JPEG, PNG or GIF, put it upright, and make a thumbnail whose longest side is
    at most ``thumbnail_size`` (never upscaled). Raises ImageRefused."""
    content_type = check_image_type(data)
    image = _open_guarded(data, ACCEPTED[content_type], max_pixels)
    upright = _upright(image, content_type)
    stored = strip_metadata(data, content_type) if upright is image else _encode(upright, ACCEPTED[content_type], JPEG_QUALITY)
    thumbnail = _thumbnail(upright, content_type, thumbnail_size)
    thumbnail_format = "JPEG" if content_type == "image/jpeg" else "PNG"
    return ProcessedImage(
        content_type=content_type,
        data=stored,
        width=upright.width,
        height=upright.height,
        thumbnail=_encode(thumbnail, thumbnail_format, THUMBNAIL_JPEG_QUALITY),
        thumbnail_content_type=f"image/{thumbnail_format.lower()}",
        thumbnail_width=thumbnail.width,
        thumbnail_height=thumbnail.height,
    )


def _open_guarded(data: bytes, pillow_format: str, max_pixels: int) -> Image.Image:
    """Open (header only), check the pixel count, then decode the first frame.

    Pillow's own bomb check runs inside ``Image.open`` against its global limit: it raises for images over
    twice that limit (translated here) and only warns between (left alone: silencing it would mean
    changing the process-wide warning filters). We enforce ``max_pixels`` ourselves either way.
    Truncated files fail in ``load()`` (we never set ``ImageFile.LOAD_TRUNCATED_IMAGES``).
    """
    try:
        image = Image.open(io.BytesIO(data), formats=[pillow_format])
    except Image.DecompressionBombError as exc:
        raise ImageRefused(TOO_LARGE, detected_type=f"image/{pillow_format.lower()}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # UnidentifiedImageError is an OSError
        raise ImageRefused(NOT_READABLE) from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRefused(NOT_READABLE)
    if width * height > max_pixels:
        raise ImageRefused(TOO_LARGE, detected_type=f"image/{pillow_format.lower()}")
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRefused(NOT_READABLE) from exc
    return image


def _orientation(image: Image.Image) -> int:
    """EXIF orientation, 1 (normal) if absent or unreadable: a phone's malformed EXIF should not get an
    otherwise good photo refused."""
    try:
        return int(image.getexif().get(ORIENTATION_TAG, 1))
    except Exception:  # noqa: BLE001 - any EXIF parsing failure means "no usable orientation"
        return 1


def _upright(image: Image.Image, content_type: str) -> Image.Image:
    """The image as it should be displayed; ``image`` itself when no transposition is needed.

    GIFs have no EXIF; an animated PNG is left as sent, since re-encoding only the first frame would lose
    the animation. (A multi-picture JPEG, MPO, as some phones write, is stored as its first picture.)
    """
    if content_type == "image/gif" or (content_type == "image/png" and getattr(image, "is_animated", False)):
        return image
    if _orientation(image) not in range(2, 9):
        return image
    upright = ImageOps.exif_transpose(image)
    upright.info.pop("exif", None)
    return upright


def _thumbnail(image: Image.Image, content_type: str, size: int) -> Image.Image:
    thumb = image.convert(_thumbnail_mode(image, content_type))
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS)  # keeps aspect, never enlarges
    return thumb


def _thumbnail_mode(image: Image.Image, content_type: str) -> str:
    """JPEG thumbnails are RGB or greyscale (a CMYK JPEG shows badly in browsers); PNG thumbnails keep
    transparency. Palette images are expanded so resampling is smooth rather than nearest-neighbour."""
    if content_type == "image/jpeg":
        return "L" if image.mode == "L" else "RGB"
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        return "RGBA"
    return "L" if image.mode in ("1", "L") else "RGB"


def _encode(image: Image.Image, pillow_format: str, jpeg_quality: int) -> bytes:
    """Encode without EXIF (Pillow writes EXIF only when asked); keep the ICC profile for true colours."""
    out = io.BytesIO()
    options: dict[str, object] = {}
    if icc := image.info.get("icc_profile"):
        options["icc_profile"] = icc
    if pillow_format == "JPEG":
        options["quality"] = jpeg_quality
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
    image.save(out, pillow_format, **options)
    return out.getvalue()


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_METADATA_CHUNKS = {b"eXIf", b"tEXt", b"iTXt", b"zTXt"}


def strip_metadata(data: bytes, content_type: str) -> bytes:
    """Drop EXIF/XMP (where a phone writes its GPS position) without re-encoding; bytes we cannot walk are
    returned unchanged rather than refused (the image itself was already validated by Pillow)."""
    if content_type == "image/jpeg":
        return _strip_jpeg(data)
    if content_type == "image/png":
        return _strip_png(data)
    return data


def _strip_jpeg(data: bytes) -> bytes:
    out, i = bytearray(data[:2]), 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            break
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if length < 2 or i + 2 + length > len(data):
            return data
        if marker != 0xE1:  # APP1 holds EXIF and XMP
            out += data[i:i + 2 + length]
        i += 2 + length
    return bytes(out + data[i:])


def _strip_png(data: bytes) -> bytes:
    if not data.startswith(_PNG_SIGNATURE):
        return data
    out, i = bytearray(_PNG_SIGNATURE), len(_PNG_SIGNATURE)
    while i + 12 <= len(data):
        length = int.from_bytes(data[i:i + 4], "big")
        kind = data[i + 4:i + 8]
        end = i + 12 + length
        if end > len(data):
            return data
        if kind not in _PNG_METADATA_CHUNKS:
            out += data[i:end]
        i = end
        if kind == b"IEND":
            break
    return bytes(out)
