"""``/asyncapi`` as a plain page: every topic, who writes and reads it, and each event's
fields, built from the AsyncAPI document and the event schemas. No script and nothing fetched
from elsewhere: it reads the same without internet."""

from __future__ import annotations

import re
from html import escape
from typing import Any

# Names quoted in the docstrings the descriptions come from: ``name`` (reST) or `name`.
_QUOTED = re.compile(r"``(.+?)``|`([^`]+?)`")

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem;
       color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; border-top: 1px solid #ccc; padding-top: 1rem; }
h3 { font-size: 1.05rem; margin-bottom: .3rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } code { font-size: .9em; background: #f5f5f5; padding: 0 .2em; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; }
"""


def asyncapi_page(document: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> str:
    """The page for an AsyncAPI document made by ``shared_kernel.asyncapi`` and the schemas
    (versioned type -> JSON Schema) its messages name."""
    info = document["info"]
    channels: dict[str, Any] = document["channels"]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(info['title'])}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(info['title'])}</h1>",
        f"<p>{_text(info['description'])}</p>",
        '<p>Machine-readable: <a href="/asyncapi.json">/asyncapi.json</a> (AsyncAPI '
        f"{escape(document['asyncapi'])}); the event schemas: "
        '<a href="/schemas">/schemas</a>.</p>',
        "<h2>Topics</h2><ul>",
        *(
            f'<li><a href="#{escape(name)}"><code>{escape(c["address"])}</code></a>: '
            f"{_text(c['description'])}</li>"
            for name, c in channels.items()
        ),
        "</ul>",
        _envelope(document["components"]["schemas"]["CloudEvent"]),
    ]
    for name, channel in channels.items():
        parts.append(_channel(name, channel, document, schemas))
    parts.append("</body></html>")
    return "\n".join(parts)


def _envelope(schema: dict[str, Any]) -> str:
    rows = [
        f"<tr><td><code>{escape(k)}</code></td><td>{escape(_type_of(v))}</td>"
        f"<td>{_text(str(v.get('description', '')))}</td></tr>"
        for k, v in schema["properties"].items()
    ]
    return (
        f'<h2 id="envelope">{escape(schema["title"])}</h2>'
        f"<p>{_text(schema['description'])}</p>"
        "<table><tr><th>Attribute</th><th>Type</th><th>Meaning</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _channel(
    name: str, channel: dict[str, Any], document: dict[str, Any], schemas: dict[str, Any]
) -> str:
    kafka = channel["bindings"]["kafka"]
    config = kafka["topicConfiguration"]
    retention = "forever" if config["retention.ms"] == -1 else f"{config['retention.ms']} ms"
    ref = f"#/channels/{name}"
    writers = _services(document, ref, "send")
    readers = _services(document, ref, "receive")
    messages = [
        document["components"]["messages"][m["$ref"].rsplit("/", 1)[1]]
        for m in channel["messages"].values()
    ]
    key = messages[0]["bindings"]["kafka"]["key"]["description"] if messages else "-"
    parts = [
        f'<h2 id="{escape(name)}">Topic <code>{escape(channel["address"])}</code></h2>',
        f"<p>{_text(channel['description'])}</p><dl>",
        f"<dt>Partitions</dt><dd>{kafka['partitions']}</dd>",
        f"<dt>Retention</dt><dd>{retention}</dd>",
        f"<dt>Key</dt><dd>{escape(key)}</dd>",
        f"<dt>Written by</dt><dd>{escape(', '.join(writers) or '-')}</dd>",
        f"<dt>Read by</dt><dd>{escape(', '.join(readers) or '-')}</dd>",
        f"<dt>Messages</dt><dd>{len(messages)}</dd></dl>",
    ]
    for message in messages:
        parts.append(_message(message, schemas.get(message["name"])))
    return "\n".join(parts)


def _services(document: dict[str, Any], channel_ref: str, action: str) -> list[str]:
    return sorted(
        {
            operation_id.split(".", 1)[0]
            for operation_id, operation in document["operations"].items()
            if operation["action"] == action and operation["channel"]["$ref"] == channel_ref
        }
    )


def _message(message: dict[str, Any], schema: dict[str, Any] | None) -> str:
    name = escape(message["name"])
    if schema is None:  # not an event (a dead letter): its summary says what it is
        return f"<h3>{name}</h3><p>{_text(message['summary'])}</p>"
    url = escape(schema.get("$id", ""))
    rows = []
    required = set(schema.get("required", ()))
    for field, prop in schema.get("properties", {}).items():
        rows.append(
            f"<tr><td><code>{escape(field)}</code></td><td>{escape(_type_of(prop))}</td>"
            f"<td>{'yes' if field in required else 'no'}</td>"
            f"<td>{_text(str(prop.get('description', '')))}</td></tr>"
        )
    return (
        f'<h3 id="{name}">{name}</h3>'
        f"<p>{_text(str(schema.get('description', '')))}</p>"
        f'<p>Schema: <a href="{url}">{url}</a></p>'
        "<table><tr><th>Field</th><th>Type</th><th>Required</th><th>Meaning</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _type_of(prop: dict[str, Any]) -> str:
    """A field's type in words: ``string (date)``, ``array of PostedLine``, ``one of a, b``."""
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[1]
    if "const" in prop:
        return f"always {prop['const']}"
    if "enum" in prop:
        return "one of " + ", ".join(map(str, prop["enum"]))
    if "anyOf" in prop:
        return " or ".join(_type_of(p) for p in prop["anyOf"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"array of {_type_of(prop.get('items', {}))}"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"map of {_type_of(prop['additionalProperties'])}"
    return f"{kind} ({prop['format']})" if "format" in prop else str(kind)


def _text(description: str) -> str:
    """A description as HTML: escaped, with the names it quotes set as code."""
    return _QUOTED.sub(
        lambda m: f"<code>{m.group(1) or m.group(2)}</code>", escape(description, quote=False)
    )
