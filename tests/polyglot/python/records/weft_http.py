"""HTTP for weft connectors written in Python: blocking requests over wasi:http.

    import weft_http

    response = weft_http.get("https://api.example.com/items/1", headers={"accept": "application/json"})
    item = response.raise_for_status().json()

weft checks every request against the hosts granted to the connection; a
request it refuses fails the call. Redirects are not followed (wasi:http
never follows them): a 3xx comes back as it is.

componentize-py's own `poll_loop` module (asyncio over wasi:http) expects a
world whose HTTP types are imported as `types`; in weft's connector world they
are `wasi_http_types` (weft's own `types` holds the errors), so this module
talks to wasi:http directly.
"""

import json as _json
from typing import Any, Dict, Optional
from urllib.parse import quote, urlencode, urlsplit

from componentize_py_types import Err
from wit_world.imports import outgoing_handler, streams
from wit_world.imports import wasi_http_types as http
from wit_world.imports.weft_plugin_types import (
    Error_Auth,
    Error_Fatal,
    Error_InvalidInput,
    Error_RateLimited,
    Error_Transient,
    RateLimit,
)

__all__ = ["Response", "request", "get", "post", "put", "patch", "delete", "quote", "urlencode"]

_METHODS = {
    "GET": http.Method_Get,
    "HEAD": http.Method_Head,
    "POST": http.Method_Post,
    "PUT": http.Method_Put,
    "DELETE": http.Method_Delete,
    "CONNECT": http.Method_Connect,
    "OPTIONS": http.Method_Options,
    "TRACE": http.Method_Trace,
    "PATCH": http.Method_Patch,
}

# `blocking-write-and-flush` takes at most 4096 bytes at a time.
_WRITE_CHUNK = 4096
_READ_CHUNK = 64 * 1024


class Response:
    """A whole response: `status`, `headers` (lower-case names, repeated ones
    joined with ", "), `body` (bytes) and the `url` it answered."""

    def __init__(self, url: str, status: int, headers: Dict[str, str], body: bytes):
        self.url = url
        self.status = status
        self.headers = headers
        self.body = body

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON fails the call (fatal)."""
        try:
            return _json.loads(self.body)
        except ValueError as e:
            raise Err(Error_Fatal(f"{self.url} did not answer with JSON: {e}"))

    def raise_for_status(self) -> "Response":
        """Fail the call as the engine understands a failed status: 401 and 403
        are `auth`, 429 is `rate-limited` (after `Retry-After`), 5xx is
        `transient` (retried), any other 4xx is `fatal`. Returns the response
        when its status is below 400."""
        status = self.status
        if status < 400:
            return self
        what = f"{self.url} answered {status}: {self.text()[:200]}"
        if status in (401, 403):
            raise Err(Error_Auth(what))
        if status == 429:
            retry = self.headers.get("retry-after", "")
            raise Err(Error_RateLimited(RateLimit(message=what, retry_after_ms=int(retry) * 1000 if retry.isdigit() else 0)))
        if status >= 500:
            raise Err(Error_Transient(what))
        raise Err(Error_Fatal(what))


def request(method: str, url: str, headers: Optional[Dict[str, str]] = None, body: Any = None) -> Response:
    """Send one request and wait for the whole response. `body` is bytes,
    text, or any other value, which is sent as JSON (with a JSON content-type
    unless `headers` has one). A transport failure fails the call:
    `transient` (retried), or `fatal` when weft refused the request."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Err(Error_InvalidInput(f"{url!r} is not an http:// or https:// URL"))
    fields = {name.lower(): str(value) for name, value in (headers or {}).items()}
    if body is not None and not isinstance(body, (bytes, str)):
        body = _json.dumps(body)
        fields.setdefault("content-type", "application/json")
    data = body.encode() if isinstance(body, str) else (body or b"")
    method = method.upper()
    what = f"{method} {url}"
    try:
        outgoing = http.OutgoingRequest(http.Fields.from_list([(k, v.encode()) for k, v in fields.items()]))
    except Err as e:
        raise Err(Error_InvalidInput(f"{what}: a header is not allowed ({type(e.value).__name__})"))
    try:
        outgoing.set_method(_METHODS[method]() if method in _METHODS else http.Method_Other(method))
        outgoing.set_scheme(http.Scheme_Https() if parts.scheme == "https" else http.Scheme_Http())
        outgoing.set_authority(parts.netloc)
        outgoing.set_path_with_query((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    except Err:
        raise Err(Error_InvalidInput(f"{what}: not a request wasi:http can send"))
    outgoing_body = outgoing.body()
    try:
        future = outgoing_handler.handle(outgoing, None)
    except Err as e:
        raise Err(_transport_error(what, e.value))
    if data:
        with outgoing_body.write() as stream:
            for start in range(0, len(data), _WRITE_CHUNK):
                stream.blocking_write_and_flush(data[start : start + _WRITE_CHUNK])
    http.OutgoingBody.finish(outgoing_body, None)

    with future:
        answer = future.get()
        while answer is None:
            with future.subscribe() as ready:
                ready.block()
            answer = future.get()
    if isinstance(answer, Err) or isinstance(answer.value, Err):
        code = None if isinstance(answer, Err) else answer.value.value
        raise Err(_transport_error(what, code))
    with answer.value.value as response:
        status = response.status()
        received: Dict[str, str] = {}
        with response.headers() as response_headers:
            for name, value in response_headers.entries():
                text = value.decode("utf-8", errors="replace")
                received[name.lower()] = f"{received[name.lower()]}, {text}" if name.lower() in received else text
        chunks = []
        with response.consume() as incoming:
            with incoming.stream() as stream:
                while True:
                    try:
                        chunks.append(stream.blocking_read(_READ_CHUNK))
                    except Err as e:
                        if isinstance(e.value, streams.StreamError_Closed):
                            break
                        raise Err(Error_Transient(f"{what}: reading the response failed"))
    return Response(url, status, received, b"".join(chunks))


def _transport_error(what: str, code: Any) -> Any:
    if isinstance(code, http.ErrorCode_HttpRequestDenied):
        return Error_Fatal(f"{what}: weft refused the request (is its host granted to the connection?)")
    name = type(code).__name__.removeprefix("ErrorCode_") if code is not None else "no response"
    return Error_Transient(f"{what}: {name}")


def get(url: str, headers: Optional[Dict[str, str]] = None) -> Response:
    return request("GET", url, headers)


def post(url: str, body: Any = None, headers: Optional[Dict[str, str]] = None) -> Response:
    return request("POST", url, headers, body)


def put(url: str, body: Any = None, headers: Optional[Dict[str, str]] = None) -> Response:
    return request("PUT", url, headers, body)


def patch(url: str, body: Any = None, headers: Optional[Dict[str, str]] = None) -> Response:
    return request("PATCH", url, headers, body)


def delete(url: str, headers: Optional[Dict[str, str]] = None) -> Response:
    return request("DELETE", url, headers)
