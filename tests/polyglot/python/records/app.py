"""A weft connector written in Python, built with `weft plugin build`
(componentize-py): the records API of a json-server, as the Rust `records`
connector in plugins/ reads it.

Action `get` fetches `{base_url}/{collection}/{id}` and counts its calls in
the connection's key-value store; trigger `new_record` polls for records by
increasing id. Action `crash` raises, to show what weft reports when a Python
plugin fails with an uncaught exception. HTTP goes through `weft_http`, the
helper `weft plugin new` gives Python connectors.
"""

import json

import weft_http
import wit_world
from componentize_py_types import Err
from wit_world.exports import connector_api as api
from wit_world.imports import config, kv, log
from wit_world.imports.weft_plugin_types import Error_Fatal, Error_InvalidInput


def base_url() -> str:
    raw = config.setting("base_url")
    if raw is None:
        raise Err(Error_InvalidInput("the connection has no base_url setting"))
    return str(json.loads(raw)).rstrip("/")


def collection(value: dict) -> str:
    name = value.get("collection") if isinstance(value, dict) else None
    if not isinstance(name, str) or not name or any(c in name for c in "/?#"):
        raise Err(Error_InvalidInput('`collection` must be a plain name such as "contacts"'))
    return name


def count(key: str) -> int:
    """Add one to the counter `key` in the connection's key-value store; the new count."""
    held = kv.get(key)
    n = (int(held.decode()) if held is not None else 0) + 1
    kv.set(key, str(n).encode())
    return n


def get(input: dict) -> dict:
    name = collection(input)
    record_id = input.get("id")
    response = weft_http.get(f"{base_url()}/{name}/{weft_http.quote(str(record_id), safe='')}")
    if response.status == 404:
        raise Err(Error_InvalidInput(f'there is no record {record_id} in "{name}"'))
    record = response.raise_for_status().json()
    calls = count("calls:get")
    log.log(log.Level.INFO, f"fetched {name}/{record_id} (call {calls})")
    return {"record": record, "calls": calls}


def check_ledger(entries: list) -> int:
    return sum(entry["amount"] for entry in entries)


def crash() -> None:
    check_ledger([{"amount": 1}, {"amount": None}])


class ConnectorApi(wit_world.exports.ConnectorApi):
    def describe(self) -> api.Manifest:
        return api.Manifest(
            name="py-records",
            version="0.1.0",
            description="json-server records, from Python",
            triggers=[
                api.TriggerSpec(
                    name="new_record",
                    description="Records added to a collection",
                    kind=api.TriggerKind.POLLING,
                    polling=api.PollingStrategy.INCREASING_ID,
                    events=[],
                    config_schema=json.dumps(
                        {"type": "object", "required": ["collection"], "properties": {"collection": {"type": "string"}}}
                    ),
                    output_schema=json.dumps({"type": "object", "required": ["id"]}),
                )
            ],
            actions=[
                api.ActionSpec(
                    name="get",
                    description="One record by its id",
                    input_schema=json.dumps(
                        {
                            "type": "object",
                            "required": ["collection", "id"],
                            "properties": {"collection": {"type": "string"}, "id": {"type": ["integer", "string"]}},
                        }
                    ),
                    output_schema=json.dumps({"type": "object"}),
                ),
                api.ActionSpec(name="crash", description="Raises an exception", input_schema="{}", output_schema="{}"),
            ],
            settings=[api.SettingSpec(name="base_url", description="The API's base URL", secret=False, required=True)],
            hosts=[],
        )

    def invoke(self, request: api.InvokeRequest) -> str:
        if request.action == "get":
            return json.dumps(get(json.loads(request.input)))
        if request.action == "crash":
            crash()
        raise Err(Error_InvalidInput(f"unknown action {request.action!r}"))

    def poll(self, request: api.PollRequest) -> api.PollResponse:
        if request.trigger != "new_record":
            raise Err(Error_InvalidInput(f"unknown trigger {request.trigger!r}"))
        name = collection(json.loads(request.config))
        url = f"{base_url()}/{name}?_sort=id&_order=asc"
        if request.cursor is not None:
            url += f"&id_gte={int(request.cursor) + 1}"
        records = weft_http.get(url, headers={"accept": "application/json"}).raise_for_status().json()
        log.log(log.Level.INFO, f"polled {len(records)} new records from {name}")
        events = [api.Event(id=str(r["id"]), timestamp=None, payload=json.dumps(r)) for r in records]
        cursor = str(records[-1]["id"]) if records else request.cursor
        return api.PollResponse(events=events, next_cursor=cursor)

    def subscribe(self, request: api.SubscribeRequest) -> str:
        return "null"

    def unsubscribe(self, request: api.UnsubscribeRequest) -> None:
        return None

    def handle_webhook(self, request: api.WebhookRequest) -> api.WebhookOutcome:
        raise Err(Error_Fatal(f"no webhook trigger {request.trigger!r}"))
