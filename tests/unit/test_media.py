"""Tests for storage.media: metadata stripping, orientation, type sniffing, size limits."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image

from storage.media import MAX_IMAGE_BYTES, CleanImage, MediaRejected, clean_image

RED = (220, 20, 20)
BLUE = (20, 20, 220)
CAMERA_MODEL = "SpyCam X100 Serial 5550123"
GPS_DATUM = "WGS-84-TIPLINE-TEST"
GPS_LATITUDE = (10.0, 45.0, 30.5)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def two_colour(width: int = 40, height: int = 20) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


def revealing_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TiplineTestMake"
    exif[ExifTags.Base.Model] = CAMERA_MODEL
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.DateTime] = "2025:01:02 03:04:05"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (106.0, 40.0, 12.25)
    gps[ExifTags.GPS.GPSMapDatum] = GPS_DATUM
    return exif


def jpeg_segments(data: bytes) -> list[int]:
    """Return the marker codes of a JPEG's header segments, up to Start Of Scan."""
    assert data[:2] == b"\xff\xd8"
    markers = []
    position = 2
    while position < len(data):
        assert data[position] == 0xFF
        marker = data[position + 1]
        markers.append(marker)
        if marker == 0xDA:  # SOS: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length
    return markers


def png_with_declared_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares an arbitrary size (pixel data is missing)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def decode(clean: CleanImage) -> Image.Image:
    image = Image.open(io.BytesIO(clean.data))
    assert image.format == "JPEG"
    assert image.size == (clean.width, clean.height)
    return image


def close_to(pixel: object, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


# --------------------------------------------------------------------------- metadata


def test_jpeg_with_gps_and_camera_model_comes_out_without_exif() -> None:
    exif = revealing_exif()
    exif_bytes = exif.tobytes()
    original = encode(
        two_colour(), "JPEG", exif=exif_bytes, comment=b"shot at the warehouse", dpi=(300, 300)
    )
    # the fixture really carries what we want gone
    assert CAMERA_MODEL.encode() in original
    assert GPS_DATUM.encode() in original
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    clean = clean_image(original)

    assert clean.mime == "image/jpeg"
    out = decode(clean)
    assert not out.getexif()
    assert not out.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    for key in ("exif", "xmp", "icc_profile", "comment", "photoshop", "dpi"):
        assert key not in out.info
    for needle in (
        CAMERA_MODEL.encode(),
        b"TiplineTestMake",
        GPS_DATUM.encode(),
        b"2025:01:02",
        b"shot at the warehouse",
        b"Exif\x00\x00",
        exif_bytes,
        struct.pack(">II", 61, 2),  # 30.5 seconds of latitude as an EXIF rational
    ):
        assert needle in original
        assert needle not in clean.data


def test_output_has_only_structural_jpeg_segments() -> None:
    original = encode(
        two_colour(),
        "JPEG",
        exif=revealing_exif().tobytes(),
        icc_profile=b"\x00" * 128 + b"fake icc profile",
        comment=b"comment",
        xmp=b"<x:xmpmeta>GPS 10.7584</x:xmpmeta>",
    )
    assert b"xmpmeta" in original
    clean = clean_image(original)
    # APP0 (JFIF), DQT, SOF0, DHT, SOS only: no APP1 (EXIF/XMP), APP2 (ICC), APP13, COM.
    allowed = {0xE0, 0xDB, 0xC0, 0xC4, 0xDA}
    assert set(jpeg_segments(clean.data)) <= allowed
    assert b"xmpmeta" not in clean.data
    assert b"fake icc profile" not in clean.data


def test_png_text_chunks_are_dropped() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "GPS 10.7584 106.6701")
    original = encode(two_colour(), "PNG", pnginfo=info)
    clean = clean_image(original)
    assert b"10.7584" not in clean.data
    assert set(jpeg_segments(clean.data)) <= {0xE0, 0xDB, 0xC0, 0xC4, 0xDA}


# --------------------------------------------------------------------------- orientation


@pytest.mark.parametrize(
    ("orientation", "size", "red_at", "blue_at"),
    [
        (1, (40, 20), (2, 10), (37, 10)),  # as stored: red left
        (3, (40, 20), (37, 10), (2, 10)),  # rotated 180: red right
        (6, (20, 40), (10, 2), (10, 37)),  # rotate 90 clockwise: red on top
        (8, (20, 40), (10, 37), (10, 2)),  # rotate 90 anticlockwise: red at the bottom
    ],
)
def test_exif_orientation_is_applied(
    orientation: int,
    size: tuple[int, int],
    red_at: tuple[int, int],
    blue_at: tuple[int, int],
) -> None:
    original = encode(two_colour(40, 20), "JPEG", exif=revealing_exif(orientation).tobytes())
    clean = clean_image(original)
    out = decode(clean)
    assert (clean.width, clean.height) == size
    assert not out.getexif()  # and no orientation tag left to rotate it a second time
    assert close_to(out.getpixel(red_at), RED)
    assert close_to(out.getpixel(blue_at), BLUE)


# --------------------------------------------------------------------------- formats and modes


def test_png_with_alpha_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (30, 30), (0, 0, 0, 0))
    image.paste((20, 20, 220, 255), (0, 0, 15, 30))
    clean = clean_image(encode(image, "PNG"))
    out = decode(clean)
    assert out.mode == "RGB"
    assert (clean.width, clean.height) == (30, 30)
    assert close_to(out.getpixel((3, 15)), BLUE)
    assert close_to(out.getpixel((27, 15)), (255, 255, 255))


def test_palette_png_with_transparency() -> None:
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 0, 0, 220, 20, 20] + [0, 0, 0] * 254)
    image.paste(1, (5, 0, 10, 10))
    clean = clean_image(encode(image, "PNG", transparency=0))
    out = decode(clean)
    assert close_to(out.getpixel((1, 5)), (255, 255, 255))
    assert close_to(out.getpixel((8, 5)), RED)


def test_sixteen_bit_greyscale_png() -> None:
    image = Image.new("I;16", (10, 10), 40000)
    out = decode(clean_image(encode(image, "PNG")))
    assert close_to(out.getpixel((5, 5)), (156, 156, 156), tolerance=3)


def test_cmyk_jpeg() -> None:
    clean = clean_image(encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG"))
    assert decode(clean).mode == "RGB"


def test_webp_is_accepted() -> None:
    clean = clean_image(encode(two_colour(), "WEBP", exif=revealing_exif().tobytes()))
    out = decode(clean)
    assert (clean.width, clean.height) == (40, 20)
    assert CAMERA_MODEL.encode() not in clean.data
    assert not out.getexif()


def test_gif_first_frame_only() -> None:
    frames = [Image.new("RGB", (20, 20), RED), Image.new("RGB", (20, 20), BLUE)]
    original = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert getattr(Image.open(io.BytesIO(original)), "n_frames", 1) == 2
    out = decode(clean_image(original))
    assert close_to(out.getpixel((10, 10)), RED)


def test_large_image_is_downscaled_keeping_aspect() -> None:
    clean = clean_image(encode(two_colour(3000, 1000), "JPEG"), max_side=600)
    assert (clean.width, clean.height) == (600, 200)
    clean = clean_image(encode(two_colour(1000, 3000), "PNG"), max_side=600)
    assert (clean.width, clean.height) == (200, 600)


def test_small_image_is_not_upscaled() -> None:
    clean = clean_image(encode(two_colour(40, 20), "PNG"))
    assert (clean.width, clean.height) == (40, 20)


# --------------------------------------------------------------------------- refusals


def reason_for(data: bytes, **limits: int) -> str:
    with pytest.raises(MediaRejected) as info:
        clean_image(data, **limits)
    return info.value.reason


@pytest.mark.parametrize("fmt", ["TIFF", "BMP", "PDF", "ICO", "PPM"])
def test_other_image_formats_are_unsupported(fmt: str) -> None:
    assert reason_for(encode(two_colour(), fmt)) == "unsupported_type"


@pytest.mark.parametrize(
    "payload",
    [
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
        "Tôi thấy họ bán ma túy ở chợ".encode(),
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        b"PK\x03\x04 a zip file",
    ],
)
def test_non_images_are_unsupported(payload: bytes) -> None:
    assert reason_for(payload) == "unsupported_type"


def test_file_name_plays_no_part() -> None:
    # PNG bytes are PNG whatever the reporter's client called them; there is no name to pass.
    assert clean_image(encode(two_colour(), "PNG")).mime == "image/jpeg"


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00" * 100,
        bytes(range(256)) * 4,
        b"\xff\xd8\xff\xe0 truncated jpeg garbage",
        b"\x89PNG\r\n\x1a\n garbage",
        b"GIF89a\x00",
        b"",
    ],
)
def test_garbage_is_refused(payload: bytes) -> None:
    assert reason_for(payload) in {"unreadable", "unsupported_type"}


def test_truncated_jpeg_is_unreadable() -> None:
    original = encode(two_colour(400, 300), "JPEG")
    assert reason_for(original[: len(original) // 2]) == "unreadable"


def test_too_large_is_checked_before_decoding() -> None:
    assert reason_for(b"\x00" * (MAX_IMAGE_BYTES + 1)) == "too_large"
    small_png = encode(two_colour(), "PNG")
    assert reason_for(small_png, max_bytes=len(small_png) - 1) == "too_large"
    assert clean_image(small_png, max_bytes=len(small_png)).width == 40


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (7000, 7000),  # 49 Mpx: over max_pixels, under Pillow's own warning limit
        (10_000, 10_000),  # 100 Mpx: Pillow would warn (the tests turn warnings into errors)
        (100_000, 100_000),  # 10 Gpx: Pillow raises DecompressionBombError
        (2**31 - 1, 2**31 - 1),
    ],
)
def test_huge_declared_dimensions_are_refused(width: int, height: int) -> None:
    assert reason_for(png_with_declared_size(width, height)) == "too_many_pixels"


def test_max_pixels_parameter() -> None:
    data = encode(two_colour(40, 20), "PNG")
    assert reason_for(data, max_pixels=799) == "too_many_pixels"
    assert clean_image(data, max_pixels=800).width == 40


def test_media_rejected_reason_is_checked() -> None:
    assert MediaRejected("too_large").reason == "too_large"
    with pytest.raises(ValueError):
        MediaRejected("nope")  # type: ignore[arg-type]
