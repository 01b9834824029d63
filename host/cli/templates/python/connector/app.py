"""{{name}}: a weft connector in Python, built into a component by
`weft plugin build` (componentize-py). `describe` says what it offers;
`invoke` runs its actions. Test it with `weft plugin test` (tests/).

The names come from weft's WIT (wit/plugin.wit), as componentize-py binds
the `connector` world: the class `ConnectorApi` implements the exported
interface; its requests and answers are the dataclasses of
`wit_world.exports.connector_api`; the host's interfaces are
`wit_world.imports.log`, `kv`, `config` and `weft_plugin_types` (the
errors). HTTP goes through `weft_http` (next to this file).

To fail a call the way the engine understands, raise
`Err(Error_InvalidInput("…"))` (or `Error_Auth`, `Error_Transient`,
`Error_Fatal`, `Error_RateLimited(RateLimit(…))`). Any other exception is a
bug: the call fails as trapped, and weft shows its traceback.
"""

import json

import weft_http
import wit_world
from componentize_py_types import Err
from wit_world.exports import connector_api as api
from wit_world.imports import config, log
from wit_world.imports.weft_plugin_types import Error_Fatal, Error_InvalidInput


def base_url() -> str:
    """The connection's `base_url` setting, without a trailing slash."""
    raw = config.setting("base_url")  # JSON text, or None when it is not set
    if raw is None:
        raise Err(Error_InvalidInput("the connection has no base_url setting"))
    return str(json.loads(raw)).rstrip("/")


def get_item(input: dict) -> object:
    """`GET {base_url}/items/{id}`: the item, as the API returns it."""
    item_id = input.get("id") if isinstance(input, dict) else None
    if isinstance(item_id, bool) or not isinstance(item_id, (int, str)) or item_id == "":
        raise Err(Error_InvalidInput("`id` must be a number or a string"))
    log.log(log.Level.INFO, f"fetching item {item_id}")
    response = weft_http.get(f"{base_url()}/items/{weft_http.quote(str(item_id), safe='')}")
    if response.status == 404:
        raise Err(Error_InvalidInput(f"there is no item {item_id}"))
    return response.raise_for_status().json()


class ConnectorApi(wit_world.exports.ConnectorApi):
    def describe(self) -> api.Manifest:
        return api.Manifest(
            name="{{name}}",
            version="0.1.0",
            description="A weft connector written in Python",
            triggers=[],
            actions=[
                api.ActionSpec(
                    name="get-item",
                    description="Fetch one item by its id",
                    input_schema=json.dumps(
                        {
                            "type": "object",
                            "required": ["id"],
                            "properties": {"id": {"type": ["integer", "string"], "description": "The item's id"}},
                        }
                    ),
                    output_schema=json.dumps({"type": "object"}),
                )
            ],
            settings=[
                api.SettingSpec(
                    name="base_url",
                    description="The API's base URL, e.g. https://api.example.com",
                    secret=False,
                    required=True,
                )
            ],
            hosts=[],
        )

    def invoke(self, request: api.InvokeRequest) -> str:
        if request.action == "get-item":
            return json.dumps(get_item(json.loads(request.input)))
        raise Err(Error_InvalidInput(f"unknown action {request.action!r}"))

    def poll(self, request: api.PollRequest) -> api.PollResponse:
        raise Err(Error_Fatal(f"this connector has no polling trigger {request.trigger!r}"))

    def subscribe(self, request: api.SubscribeRequest) -> str:
        # JSON `null`: the application has no API for registering webhooks.
        return "null"

    def unsubscribe(self, request: api.UnsubscribeRequest) -> None:
        return None

    def handle_webhook(self, request: api.WebhookRequest) -> api.WebhookOutcome:
        raise Err(Error_Fatal(f"this connector has no webhook trigger {request.trigger!r}"))
