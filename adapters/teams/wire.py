"""Activities to and from the Bot Connector's JSON. msrest's generic walk over every attribute and every
node of a card cost more than the rest of a turn: the shapes Teams sends and the bot sends are mapped
directly, and msrest is kept for the rare activity carrying anything else."""

from __future__ import annotations

from typing import Any

from botbuilder.schema import Activity, Attachment, ChannelAccount, ConversationAccount, Entity

# attribute types mapped here; an activity with a field of any other type is left to msrest
_MODELS: dict[str, type[Any]] = {
    "ChannelAccount": ChannelAccount,
    "ConversationAccount": ConversationAccount,
    "Entity": Entity,
    "Attachment": Attachment,
}
_PLAIN = {"str": str, "bool": bool}


def _keys(model: type[Any]) -> dict[str, tuple[str, str]]:
    """The wire's key -> (attribute, msrest type) for one model."""
    return {spec["key"]: (name, spec["type"]) for name, spec in model._attribute_map.items()}


_ACTIVITY_KEYS = _keys(Activity)
_MODEL_KEYS = {name: _keys(model) for name, model in _MODELS.items()}
# timestamps are not read by the bot or by botbuilder's turn: dropped rather than parsed
_SKIPPED = {"iso-8601"}


class _Unusual(Exception):
    """A field of a shape mapped by msrest only."""


def from_wire(body: object) -> Activity | None:
    """An incoming activity, or None if it is not one (a wrong type where a list or object must be)."""
    if not isinstance(body, dict):
        return None
    try:
        return _build(Activity, body, _ACTIVITY_KEYS)
    except _Unusual:
        pass
    except (TypeError, ValueError):
        return None
    try:
        return Activity().deserialize(body)
    except Exception:
        return None


def _build(model: type[Any], body: dict[str, Any], keys: dict[str, tuple[str, str]]) -> Any:
    """One model from its JSON; keys it does not know go to additional_properties, as msrest does."""
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in body.items():
        spec = keys.get(key)
        if spec is None:
            extra[key] = value
            continue
        name, kind = spec
        if value is None or kind in _SKIPPED:
            continue
        if kind == "object":
            out[name] = value
        elif kind in _PLAIN:
            if isinstance(value, _PLAIN[kind]):
                out[name] = value
        elif kind.startswith("["):
            item = kind[1:-1]
            if not isinstance(value, list):
                raise ValueError(f"{key} is not a list")
            out[name] = [_model(item, v) if item in _MODELS else _plain(item, v) for v in value]
        elif kind in _MODELS:
            out[name] = _model(kind, value)
        else:
            raise _Unusual(kind)
    built = model(**out)
    built.additional_properties = extra
    return built


def _model(kind: str, value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError(f"not an object where a {kind} must be")
    return _build(_MODELS[kind], value, _MODEL_KEYS[kind])


def _plain(kind: str, value: Any) -> Any:
    if kind not in _PLAIN:
        raise _Unusual(kind)
    return value if isinstance(value, _PLAIN[kind]) else None


# What the bot's own activities carry, by botbuilder's attribute and the wire's name. msrest is left only
# what the bot never sets itself.
_SCALARS = (
    ("type", "type"),
    ("id", "id"),
    ("service_url", "serviceUrl"),
    ("channel_id", "channelId"),
    ("reply_to_id", "replyToId"),
    ("locale", "locale"),
    ("input_hint", "inputHint"),
    ("attachment_layout", "attachmentLayout"),
    ("summary", "summary"),
    ("text", "text"),
    ("text_format", "textFormat"),
)
_ACCOUNT = (("id", "id"), ("name", "name"), ("aad_object_id", "aadObjectId"), ("role", "role"))
_CONVERSATION = (
    *_ACCOUNT,
    ("is_group", "isGroup"),
    ("conversation_type", "conversationType"),
    ("tenant_id", "tenantId"),
)
_WRITTEN = {name for name, _ in _SCALARS} | {"from_property", "recipient", "conversation", "attachments"}


def to_wire(activity: Activity) -> dict[str, Any]:
    """An outgoing activity as the Bot Connector's JSON; msrest only for what the bot never sets itself."""
    unusual = [name for name, value in vars(activity).items() if value and name not in _WRITTEN]
    body: dict[str, Any] = activity.serialize() if unusual else {}
    body.update(_fields(activity, _SCALARS))
    for name, key, fields in (
        ("from_property", "from", _ACCOUNT),
        ("recipient", "recipient", _ACCOUNT),
        ("conversation", "conversation", _CONVERSATION),
    ):
        value = getattr(activity, name)
        if value is not None:
            body[key] = _fields(value, fields)
    if activity.attachments:
        body["attachments"] = [
            {"contentType": a.content_type, "content": a.content}
            | ({"name": a.name} if a.name else {})
            | ({"contentUrl": a.content_url} if a.content_url else {})
            for a in activity.attachments
        ]
    return body


def _fields(model: Any, fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return {key: value for name, key in fields if (value := getattr(model, name, None)) is not None}
