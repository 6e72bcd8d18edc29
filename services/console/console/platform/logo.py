"""Logo uploads: PNG, JPEG or WebP only, judged by content, bounded, re-encoded, renamed.

The upload is never served as sent. Pillow decodes it (only the three
accepted decoders are tried, whatever the file name or declared type says),
the size is checked from the header before any pixel is decoded, and what
is stored is a fresh PNG under a name the server makes up. SVG is refused:
it is a document that can carry script, not a picture.
"""

from __future__ import annotations

import os
import secrets
import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from shared.errors import PayloadTooLarge, Unprocessable

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
MAX_BYTES = 2 * 1024 * 1024
MAX_SIDE = 4096
MAX_PIXELS = 4096 * 4096
STORED_MAX_SIDE = 512

# Pillow's own decompression-bomb guard, at our limit (it raises beyond twice this).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class LogoRejected(Unprocessable):
    code = "invalid_logo"


@dataclass(frozen=True)
class Logo:
    png: bytes
    width: int
    height: int
    source_format: str


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def _reject(message: str) -> LogoRejected:
    return LogoRejected(message, fields=[{"field": "file", "message": message}])


def process_logo(data: bytes) -> Logo:
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"The logo is larger than {MAX_BYTES // (1024 * 1024)} MiB.")
    if _looks_like_svg(data):
        raise _reject("SVG images are not accepted: upload a PNG, JPEG or WebP file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data), formats=ACCEPTED_FORMATS)
            width, height = image.size
            if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                raise _reject(f"The logo may be at most {MAX_SIDE} x {MAX_SIDE} pixels.")
            source_format = str(image.format)
            image.seek(0)  # the first frame of an animation
            image.load()
    except LogoRejected:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        ValueError,
        SyntaxError,  # Pillow's PNG reader reports some broken files this way
    ) as exc:
        raise _reject("Only PNG, JPEG or WebP images are accepted.") from exc
    picture: Image.Image = image
    if picture.mode not in ("RGB", "RGBA"):
        picture = picture.convert("RGBA")
    picture.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE))
    out = BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return Logo(out.getvalue(), picture.width, picture.height, source_format)


def logo_dir(data_dir: Path) -> Path:
    return data_dir / "branding"


def store_logo(data_dir: Path, logo: Logo) -> str:
    """Write the PNG under a new random name (atomically); the name is returned."""
    folder = logo_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"logo-{secrets.token_hex(16)}.png"
    partial = folder / f".{name}.part"
    partial.write_bytes(logo.png)
    os.replace(partial, folder / name)
    return name


def logo_path(data_dir: Path, name: str) -> Path | None:
    """The stored file of an asset name we made; None for anything else."""
    if not (name.startswith("logo-") and name.endswith(".png") and name[5:-4].isalnum()):
        return None
    path = logo_dir(data_dir) / name
    return path if path.is_file() else None


def remove_logo_file(data_dir: Path, name: str | None) -> None:
    path = logo_path(data_dir, name) if name else None
    if path is not None:
        path.unlink(missing_ok=True)
