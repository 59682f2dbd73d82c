"""Image checks and thumbnails, on real bytes made by Pillow (and a few hand-made headers)."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
from PIL import Image

from repairtext.adapters.images import ImageRefused, process_image, sniff_content_type

RED = (220, 20, 20)
BLUE = (20, 20, 220)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def picture(fmt: str, size: tuple[int, int], mode: str = "RGB", color=RED, **options) -> bytes:
    return encode(Image.new(mode, size, color), fmt, **options)


def two_tone(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue: shows which way a rotation went."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def exif_bytes(orientation: int, *, with_gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    if with_gps:
        exif[0x8825] = {1: "N", 2: (47.0, 36.0, 0.0), 3: "W", 4: (122.0, 20.0, 0.0)}
    return exif.tobytes()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def close_to(pixel, color, tolerance=60) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color, strict=True))


def png_with_header(width: int, height: int, idat: bytes) -> bytes:
    """A PNG written by hand: 1-bit greyscale, so a huge canvas of zero rows compresses to almost nothing."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def zero_rows(width: int, height: int) -> bytes:
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    rows = b"".join(compressor.compress(row * 1000) for _ in range(height // 1000))
    return rows + compressor.compress(row * (height % 1000)) + compressor.flush()


# --- accepted images ---------------------------------------------------------------------------------


def test_jpeg_is_accepted_with_its_dimensions_and_a_jpeg_thumbnail():
    data = picture("JPEG", (640, 480))

    result = process_image(data)

    assert (result.content_type, result.width, result.height) == ("image/jpeg", 640, 480)
    assert result.data == data  # upright already: stored byte for byte
    assert (result.thumbnail_content_type, result.thumbnail_width, result.thumbnail_height) == (
        "image/jpeg", 320, 240)
    thumb = opened(result.thumbnail)
    assert (thumb.format, thumb.size) == ("JPEG", (320, 240))


def test_png_is_accepted_and_a_small_one_is_not_upscaled():
    data = picture("PNG", (100, 50))

    result = process_image(data)

    assert (result.content_type, result.width, result.height) == ("image/png", 100, 50)
    assert result.data == data
    assert (result.thumbnail_content_type, result.thumbnail_width, result.thumbnail_height) == (
        "image/png", 100, 50)
    assert opened(result.thumbnail).size == (100, 50)


def test_animated_gif_is_kept_whole_and_thumbnailed_from_its_first_frame_as_png():
    frames = [Image.new("RGB", (400, 100), RED), Image.new("RGB", (400, 100), BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    result = process_image(data)

    assert (result.content_type, result.width, result.height) == ("image/gif", 400, 100)
    assert result.data == data  # animation intact
    thumb = opened(result.thumbnail)
    assert (result.thumbnail_content_type, thumb.format) == ("image/png", "PNG")
    assert (result.thumbnail_width, result.thumbnail_height) == thumb.size == (320, 80)
    assert close_to(thumb.convert("RGB").getpixel((160, 40)), RED)


@pytest.mark.parametrize(
    "size", [(321, 321), (2000, 1), (1, 2000), (5000, 3000), (300, 1200), (320, 320), (10, 10)])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF"])
def test_thumbnail_never_exceeds_320_and_keeps_the_aspect(fmt, size):
    result = process_image(picture(fmt, size))

    thumb = opened(result.thumbnail)
    assert thumb.size == (result.thumbnail_width, result.thumbnail_height)
    assert max(thumb.size) == min(320, max(size))
    assert min(thumb.size) >= 1
    if min(size) > 10:
        assert thumb.width / thumb.height == pytest.approx(size[0] / size[1], rel=0.02)


def test_thumbnail_size_can_be_chosen():
    result = process_image(picture("PNG", (1000, 500)), thumbnail_size=100)

    assert (result.thumbnail_width, result.thumbnail_height) == (100, 50)


def test_png_with_transparency_keeps_it_in_the_thumbnail():
    image = Image.new("RGBA", (800, 400), (0, 0, 0, 0))
    image.paste((*RED, 255), (0, 0, 400, 400))

    thumb = opened(process_image(encode(image, "PNG")).thumbnail)

    assert thumb.mode == "RGBA"
    assert thumb.getpixel((300, 100))[3] == 0
    assert thumb.getpixel((20, 100))[3] == 255


def test_cmyk_jpeg_gets_an_rgb_thumbnail_browsers_can_show():
    result = process_image(picture("JPEG", (400, 400), mode="CMYK", color=(0, 255, 255, 0)))

    assert opened(result.thumbnail).mode == "RGB"


# --- bytes decide, not the declared type -------------------------------------------------------------


def test_png_declared_as_jpeg_is_treated_as_png():
    declared_by_provider = "image/jpeg"
    data = picture("PNG", (50, 40))

    result = process_image(data)

    assert sniff_content_type(data) == "image/png"
    assert result.content_type == "image/png" != declared_by_provider
    assert result.thumbnail_content_type == "image/png"


@pytest.mark.parametrize(
    "fmt, expected", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp")])
def test_sniff_recognises_pillow_made_images(fmt, expected):
    assert sniff_content_type(picture(fmt, (8, 8))) == expected


# --- EXIF orientation --------------------------------------------------------------------------------


def test_jpeg_with_exif_orientation_6_is_stored_upright_without_exif():
    data = encode(two_tone((64, 32)), "JPEG", quality=95, exif=exif_bytes(6, with_gps=True))

    result = process_image(data)

    assert (result.width, result.height) == (32, 64)  # swapped
    stored = opened(result.data)
    assert (stored.format, stored.size) == ("JPEG", (32, 64))
    # Orientation 6 means "rotate 90 degrees clockwise to display": the left (red) half ends on top.
    assert close_to(stored.getpixel((16, 5)), RED)
    assert close_to(stored.getpixel((16, 58)), BLUE)
    assert "exif" not in stored.info and len(stored.getexif()) == 0  # GPS position gone with it
    assert (result.thumbnail_width, result.thumbnail_height) == (32, 64)
    assert opened(result.thumbnail).size == (32, 64)


def test_png_with_exif_orientation_8_is_stored_upright_as_png():
    data = encode(two_tone((60, 20)), "PNG", exif=exif_bytes(8))

    result = process_image(data)

    stored = opened(result.data)
    assert (result.content_type, stored.format, stored.size) == ("image/png", "PNG", (20, 60))
    # Orientation 8 means "rotate 90 degrees counter-clockwise": the left (red) half ends at the bottom.
    assert close_to(stored.getpixel((10, 55)), RED)
    assert close_to(stored.getpixel((10, 4)), BLUE)


def test_jpeg_with_normal_orientation_keeps_its_pixel_data_and_drops_only_metadata():
    data = encode(two_tone((64, 32)), "JPEG", exif=exif_bytes(1, with_gps=True))

    result = process_image(data)

    scan = data.index(b"\xff\xda")
    assert result.data.endswith(data[scan:])          # not re-encoded
    assert b"Exif" in data and b"Exif" not in result.data
    assert (result.width, result.height) == (64, 32)


# --- decompression bombs -----------------------------------------------------------------------------


def test_png_declaring_20000_by_20000_pixels_is_refused():
    data = png_with_header(20_000, 20_000, zero_rows(20_000, 20_000))
    assert len(data) < 200_000  # tiny on the wire, 400 megapixels when decoded

    with pytest.raises(ImageRefused) as refused:
        process_image(data)

    assert refused.value.reason == "image is too large to open safely (decompression bomb guard)"


def test_size_is_checked_before_any_pixel_is_decoded():
    # The pixel data is garbage: decoding it would fail as "not readable". Being refused as too large
    # instead shows the refusal came from the header alone.
    garbage = png_with_header(2_000, 2_000, b"not zlib data at all")

    with pytest.raises(ImageRefused) as too_large:
        process_image(garbage, max_pixels=1_000_000)
    with pytest.raises(ImageRefused) as unreadable:
        process_image(garbage, max_pixels=40_000_000)

    assert "decompression bomb" in too_large.value.reason
    assert unreadable.value.reason == "file is not a readable image"


def with_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    sof = data.index(b"\xff\xc0")  # baseline frame header: length(2) precision(1) height(2) width(2)
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9:]


def with_gif_screen(data: bytes, width: int, height: int) -> bytes:
    return data[:6] + struct.pack("<HH", width, height) + data[10:]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(with_jpeg_size(picture("JPEG", (8, 8)), 60_000, 60_000), id="jpeg"),
        pytest.param(with_gif_screen(picture("GIF", (8, 8)), 65_535, 65_535), id="gif"),
        pytest.param(png_with_header(7_000, 7_000, zero_rows(7_000, 7_000)), id="png-49-megapixels"),
    ],
)
def test_other_oversized_headers_are_refused(data):
    with pytest.raises(ImageRefused) as refused:
        process_image(data)

    assert "decompression bomb" in refused.value.reason


def test_max_pixels_is_per_call_and_leaves_pillow_global_alone():
    before = Image.MAX_IMAGE_PIXELS
    data = picture("PNG", (200, 200))

    with pytest.raises(ImageRefused):
        process_image(data, max_pixels=10_000)
    assert process_image(data).width == 200

    assert before == Image.MAX_IMAGE_PIXELS


# --- unreadable and refused files --------------------------------------------------------------------


def noisy_jpeg() -> bytes:
    return encode(Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3)), "JPEG")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(noisy_jpeg()[:3000], id="truncated-jpeg"),
        pytest.param(picture("PNG", (300, 300))[:-40], id="png-without-its-end"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + os.urandom(200), id="png-signature-then-garbage"),
        pytest.param(b"GIF89a" + b"\x00" * 3, id="gif-header-only"),
    ],
)
def test_truncated_or_corrupt_images_are_refused_as_unreadable(data):
    with pytest.raises(ImageRefused) as refused:
        process_image(data)

    assert refused.value.reason == "file is not a readable image"


MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08free"
QUICKTIME = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + b"\x00\x00\x00\x08wide"
THREE_GP = b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x02\x00isom"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
VCARD = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jane Doe\r\nTEL:+12065550100\r\nEND:VCARD\r\n"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
AMR = b"#!AMR\n" + b"\x3c" + b"\x00" * 31
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 8


@pytest.mark.parametrize(
    "data, named",
    [
        (MP4, "video/mp4"),
        (QUICKTIME, "video/quicktime"),
        (THREE_GP, "video/3gpp"),
        (VCARD, "text/vcard"),
        (b"\xef\xbb\xbfbegin:vcard\nEND:VCARD\n", "text/vcard"),
        (PDF, "application/pdf"),
        (AMR, "audio/amr"),
        (MP3, "audio/mpeg"),
    ],
)
def test_non_images_are_refused_naming_what_they_are(data, named):
    with pytest.raises(ImageRefused) as refused:
        process_image(data)

    assert sniff_content_type(data) == named
    assert refused.value.detected_type == named
    assert refused.value.reason == f"{named} is not an image (only JPEG, PNG and GIF are accepted)"


@pytest.mark.parametrize("data, named", [(HEIC, "image/heic"), (picture("WEBP", (8, 8)), "image/webp")])
def test_other_image_formats_are_refused_naming_them(data, named):
    with pytest.raises(ImageRefused) as refused:
        process_image(data)

    assert refused.value.reason == f"{named} images are not accepted (only JPEG, PNG and GIF are accepted)"


@pytest.mark.parametrize("data", [b"", b"hello, is my phone ready?", bytes(range(1, 65))])
def test_unrecognised_bytes_are_refused(data):
    with pytest.raises(ImageRefused) as refused:
        process_image(data)

    assert refused.value.detected_type is None
    assert "not a recognised image" in refused.value.reason


def test_upright_photo_loses_its_gps_position_but_keeps_its_pixels():
    import io as _io

    from PIL import Image as _Image

    from repairtext.adapters.images import process_image as _process

    photo = _Image.new("RGB", (64, 48), (200, 30, 30))
    exif = _Image.Exif()
    exif[0x0112] = 1                                   # upright
    exif[0x8825] = {1: "N", 2: (47.0, 36.0, 0.0)}      # a GPS position
    buffer = _io.BytesIO()
    photo.save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    original = buffer.getvalue()
    assert b"Exif" in original
    stored = _process(original).data
    assert b"Exif" not in stored
    reopened = _Image.open(_io.BytesIO(stored))
    assert not reopened.getexif() and reopened.size == (64, 48)
    # Lossless: the compressed image data is the same bytes.
    assert original[original.index(b"\xff\xda"):] == stored[stored.index(b"\xff\xda"):]

    png = _io.BytesIO()
    png_exif = _Image.Exif()
    png_exif[0x8825] = {1: "N"}
    _Image.new("RGB", (10, 10)).save(png, "PNG", exif=png_exif.tobytes())
    assert b"eXIf" in png.getvalue() and b"eXIf" not in _process(png.getvalue()).data
