"""Hostile logo uploads: PNG/HTML polyglots, SVG dressed as PNG, and pixel floods."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from tests.auth.support import wait_for
from tests.console.support import post_form

SCRIPT = b"<script>alert(document.cookie)</script>"


@pytest.fixture
def data_dir(runtime, tmp_path, monkeypatch):
    # The base too: an upload is a platform-settings change, which rebuilds runtime.settings.
    monkeypatch.setattr(runtime.base_settings, "data_dir", tmp_path)
    monkeypatch.setattr(runtime.settings, "data_dir", tmp_path)
    return tmp_path


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def _png(width: int, height: int, idat: bytes, *extra: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"".join(
        [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header), *extra, _chunk(b"IDAT", idat)]
    ) + _chunk(b"IEND", b"")


def _upload(client, content: bytes, name: str = "logo.png"):
    return post_form(client, "/setup/branding/logo", files={"file": (name, content, "image/png")})


def _stored(data_dir) -> list:
    folder = data_dir / "branding"
    return list(folder.iterdir()) if folder.exists() else []


def test_a_png_that_is_also_html_is_served_only_as_a_fresh_png(signed_in, data_dir):
    pixels = zlib.compress(b"\x00\x80" * 2)  # two rows of one grey pixel
    html = b"<html><body>" + SCRIPT + b"</body></html>"
    polyglot = _png(1, 2, pixels, _chunk(b"tEXt", b"Comment\x00" + html)) + html
    assert Image.open(io.BytesIO(polyglot)).size == (1, 2)  # a real PNG to any decoder

    assert _upload(signed_in, polyglot, "page.html").status_code == 303

    [stored] = _stored(data_dir)
    assert b"<script" not in stored.read_bytes() and b"<html" not in stored.read_bytes()
    # Branding is cached until the settings-change broadcast arrives.
    wait_for(lambda: signed_in.get("/console/branding/logo").status_code == 200)
    served = signed_in.get(f"/console/branding/logo?v={stored.name}")
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert b"<script" not in served.content


@pytest.mark.parametrize(
    "content",
    [
        b"<!-- logo --><svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        b"\xef\xbb\xbf\n  <svg xmlns='http://www.w3.org/2000/svg'>" + SCRIPT + b"</svg>",
    ],
)
def test_an_svg_renamed_to_png_is_refused(signed_in, data_dir, content):
    response = _upload(signed_in, content)
    assert response.status_code == 422
    assert "SVG images are not accepted" in response.text
    assert _stored(data_dir) == []


def test_a_tiny_png_declaring_fifty_thousand_pixels_square_is_refused_unread(signed_in, data_dir):
    # A few hundred bytes that would inflate to 2.5 gigapixels if anyone decoded them.
    flood = _png(50_000, 50_000, zlib.compress(b"\x00" * 50_001 * 4))
    assert len(flood) < 1024

    response = _upload(signed_in, flood)

    assert response.status_code == 422
    # Pillow's bomb guard or our own size check: either way, before any pixel is read.
    assert (
        "at most 4096 x 4096 pixels" in response.text or "Only PNG, JPEG or WebP" in response.text
    )
    assert _stored(data_dir) == []


def test_a_long_thin_flood_is_refused_too(signed_in, data_dir):
    flood = _png(1, 10_000_000, zlib.compress(b"\x00\x00" * 1000))
    response = _upload(signed_in, flood)
    assert response.status_code == 422
    assert "at most 4096 x 4096 pixels" in response.text
    assert _stored(data_dir) == []
