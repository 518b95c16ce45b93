"""The Teams app package: a valid 1.19 manifest with the bot's id, and the two icons Teams asks for."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from teams_fakes import MANIFEST_VALIDATOR

from adapters.teams_package import TEAMS_DEPLOY, write_package
from bot.engine import Engine
from bot.models import ReplyKind

APP_ID = "0b5d7f9e-1c3a-4e5f-9a7b-2c4d6e8f0a1b"


def _errors(manifest: dict[str, object]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in MANIFEST_VALIDATOR.iter_errors(manifest)]


def _png(data: bytes) -> tuple[int, int, list[list[tuple[int, ...]]]]:
    """Width, height and RGBA rows of an 8-bit RGBA PNG (all five filter types)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, color_type = struct.unpack(">IIBB", header[:10])
    assert (depth, color_type) == (8, 6), "expected 8-bit RGBA"
    raw, stride, rows, previous = zlib.decompress(idat), width * 4, [], bytearray(width * 4)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for i in range(stride):
            a = row[i - 4] if i >= 4 else 0
            b = previous[i]
            c = previous[i - 4] if i >= 4 else 0
            p = a + b - c
            nearest = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
            row[i] = (row[i] + (0, a, b, (a + b) // 2, nearest)[kind]) & 0xFF
        rows.append([tuple(row[x : x + 4]) for x in range(0, stride, 4)])
        previous = row
    return width, height, rows


def test_the_committed_manifest_is_valid_1_19() -> None:
    manifest = json.loads((TEAMS_DEPLOY / "manifest.json").read_text(encoding="utf-8"))

    assert _errors(manifest) == []
    (bot,) = manifest["bots"]
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]


def test_write_package_fills_in_the_bot_id_and_adds_the_icons(tmp_path: Path) -> None:
    out = write_package(APP_ID, tmp_path / "nested" / "nhsmail-bot.zip")

    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        color, outline = _png(package.read("color.png")), _png(package.read("outline.png"))
    assert _errors(manifest) == []
    assert manifest["id"] == APP_ID
    assert [bot["botId"] for bot in manifest["bots"]] == [APP_ID]
    assert color[:2] == (192, 192)
    assert all(pixel[3] == 255 for row in color[2] for pixel in row)  # full colour, opaque
    assert outline[:2] == (32, 32)
    pixels = [pixel for row in outline[2] for pixel in row]
    # white on a transparent background, as Teams requires for the outline icon
    assert any(pixel[3] == 0 for pixel in pixels)
    assert any(pixel[3] == 255 for pixel in pixels)
    assert all(pixel[:3] == (255, 255, 255) for pixel in pixels if pixel[3])


@pytest.mark.parametrize("app_id", ["", "not-a-guid", "28:0b5d7f9e-1c3a-4e5f-9a7b-2c4d6e8f0a1b"])
def test_write_package_refuses_an_id_that_is_not_a_guid(tmp_path: Path, app_id: str) -> None:
    with pytest.raises(ValueError, match="GUID"):
        write_package(app_id, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_every_command_in_the_manifest_gets_an_answer(engine: Engine) -> None:
    manifest = json.loads((TEAMS_DEPLOY / "manifest.json").read_text(encoding="utf-8"))
    commands = [c["title"] for lists in manifest["bots"][0]["commandLists"] for c in lists["commands"]]

    routed = {title: engine.reply(title) for title in commands}

    assert 3 <= len(commands) <= 10
    assert routed["help"].kind is ReplyKind.SMALLTALK
    misses = {t: r.kind.value for t, r in routed.items() if t != "help" and r.kind is not ReplyKind.ANSWER}
    assert misses == {}
