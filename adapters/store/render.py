"""The report as a person reads it: a plain-text table, CSV, ready-to-paste YAML, or one HTML page."""

from __future__ import annotations

import csv
import io
import json
from html import escape
from typing import Any

import yaml

from adapters.store.report import OUTCOMES, Report

__all__ = ["to_csv", "to_html", "to_json", "to_table", "to_yaml"]

COLOURS = {"answer": "#007f3b", "clarify": "#ffb81c", "fallback": "#d5281b", "smalltalk": "#768692"}


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)


def to_yaml(report: Report) -> str:
    """Suggested phrasings per topic, as the knowledge file writes alternates: the content owner decides."""
    by_topic: dict[str, list[str]] = {}
    for row in report.suggested_phrasings:
        by_topic.setdefault(row["topic"], []).append(row["text"])
    blocks = []
    for topic, texts in by_topic.items():
        body = yaml.safe_dump({"alternates": texts}, allow_unicode=True, sort_keys=False, width=1000)
        blocks.append(f"# {topic}: add to this entry's alternates\n{body}")
    return "\n".join(blocks)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def to_table(report: Report) -> str:
    out = io.StringIO()
    w = out.write
    w(f"nhsmail-bot report, {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC\n\n")
    answered = report.outcomes.get("answer", 0)
    w(f"messages: {report.messages}  answered: {answered} ({_percent(answered, report.messages)})")
    w(f"  topic clicks: {report.clicks}\n\n")
    w(f"{'platform':12}{'messages':>10}" + "".join(f"{o:>11}" for o in OUTCOMES) + "\n")
    for platform, row in [
        *report.by_platform.items(),
        ("all", {"messages": report.messages, **report.outcomes}),
    ]:
        w(f"{platform:12}{row['messages']:>10}" + "".join(f"{row.get(o, 0):>11}" for o in OUTCOMES) + "\n")
    w("\nanswer rate per day\n")
    for day in report.daily:
        rate = _percent(day["answered"], day["messages"])
        w(f"  {day['date']}  {day['answered']:>5}/{day['messages']:<5} {rate}\n")
    w(f"\n{'topic':32}{'answers':>9}{'helpful':>9}{'not helpful':>13}\n")
    for topic in report.topics:
        w(f"{topic['topic']:32}{topic['answers']:>9}{topic['helpful']:>9}{topic['not_helpful']:>13}\n")
    w("\nunanswered questions (redacted), most asked first\n")
    for row in report.unanswered:
        w(f"  {row['count']:>4}  {row['last_seen']:%Y-%m-%d}  {row['text']}\n")
    if not report.unanswered:
        w("  none\n")
    w("\nsuggested phrasings (asked, then answered by a click on the topic)\n")
    w(to_yaml(report) or "  none\n")
    w(f"\nentries due for review ({len(report.review_due)})\n")
    for entry in report.review_due:
        w(f"  {entry['last_reviewed']}  {entry['topic']}\n")
    return out.getvalue()


def to_csv(report: Report) -> str:
    """One table a spreadsheet opens: a section column, then the figures that section has."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "name", "count", "helpful", "not_helpful", "last_seen", "text"])
    writer.writerow(["summary", "messages", report.messages, "", "", "", ""])
    for outcome, count in report.outcomes.items():
        writer.writerow(["outcome", outcome, count, "", "", "", ""])
    for platform, row in report.by_platform.items():
        for name, count in row.items():
            writer.writerow(["platform", f"{platform}:{name}", count, "", "", "", ""])
    for day in report.daily:
        writer.writerow(["day", day["date"], day["messages"], "", "", "", f"answered {day['answered']}"])
    for topic in report.topics:
        writer.writerow(
            ["topic", topic["topic"], topic["answers"], topic["helpful"], topic["not_helpful"], "", ""]
        )
    for row in report.unanswered:
        writer.writerow(
            ["unanswered", "", row["count"], "", "", row["last_seen"].isoformat(), _cell(row["text"])]
        )
    for row in report.suggested_phrasings:
        writer.writerow(["suggested_phrasing", row["topic"], row["count"], "", "", "", _cell(row["text"])])
    for entry in report.review_due:
        writer.writerow(["review_due", entry["topic"], "", "", "", entry["last_reviewed"], ""])
    return out.getvalue()


def _cell(text: str) -> str:
    # a cell starting with = + - @ is a formula to a spreadsheet: text typed by staff must not run
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# ---- HTML


def _bars(rows: list[tuple[str, int, str]], width: int = 500) -> str:
    """A horizontal bar chart as inline SVG: (label, value, colour) per bar."""
    if not rows:
        return '<p class="none">No data in this period.</p>'
    top = max(value for _, value, _ in rows) or 1
    height = 26 * len(rows)
    label_w = 230
    bars = []
    for i, (label, value, colour) in enumerate(rows):
        y = i * 26
        length = max(1, round((width - label_w - 60) * value / top)) if value else 0
        bars.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(_clip(label))}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{length}" height="18" fill="{colour}"></rect>'
            f'<text x="{label_w + length + 6}" y="{y + 17}">{value}</text>'
        )
    return (
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>'
    )


def _clip(label: str, most: int = 34) -> str:
    return label if len(label) <= most else label[: most - 1].rstrip() + "…"


def _rate_chart(daily: list[dict[str, Any]], width: int = 500, height: int = 180) -> str:
    """Answer rate per day as columns, 0 to 100%."""
    if not daily:
        return '<p class="none">No messages in this period.</p>'
    pad, bottom = 36, 24
    step = (width - pad) / len(daily)
    parts = [
        f'<line x1="{pad}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#aeb7bd">'
        "</line>",
        f'<text x="{pad - 4}" y="12" text-anchor="end">100%</text>',
        f'<text x="{pad - 4}" y="{height - bottom}" text-anchor="end">0%</text>',
    ]
    usable = height - bottom - 8
    for i, day in enumerate(daily):
        bar_h = round(usable * day["answer_rate"])
        x = pad + i * step + step * 0.15
        title = f"{day['date']}: {day['answered']} of {day['messages']} answered"
        parts.append(
            f'<rect x="{x:.1f}" y="{height - bottom - bar_h}" width="{step * 0.7:.1f}" height="{bar_h}" '
            f'fill="#005eb8"><title>{escape(title)}</title></rect>'
        )
        if len(daily) <= 14 or i % max(1, len(daily) // 10) == 0:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{height - 6}" text-anchor="middle">'
                f"{escape(day['date'][5:])}</text>"
            )
    return (
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return '<p class="none">None in this period.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body{font-family:Arial,Helvetica,sans-serif;color:#212b32;margin:0;background:#f0f4f5}
header{background:#005eb8;color:#fff;padding:18px 32px}header h1{margin:0;font-size:26px}
header p{margin:4px 0 0}main{padding:8px 32px 32px;max-width:1100px}
section{background:#fff;margin:16px 0;padding:16px 20px;border-radius:4px}
h2{font-size:19px;margin:0 0 12px}.pair{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.pair{margin:16px 0}.pair section{margin:0}.tiles{display:flex;gap:12px;flex-wrap:wrap}
.tile{background:#fff;padding:12px 18px;border-left:6px solid #005eb8;min-width:140px}
.tile b{display:block;font-size:28px}table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #d8dde0;vertical-align:top}
td.n,th.n{text-align:right}svg text{font-size:12px;fill:#212b32}.none{color:#4c6272}
pre{background:#f0f4f5;padding:12px;overflow:auto;font-size:13px}
"""


def to_html(report: Report) -> str:
    """One self-contained page: inline CSS and SVG, no script, no external asset; every value escaped."""
    answered = report.outcomes.get("answer", 0)
    tiles = [
        ("messages", str(report.messages)),
        ("answered", _percent(answered, report.messages)),
        ("did you mean", str(report.outcomes.get("clarify", 0))),
        ("not answered", str(report.outcomes.get("fallback", 0))),
        ("topic clicks", str(report.clicks)),
    ]
    tiles_html = "".join(f'<div class="tile"><b>{escape(v)}</b>{escape(k)}</div>' for k, v in tiles)
    outcome_bars = _bars([(o, report.outcomes.get(o, 0), COLOURS[o]) for o in OUTCOMES])
    platform_rows = [
        [p, r["messages"], *(r.get(o, 0) for o in OUTCOMES)] for p, r in report.by_platform.items()
    ]
    asked_topics = [t for t in report.topics if t["answers"] or t["helpful"] or t["not_helpful"]]
    topic_bars = _bars([(t["title"] or t["topic"], t["answers"], "#005eb8") for t in asked_topics[:15]])
    topic_rows = [[t["topic"], t["answers"], t["helpful"], t["not_helpful"]] for t in asked_topics]
    unanswered_rows = [[r["count"], f"{r['last_seen']:%Y-%m-%d}", r["text"]] for r in report.unanswered[:100]]
    yaml_text = to_yaml(report)
    suggested = f"<pre>{escape(yaml_text)}</pre>" if yaml_text else '<p class="none">None in this period.</p>'
    review_rows = [[e["last_reviewed"], e["topic"], e["title"]] for e in report.review_due]
    period = f"{report.since:%d %b %Y %H:%M} to {report.until:%d %b %Y %H:%M} UTC"
    sections = [
        ("Messages by outcome", outcome_bars),
        ("By platform", _table(["platform", "messages", *OUTCOMES], platform_rows)),
        ("Answer rate per day", _rate_chart(report.daily)),
        ("Most answered topics", topic_bars),
        (
            "Questions the bot could not answer (redacted)",
            _table(["count", "last seen", "question"], unanswered_rows),
        ),
        ("Suggested phrasings: asked, then answered by a click (paste into faq.yaml)", suggested),
        ("Topics: answers and votes", _table(["topic", "answers", "helpful", "not helpful"], topic_rows)),
        ("Entries due for review", _table(["last reviewed", "topic", "title"], review_rows)),
    ]
    blocks = [f"<section><h2>{escape(title)}</h2>{html}</section>" for title, html in sections]
    # the charts side by side, so the questions and suggestions come into view sooner
    body = "".join(f'<div class="pair">{blocks[i]}{blocks[i + 1]}</div>' for i in (0, 2)) + "".join(
        blocks[4:]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>nhsmail-bot report</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>nhsmail-bot report</h1><p>{escape(period)}</p></header>"
        f'<main><div class="tiles">{tiles_html}</div>{body}</main></body></html>\n'
    )
