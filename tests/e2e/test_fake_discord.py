"""The fake Discord's own rules, checked without the bot: a fake that let mistakes through would
make every flow test prove less than it claims."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.e2e.fake_discord import APP_ID, COMMAND, EPHEMERAL, Attachment, FakeDiscord, NoAnswer

COMMANDS = [
    {
        "name": "paper",
        "description": "Show a paper",
        "options": [{"name": "query", "type": 3, "description": "DOI", "required": True}],
    }
]
NO_MENTIONS = {"parse": []}


class Client:
    def __init__(self, fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
        self.fake, self.http = fake, http

    async def call(
        self, method: str, path: str, body: Any = None, *, auth: bool = True, data: Any = None
    ) -> tuple[int, dict[str, str], Any]:
        headers = {"Authorization": f"Bot {self.fake.token}"} if auth else {}
        async with self.http.request(
            method, self.fake.api_url + path, json=body, data=data, headers=headers
        ) as response:
            text = await response.text()
            return response.status, dict(response.headers), json.loads(text) if text else None

    async def interaction(self):
        context = self.fake.context(user=self.fake.user(), guild=None, dm=False, permissions=0)
        data = self.fake._command_data("paper", {"query": "x"}, None, None)
        return await self.fake.open_interaction(COMMAND, data, context)

    async def respond(self, body: dict[str, Any]):
        inter = await self.interaction()
        path = f"/interactions/{inter.id}/{inter.token}/callback?with_response=1"
        return inter, *(await self.call("POST", path, body))


@pytest.fixture
async def client():
    async with FakeDiscord(guilds=("home",), ack_deadline=0.3) as fake:
        async with aiohttp.ClientSession() as http:
            api = Client(fake, http)
            status, _, _ = await api.call("PUT", f"/applications/{APP_ID}/commands", COMMANDS)
            assert status == 200
            yield api


def message(**fields: Any) -> dict[str, Any]:
    return {"type": 4, "data": {"allowed_mentions": NO_MENTIONS, **fields}}


async def test_callback_answers_exact_json_and_refuses_a_second_acknowledgement(client):
    inter, status, headers, body = await client.respond(message(content="hello"))
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body["interaction"]["response_message_id"] == body["resource"]["message"]["id"]
    assert body["resource"]["message"]["content"] == "hello"
    path = f"/interactions/{inter.id}/{inter.token}/callback?with_response=1"
    status, _, body = await client.call("POST", path, message(content="again"))
    assert (status, body["code"]) == (400, 40060)


async def test_late_initial_response_is_an_unknown_interaction(client):
    inter = await client.interaction()
    client.fake.advance(0.5)  # past this fake's 0.3 s deadline
    path = f"/interactions/{inter.id}/{inter.token}/callback?with_response=1"
    status, _, body = await client.call("POST", path, {"type": 5})
    assert (status, body["code"], body["message"]) == (404, 10062, "Unknown interaction")
    assert client.fake.rejections[-1].code == 10062


async def test_first_followup_after_a_defer_edits_the_thinking_message(client):
    inter, status, _, body = await client.respond({"type": 5, "data": {"flags": EPHEMERAL}})
    assert status == 200 and body["interaction"]["response_message_loading"]
    hook = f"/webhooks/{APP_ID}/{inter.token}?wait=true"
    status, _, first = await client.call(
        "POST", hook, {"content": "done", "allowed_mentions": NO_MENTIONS}
    )
    assert status == 200 and first["id"] == inter.original_id
    assert first["flags"] == EPHEMERAL  # the defer's flags, not the followup's
    form = aiohttp.FormData(quote_fields=False)
    payload = {
        "content": "file",
        "allowed_mentions": NO_MENTIONS,
        "attachments": [{"id": 0, "filename": "a.bib"}],
    }
    form.add_field("payload_json", json.dumps(payload), content_type="application/json")
    form.add_field("files[0]", b"@article{x,}", filename="a.bib", content_type="text/plain")
    status, _, second = await client.call("POST", hook, data=form)
    assert status == 200 and second["id"] != first["id"] and second["flags"] == 0
    assert client.fake.message(second["id"]).attachments[0].data == b"@article{x,}"
    client.fake.advance(15 * 60)
    status, _, body = await client.call(
        "POST", hook, {"content": "late", "allowed_mentions": NO_MENTIONS}
    )
    assert (status, body["code"]) == (401, 50027)


def embed(**fields: Any) -> dict[str, Any]:
    return {"title": "t", **fields}


@pytest.mark.parametrize(
    ("data", "path", "code"),
    [
        ({"content": "x" * 2001}, ["content"], "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [embed()] * 11}, ["embeds"], "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [embed(title="x" * 257)]}, ["embeds", "0", "title"], "BASE_TYPE_MAX_LENGTH"),
        (
            {"embeds": [embed(description="x" * 4097)]},
            ["embeds", "0", "description"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"embeds": [embed(fields=[{"name": "n", "value": "v"}] * 26)]},
            ["embeds", "0", "fields"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"embeds": [embed(fields=[{"name": "n", "value": "v" * 1025}])]},
            ["embeds", "0", "fields", "0", "value"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"embeds": [embed(fields=[{"name": "n", "value": ""}])]},
            ["embeds", "0", "fields", "0", "value"],
            "BASE_TYPE_REQUIRED",
        ),
        (
            {"embeds": [embed(footer={"text": "x" * 2049})]},
            ["embeds", "0", "footer", "text"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"embeds": [embed(description="x" * 4000), embed(description="x" * 2001)]},
            ["embeds"],
            "MAX_EMBED_SIZE_EXCEEDED",
        ),
        (
            {
                "content": "x",
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {"type": 2, "style": 1, "label": "a", "custom_id": "same"},
                            {"type": 2, "style": 1, "label": "b", "custom_id": "same"},
                        ],
                    }
                ],
            },
            ["components", "0", "components", "1", "custom_id"],
            "COMPONENT_CUSTOM_ID_DUPLICATED",
        ),
        (
            {
                "content": "x",
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {
                                "type": 3,
                                "custom_id": "s",
                                "options": [{"label": str(i), "value": str(i)} for i in range(26)],
                            }
                        ],
                    }
                ],
            },
            ["components", "0", "components", "0", "options"],
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            {
                "content": "x",
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {"type": 2, "style": 5, "label": "l", "url": "https://x/" + "y" * 510}
                        ],
                    }
                ],
            },
            ["components", "0", "components", "0", "url"],
            "BASE_TYPE_MAX_LENGTH",
        ),
        ({"content": "x", "flags": 2}, ["flags"], "MESSAGE_FLAGS_INVALID"),
    ],
    ids=[
        "content",
        "embeds",
        "title",
        "description",
        "fields",
        "field-value",
        "empty-field",
        "footer",
        "total-6000",
        "duplicate-id",
        "select-options",
        "link-url",
        "flags",
    ],
)
async def test_message_limits_answer_discords_50035(client, data, path, code):
    _, status, _, body = await client.respond(message(**data))
    assert (status, body["code"], body["message"]) == (400, 50035, "Invalid Form Body")
    node = body["errors"]
    for key in path:
        node = node[key]
    assert node["_errors"][0]["code"] == code


async def test_messages_must_say_allowed_mentions_and_not_be_empty(client):
    _, status, _, body = await client.respond({"type": 4, "data": {"content": "@everyone hi"}})
    assert status == 400 and "allowed_mentions" in body["errors"]
    _, status, _, body = await client.respond(message())
    assert (status, body["code"]) == (400, 50006)


async def test_autocomplete_answers_at_most_25_choices(client):
    context = client.fake.context(user=client.fake.user(), guild=None, dm=False, permissions=0)
    data = client.fake._command_data("paper", {"query": "x"}, None, "query")
    inter = await client.fake.open_interaction(4, data, context)
    choices = [{"name": str(i), "value": str(i)} for i in range(26)]
    path = f"/interactions/{inter.id}/{inter.token}/callback?with_response=1"
    status, _, body = await client.call("POST", path, {"type": 8, "data": {"choices": choices}})
    assert status == 400 and "choices" in body["errors"]["data"]


async def test_injected_429_carries_via_and_rate_limit_headers(client):
    client.fake.rate_limit("GET /users/@me", retry_after=1.5)
    status, headers, body = await client.call("GET", "/users/@me")
    assert status == 429 and headers["Content-Type"] == "application/json"
    assert headers["Via"] and headers["Retry-After"] == "2"
    assert headers["X-RateLimit-Remaining"] == "0" and headers["X-RateLimit-Bucket"]
    assert body == {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}
    # asked again inside the 1.5 s: rate limited again, as Discord does (an early retry is seen)
    status, _, body = await client.call("GET", "/users/@me")
    assert status == 429 and 0 < body["retry_after"] <= 1.5
    assert client.fake.faults_served == [("GET /users/@me", 429)] * 2
    assert (await client.call("GET", "/oauth2/applications/@me"))[0] == 200  # others are not
    client.fake.limited_until.clear()  # (the window over)
    assert (await client.call("GET", "/users/@me"))[0] == 200
    client.fake.server_error("GET /users/@me", status=502)
    assert (await client.call("GET", "/users/@me"))[0] == 502
    with pytest.raises(ValueError, match="not a modelled route"):
        client.fake.rate_limit("GET /users/@you")


async def test_tokens_are_checked_and_unmodelled_routes_fail_loudly(client):
    status, _, _ = await client.call("GET", "/users/@me", auth=False)
    assert status == 401
    status, _, body = await client.call("GET", "/guilds/1/members/2")
    assert status == 501 and "does not model" in body["message"]
    assert client.fake.unmodelled == ["GET /api/v10/guilds/1/members/2"]


async def test_the_driver_raises_when_nobody_acknowledges(client):
    with pytest.raises(NoAnswer, match="did not acknowledge"):
        await client.fake.slash("paper", query="10.1/x")


async def test_an_attachment_option_is_resolved_and_served_like_discords_cdn(client):
    command = {
        "name": "upload",
        "description": "Upload a file",
        "options": [{"name": "file", "type": 11, "description": "The file", "required": True}],
    }
    status, _, _ = await client.call("PUT", f"/applications/{APP_ID}/commands", [command])
    assert status == 200
    fake = client.fake
    context = fake.context(user=fake.user(), guild=None, dm=False, permissions=0)
    upload = Attachment("lab export.bib", b"@article{x, title={T}}")
    data = fake._command_data("upload", {"file": upload}, None, None, context["channel_id"])
    (option,) = data["options"]
    assert option["type"] == 11
    item = data["resolved"]["attachments"][option["value"]]
    assert item["id"] == option["value"] and item["filename"] == "lab export.bib"
    assert item["size"] == len(upload.data) and item["ephemeral"] is True
    assert item["content_type"] == "text/x-bibtex; charset=utf-8"
    assert item["proxy_url"] == item["url"]
    assert "/lab%20export.bib?ex=" in item["url"] and "&hm=" in item["url"]
    async with client.http.get(item["url"]) as response:
        assert response.status == 200 and await response.read() == upload.data
    assert fake.downloads == [item["id"]]
    async with client.http.get(item["url"].split("?")[0]) as response:  # unsigned
        assert response.status == 404
    assert fake.take_rejections()[-1].status == 404
    with pytest.raises(LookupError, match="does not take"):
        fake._command_data("upload", {"file": "not a file"}, None, None, context["channel_id"])
