"""Activities mapped to and from JSON directly say what msrest would say, for every recorded payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from adapters.teams.cards import to_activity
from adapters.teams.wire import from_wire, to_wire
from bot.engine import Engine

PAYLOADS = sorted((Path(__file__).parent / "payloads").glob("*.json"))
TIMESTAMPS = {"timestamp", "localTimestamp"}  # not read by the bot or the turn: dropped, not parsed


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: p.stem)
def test_an_incoming_activity_reads_as_msrest_reads_it(path: Path) -> None:
    body = json.loads(path.read_text(encoding="utf-8"))

    mine, theirs = from_wire(body), Activity().deserialize(body)

    assert mine is not None
    assert {k: v for k, v in theirs.serialize().items() if k not in TIMESTAMPS} == mine.serialize()
    for ours, msrest in zip(mine.entities or (), theirs.entities or (), strict=True):
        assert ours.additional_properties == msrest.additional_properties


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: p.stem)
def test_a_reply_is_written_as_msrest_writes_it_with_its_card_as_json(path: Path, engine: Engine) -> None:
    incoming = Activity().deserialize(json.loads(path.read_text(encoding="utf-8")))
    reply = to_activity(engine.reply("I've forgotten my password"))
    sent = TurnContext.apply_conversation_reference(reply, TurnContext.get_conversation_reference(incoming))

    wire = to_wire(sent)

    expected = sent.serialize()
    expected["attachments"] = [
        {"contentType": a.content_type, "content": a.content} for a in sent.attachments
    ]
    assert json.loads(json.dumps(wire)) == json.loads(json.dumps(expected, default=dict))


@pytest.mark.parametrize(
    "body", [{"type": "message", "entities": "x"}, {"type": "message", "from": [1]}, [], "text", None]
)
def test_a_wrong_shape_is_not_an_activity(body: object) -> None:
    assert from_wire(body) is None


def test_a_field_of_a_shape_it_does_not_map_is_left_to_msrest() -> None:
    body = {"type": "message", "suggestedActions": {"actions": [{"type": "imBack", "title": "Yes"}]}}

    activity = from_wire(body)

    assert activity is not None and activity.suggested_actions.actions[0].title == "Yes"
