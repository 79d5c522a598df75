"""Make reporters' photos safe to keep: re-encode them and drop every byte of metadata.

A photo's EXIF block can carry GPS coordinates, the time, the phone model and its serial
number - enough to identify the person who took it. :func:`clean_image` therefore never
passes the original file on: it decodes the pixels, turns them upright according to the EXIF
orientation, flattens them to RGB on white, downscales them and writes a brand-new baseline
JPEG with no EXIF, XMP, ICC profile, IPTC or comment. Call it before sealing an attachment.

Accepted input, identified from the content (never the file name): JPEG (including MPO),
PNG, WebP and GIF (first frame only). Everything else - PDF, SVG, TIFF, BMP, HEIC, text -
is refused. Refusals raise :class:`MediaRejected` with a ``reason``:

``too_large``        the input has more than ``max_bytes`` bytes (checked before decoding)
``unsupported_type`` the content is not one of the accepted formats
``unreadable``       it claims to be an accepted format but cannot be decoded
``too_many_pixels``  the declared dimensions exceed ``max_pixels`` (checked before the pixels
                     are decoded) or Pillow's own decompression-bomb limit

Decoding happens with Python warnings suppressed (Pillow's ``DecompressionBombWarning`` is
turned into a refusal). ``warnings.catch_warnings`` is process-global in Python 3.12, so a
concurrent thread may briefly see those filters; the explicit ``max_pixels`` check does not
depend on them.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Final, Literal, get_args

from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "MAX_IMAGE_BYTES",
    "CleanImage",
    "MediaRejected",
    "RejectReason",
    "clean_image",
]

MAX_IMAGE_BYTES: Final = 10 * 1024 * 1024

RejectReason = Literal["too_large", "unsupported_type", "unreadable", "too_many_pixels"]

_FORMATS: Final = ("JPEG", "PNG", "WEBP", "GIF")
_JPEG_QUALITY: Final = 85
_WHITE: Final = (255, 255, 255)


class MediaRejected(Exception):
    """An image was refused; ``reason`` says why (see the module docstring)."""

    reason: RejectReason

    def __init__(self, reason: RejectReason) -> None:
        if reason not in get_args(RejectReason):
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CleanImage:
    """A re-encoded JPEG with no metadata, and its pixel dimensions."""

    data: bytes
    width: int
    height: int
    mime: str = "image/jpeg"


def _claims_accepted_format(data: bytes) -> bool:
    """True if the bytes start like one of the accepted formats (so a failure is damage)."""
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    )


def _target_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(image: Image.Image) -> Image.Image:
    """Return an RGB copy of ``image``, with any transparency flattened onto white."""
    has_alpha = image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode.startswith("I;16"):
        image = image.convert("I")
    if image.mode in ("I", "F"):
        # 16-bit or float greyscale: scale into 0..255 rather than clipping.
        image = image.point(lambda value: value / 256).convert("L")
    return image.convert("RGB")


def _clean(data: bytes, max_side: int, max_pixels: int) -> CleanImage:
    try:
        source = Image.open(io.BytesIO(data), formats=_FORMATS)
    except UnidentifiedImageError:
        reason: RejectReason = "unreadable" if _claims_accepted_format(data) else "unsupported_type"
        raise MediaRejected(reason) from None
    with source:
        width, height = source.size
        if width < 1 or height < 1:
            raise MediaRejected("unreadable")
        if width * height > max_pixels:
            raise MediaRejected("too_many_pixels")
        # JPEG only: let the decoder scale down by a power of two when that still leaves at
        # least the final size, which saves memory on very large photos. No-op elsewhere.
        source.draft("RGB", _target_size(width, height, max_side))
        source.load()
        try:
            upright = ImageOps.exif_transpose(source)
        except Exception:  # broken EXIF must not lose the picture
            upright = source.copy()
    picture = _to_rgb(upright)
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # Nothing of the original may reach the encoder: Pillow copies some metadata (such as the
    # JPEG comment) from .info when saving.
    picture.info.clear()
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=_JPEG_QUALITY, optimize=True, exif=b"")
    return CleanImage(data=out.getvalue(), width=picture.width, height=picture.height)


def clean_image(
    data: bytes,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_side: int = 2560,
    max_pixels: int = 40_000_000,
) -> CleanImage:
    """Decode an untrusted image and return it as a fresh JPEG without any metadata.

    The picture is turned upright per its EXIF orientation, flattened to RGB on white and
    downscaled so that its longest side is at most ``max_side``. Raises
    :class:`MediaRejected` (see the module docstring for the reasons).
    """
    if max_bytes < 1 or max_side < 1 or max_pixels < 1:
        raise ValueError("limits must be positive")
    if len(data) > max_bytes:
        raise MediaRejected("too_large")
    if not data:
        raise MediaRejected("unreadable")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _clean(data, max_side, max_pixels)
        except MediaRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise MediaRejected("too_many_pixels") from None
        except Exception:  # any decoder failure on hostile input
            raise MediaRejected("unreadable") from None
