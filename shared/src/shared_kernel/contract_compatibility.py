"""Which changes of an event schema break a published version.

Events of one versioned type sit on a topic for ever, written by older and newer code alike:
the code must still read the old ones (no upcaster runs within a version), and a data team's
reader, written against the committed schema, must still read the new ones. So, comparing the
committed schema of a version (``old``) with what the code generates now (``new``), these
break it, each named with the field's path (``lines[].amount``):

- a field removed (a renamed field is one removed and one added);
- a field's type changed (including ``null`` allowed or no longer allowed), or its format
  (``date`` to ``date-time``);
- a new required field, or an optional field that became required;
- an enumeration narrowed (a value no longer allowed), or a free value restricted to some.

Compatible: a new optional field (one with a default: old events lack it), a wider
enumeration, new descriptions. Annotations (``title``, ``description``, ``default``,
``examples``, ``$id``) are never compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Schema = dict[str, Any]
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """What makes ``new`` incompatible with ``old`` (empty: compatible), one phrase each."""
    return list(_compare(old, new, "", old, new))


def _compare(
    old: Schema, new: Schema, path: str, old_root: Schema, new_root: Schema
) -> Iterator[str]:
    before = _by_kind(old, old_root)
    after = _by_kind(new, new_root)
    if before.keys() != after.keys():
        yield f"{_name(path)} changed type from {_kinds(before)} to {_kinds(after)}"
        return
    for kind, olds in before.items():
        news = after[kind]
        if len(olds) == 1 and len(news) == 1:
            yield from _compare_same_kind(kind, olds[0], news[0], path, old_root, new_root)
        elif sorted(map(repr, olds)) != sorted(map(repr, news)):
            yield f"{_name(path)} changed its {kind} alternatives"


def _compare_same_kind(
    kind: str, old: Schema, new: Schema, path: str, old_root: Schema, new_root: Schema
) -> Iterator[str]:
    allowed_before, allowed_after = _allowed_values(old), _allowed_values(new)
    if allowed_after is not None:
        if allowed_before is None:
            yield f"{_name(path)} is now restricted to {sorted(map(str, allowed_after))}"
        else:
            dropped = [v for v in allowed_before if v not in allowed_after]
            if dropped:
                yield f"{_name(path)} narrowed its enumeration: no longer allows {dropped}"
    if old.get("format") != new.get("format"):
        yield (
            f"{_name(path)} changed format from {old.get('format', 'none')} "
            f"to {new.get('format', 'none')}"
        )
    if kind == "array" and isinstance(old.get("items"), dict):
        yield from _compare(old["items"], new.get("items", {}), f"{path}[]", old_root, new_root)
    if kind == "object":
        yield from _compare_objects(old, new, path, old_root, new_root)


def _compare_objects(
    old: Schema, new: Schema, path: str, old_root: Schema, new_root: Schema
) -> Iterator[str]:
    before, after = old.get("properties", {}), new.get("properties", {})
    required_before, required_after = set(old.get("required", ())), set(new.get("required", ()))
    for name in before:
        field = f"{path}.{name}" if path else name
        if name not in after:
            yield f"field `{field}` removed (or renamed)"
            continue
        yield from _compare(before[name], after[name], field, old_root, new_root)
        if name in required_after and name not in required_before:
            yield f"field `{field}` became required"
    for name in after:
        if name not in before and name in required_after:
            yield f"new required field `{f'{path}.{name}' if path else name}`"
    # A map's values (dict[str, X]): compared as a field of their own.
    if isinstance(old.get("additionalProperties"), dict):
        values = new.get("additionalProperties")
        yield from _compare(
            old["additionalProperties"],
            values if isinstance(values, dict) else {},
            f"{path}{{}}",
            old_root,
            new_root,
        )


def _by_kind(schema: Schema, root: Schema) -> dict[str, list[Schema]]:
    """The alternatives a schema allows, grouped by JSON type (``anyOf`` flattened, ``$ref``
    followed); a schema that says nothing of its type is of kind ``any``."""
    grouped: dict[str, list[Schema]] = {}
    for variant in _variants(schema, root):
        grouped.setdefault(_kind(variant), []).append(variant)
    return grouped


def _variants(schema: Schema, root: Schema) -> Iterator[Schema]:
    schema = _resolve(schema, root)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives:
        for alternative in alternatives:
            yield from _variants(alternative, root)
    elif isinstance(schema.get("type"), list):
        for kind in schema["type"]:
            yield {**schema, "type": kind}
    else:
        yield schema


def _resolve(schema: Schema, root: Schema) -> Schema:
    """Follow local ``$ref``s (``#/$defs/Name``); sibling keywords of the ``$ref`` are kept."""
    seen: set[str] = set()
    while isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        ref = schema["$ref"]
        if ref in seen:
            break  # a recursive type: compared no deeper
        seen.add(ref)
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings}
    return schema


def _kind(variant: Schema) -> str:
    if isinstance(variant.get("type"), str):
        return str(variant["type"])
    values = _allowed_values(variant)
    if values:
        kinds = {_JSON_TYPES.get(type(v), "any") for v in values}
        return kinds.pop() if len(kinds) == 1 else "any"
    return "object" if "properties" in variant else "any"


def _allowed_values(schema: Schema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _kinds(grouped: dict[str, list[Schema]]) -> str:
    return "|".join(sorted(grouped))


def _name(path: str) -> str:
    return f"field `{path}`" if path else "the event's data"
