"""A message made fit to keep: what the privacy detector finds is masked by kind, the rest stays readable."""

from __future__ import annotations

import unicodedata

from bot.privacy import MAX_SCAN_CHARS, find

MAX_REDACTED_CHARS = 300


def redact(text: str) -> str:
    """`text` with each finding replaced by its kind ("[password]", "[nhs_number]", ...), control and
    format characters removed, on one line and at most MAX_REDACTED_CHARS characters (then "…")."""
    text = text[:MAX_SCAN_CHARS]
    if not text.isprintable():  # printable text has no control or format character: most have none
        # same length in, same length out: the findings' offsets hold for the original
        text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    pieces, at = [], 0
    for finding in find(text):
        pieces += [text[at : finding.start], f"[{finding.kind}]"]
        at = finding.end
    pieces.append(text[at:])
    kept = " ".join("".join(pieces).split())
    return kept if len(kept) <= MAX_REDACTED_CHARS else kept[:MAX_REDACTED_CHARS] + "…"
