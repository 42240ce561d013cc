"""Discord's message limits as a checker, used on every payload the tests see."""

from __future__ import annotations

from typing import Any

LIMITS = {
    "title": 256,
    "description": 4096,
    "field_name": 256,
    "field_value": 1024,
    "footer": 2048,
    "author": 256,
    "total": 6000,
    "fields": 25,
    "content": 2000,
}


def embed_problems(embed: dict[str, Any]) -> list[str]:
    problems = []
    title = embed.get("title") or ""
    description = embed.get("description") or ""
    footer = (embed.get("footer") or {}).get("text") or ""
    author = (embed.get("author") or {}).get("name") or ""
    fields = embed.get("fields") or []
    total = len(title) + len(description) + len(footer) + len(author)
    if len(title) > LIMITS["title"]:
        problems.append(f"title {len(title)}")
    if len(description) > LIMITS["description"]:
        problems.append(f"description {len(description)}")
    if len(footer) > LIMITS["footer"]:
        problems.append(f"footer {len(footer)}")
    if len(fields) > LIMITS["fields"]:
        problems.append(f"{len(fields)} fields")
    for field in fields:
        total += len(field["name"]) + len(field["value"])
        if not field["name"] or len(field["name"]) > LIMITS["field_name"]:
            problems.append(f"field name {len(field['name'])}")
        if not field["value"] or len(field["value"]) > LIMITS["field_value"]:
            problems.append(f"field value {len(field['value'])}")
    if total > LIMITS["total"]:
        problems.append(f"total {total}")
    return problems


def message_problems(payload: dict[str, Any]) -> list[str]:
    """Limits and the rules every litbot message follows (no mentions parsed)."""
    problems = []
    if len(payload.get("content") or "") > LIMITS["content"]:
        problems.append("content")
    for embed in payload.get("embeds") or []:
        problems += embed_problems(embed)
    rows = payload.get("components") or []
    if len(rows) > 5:
        problems.append(f"{len(rows)} component rows")
    for row in rows:
        items = row.get("components") or []
        if len(items) > 5:
            problems.append(f"{len(items)} components in a row")
        for item in items:
            if len(item.get("custom_id") or "") > 100:
                problems.append(f"custom_id {len(item['custom_id'])}")
            if len(item.get("label") or "") > 80:
                problems.append(f"label {item['label']!r}")
            if len(item.get("options") or []) > 25:
                problems.append(f"{len(item['options'])} select options")
            if "url" in item and len(item["url"]) > 512:
                problems.append("button url")
    mentions = payload.get("allowed_mentions")
    if mentions is None or mentions.get("parse") != []:
        problems.append(f"allowed_mentions {mentions!r}")
    return problems
