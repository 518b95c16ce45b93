"""Render the Teams adapter's real Adaptive Cards to PNG screenshots for the docs.

The card JSON comes from the project's own code (``Engine.load()`` + ``adapters.teams.to_card``); each card
is drawn by the official Adaptive Cards JavaScript renderer (npm ``adaptivecards``) with a Teams-like host
config, in headless Chromium, and screenshotted. Nothing is fetched from the network at render time: the
page loads the renderer and markdown-it from a local ``node_modules``.

One-off setup (node_modules lives under /tmp and is never committed)::

    npm install --prefix /tmp/acr adaptivecards@3 markdown-it@14   # adaptivecards 3.0.x
    apt-get update && apt-get install -y chromium                   # Debian package: /usr/bin/chromium

Then, from the repository root::

    .venv/bin/python docs/img/render_cards.py \
        [--node-modules /tmp/acr/node_modules] [--chromium /usr/bin/chromium] [--keep]

It writes docs/img/{answer,ivr,did-you-mean,fallback,warning}-card.png. The card JSON and HTML pages go to a
temporary directory, deleted afterwards; pass --keep to keep it (its path is printed). Each page is loaded
twice: once (--dump-dom) to read the rendered height from the page title, then for the screenshot.
Chromium runs with --no-sandbox, which is needed when running as root (e.g. in a container).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from adapters.teams import to_card  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.models import ReplyKind  # noqa: E402

OUT = Path(__file__).resolve().parent
WIDTH = 520  # browser window; the card itself is 450px wide
CARD_WIDTH = 450

# (output name, message, check on the Reply)
CASES = [
    ("answer-card", "I've forgotten my password", lambda r: r.kind is ReplyKind.ANSWER),
    (
        "ivr-card",
        "what are the steps when I phone the helpdesk",
        lambda r: r.topic == "password-recovery-call",
    ),
    ("did-you-mean-card", "password", lambda r: r.kind is ReplyKind.CLARIFY),
    ("fallback-card", "how do I set an out of office", lambda r: r.kind is ReplyKind.FALLBACK),
    ("warning-card", "locked out, my password is Sunshine123!", lambda r: bool(r.notices)),
]

# A Teams-like host config (light theme): Segoe UI, Teams purple accent, white card.
HOST_CONFIG = {
    "fontFamily": "'Segoe UI', system-ui, -apple-system, 'Helvetica Neue', Arial, sans-serif",
    "supportsInteractivity": True,
    "spacing": {"small": 4, "default": 8, "medium": 16, "large": 20, "extraLarge": 24, "padding": 16},
    "separator": {"lineThickness": 1, "lineColor": "#E1DFDD"},
    "fontSizes": {"small": 12, "default": 14, "medium": 16, "large": 18, "extraLarge": 24},
    "fontWeights": {"lighter": 200, "default": 400, "bolder": 600},
    "containerStyles": {
        "default": {
            "backgroundColor": "#FFFFFF",
            "foregroundColors": {
                "default": {"default": "#242424", "subtle": "#616161"},
                "accent": {"default": "#6264A7", "subtle": "#8B8CC7"},
                "attention": {"default": "#C4314B", "subtle": "#D13438"},
                "good": {"default": "#237B4B", "subtle": "#2E8B57"},
                "warning": {"default": "#835C00", "subtle": "#986F0B"},
                "dark": {"default": "#252424", "subtle": "#616161"},
                "light": {"default": "#FFFFFF", "subtle": "#F3F2F1"},
            },
        },
        "emphasis": {
            "backgroundColor": "#F5F5F5",
            "foregroundColors": {
                "default": {"default": "#242424", "subtle": "#616161"},
                "accent": {"default": "#6264A7", "subtle": "#8B8CC7"},
                "attention": {"default": "#C4314B", "subtle": "#D13438"},
                "good": {"default": "#237B4B", "subtle": "#2E8B57"},
                "warning": {"default": "#835C00", "subtle": "#986F0B"},
                "dark": {"default": "#252424", "subtle": "#616161"},
                "light": {"default": "#FFFFFF", "subtle": "#F3F2F1"},
            },
        },
        "attention": {
            "backgroundColor": "#FCF4F6",
            "foregroundColors": {
                "default": {"default": "#242424", "subtle": "#616161"},
                "accent": {"default": "#6264A7", "subtle": "#8B8CC7"},
                "attention": {"default": "#C4314B", "subtle": "#D13438"},
                "good": {"default": "#237B4B", "subtle": "#2E8B57"},
                "warning": {"default": "#835C00", "subtle": "#986F0B"},
                "dark": {"default": "#252424", "subtle": "#616161"},
                "light": {"default": "#FFFFFF", "subtle": "#F3F2F1"},
            },
        },
    },
    "actions": {
        "maxActions": 6,
        "spacing": "default",
        "buttonSpacing": 8,
        "showCard": {"actionMode": "Inline", "inlineTopMargin": 16},
        "actionsOrientation": "Vertical",
        "actionAlignment": "Stretch",
    },
    "textBlock": {"headingLevel": 2},
    "inputs": {"label": {"inputSpacing": "small", "requiredInputs": {"weight": "Bolder"}}},
}

CSS = f"""
html, body {{ margin: 0; background: #F5F5F5; }}
body {{ padding: 20px {(WIDTH - CARD_WIDTH) // 2 - 4}px; }}
#card {{ width: {CARD_WIDTH}px; background: #FFFFFF; border: 1px solid #E1DFDD; border-radius: 6px;
         box-shadow: 0 1px 2px rgba(0,0,0,.12); overflow: hidden; }}
#card .ac-adaptiveCard {{ border-radius: 6px; }}
#card p {{ margin: 0 0 6px 0; }} #card p:last-child {{ margin-bottom: 0; }}
#card ol, #card ul {{ margin: 0; padding-left: 22px; box-sizing: border-box; }} #card li {{ margin: 2px 0; }}
#card a, #card a.ac-anchor:link, #card a.ac-anchor:visited {{ color: #6264A7; text-decoration: none; }}
#card .ac-pushButton {{ font-family: 'Segoe UI', system-ui, sans-serif; font-size: 14px; font-weight: 600;
         color: #6264A7; background: #FFFFFF; border: 1px solid #6264A7; border-radius: 4px;
         padding: 5px 12px; min-height: 32px; white-space: normal; }}
#card select.ac-input {{ font: inherit; font-size: 14px; padding: 5px 8px; border: 1px solid #D1D1D1;
         border-radius: 4px; background: #FFFFFF; color: #242424; height: 32px; }}
#error {{ color: #C4314B; font: 14px monospace; white-space: pre-wrap; }}
"""

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>rendering</title>
<link rel="stylesheet" href="{nm}/adaptivecards/dist/adaptivecards.css">
<style>{css}</style>
<script src="{nm}/markdown-it/dist/markdown-it.min.js"></script>
<script src="{nm}/adaptivecards/dist/adaptivecards.min.js"></script>
</head><body><div id="card"></div><div id="error"></div>
<script>
try {{
  const md = markdownit({{ linkify: false, breaks: false }});
  AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {{
    result.outputHtml = md.render(text);
    result.didProcess = true;
  }};
  const card = new AdaptiveCards.AdaptiveCard();
  card.hostConfig = new AdaptiveCards.HostConfig({host});
  card.parse({card});
  const el = card.render();
  if (!el) throw new Error("render() returned nothing");
  document.getElementById("card").appendChild(el);
}} catch (e) {{
  document.getElementById("error").textContent = "RENDER ERROR: " + e + "\\n" + (e.stack || "");
}}
window.addEventListener("load", () => {{
  const box = document.getElementById(document.getElementById("error").textContent ? "error" : "card");
  document.title = "height=" + Math.ceil(box.getBoundingClientRect().bottom + window.scrollY + 20);
}});
</script></body></html>
"""


def chromium_args(chromium: str, profile: str) -> list[str]:
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--hide-scrollbars",
        "--allow-file-access-from-files",
    ]


def page_height(chromium: str, page: Path) -> int:
    """First pass: load the page, let the script put the document height in the title."""
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [*chromium_args(chromium, profile), f"--window-size={WIDTH},400", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    err = re.search(r'<div id="error">([^<]+)</div>', dom)
    if err:
        raise SystemExit(f"{page.name}: {html.unescape(err.group(1))[:800]}")
    m = re.search(r"<title>height=(\d+)</title>", dom)
    if not m:
        raise SystemExit(f"{page.name}: no height reported; is --node-modules right?")
    return int(m.group(1))


def screenshot(chromium: str, page: Path, png: Path, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                *chromium_args(chromium, profile),
                f"--window-size={WIDTH},{height}",
                f"--screenshot={png}",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--node-modules", default="/tmp/acr/node_modules", type=Path)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--keep", action="store_true", help="keep the card JSON and HTML pages")
    args = ap.parse_args()
    nm = args.node_modules.resolve()
    for dist in ("adaptivecards/dist/adaptivecards.min.js", "markdown-it/dist/markdown-it.min.js"):
        if not (nm / dist).is_file():
            raise SystemExit(f"missing {nm / dist}: see the setup steps in this script's docstring")

    engine = Engine.load()
    work = Path(tempfile.mkdtemp(prefix="cards-"))
    for name, message, check in CASES:
        reply = engine.reply(message)
        if not check(reply):
            raise SystemExit(f"{name}: {message!r} gave kind={reply.kind} topic={reply.topic}")
        card = to_card(reply)
        (work / f"{name}.json").write_text(json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8")
        page = work / f"{name}.html"
        page.write_text(
            PAGE.format(
                nm=nm.as_uri(),
                css=CSS,
                host=json.dumps(HOST_CONFIG),
                card=json.dumps(card).replace("</", "<\\/"),
            ),
            encoding="utf-8",
        )
        height = page_height(args.chromium, page)
        png = OUT / f"{name}.png"
        screenshot(args.chromium, page, png, height)
        what = f"{reply.kind.value} {reply.topic or ''}".strip()
        print(f"{png.relative_to(ROOT)}: {message!r} -> {what} ({WIDTH}x{height})")
    if args.keep:
        print(f"card JSON and HTML kept in {work}")
    else:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
