"""{{name}}: a weft transform in Python — JSON in, JSON out, nothing else —
built into a component by `weft plugin build` (componentize-py). Test it
with `weft plugin test` (tests/).

componentize-py binds weft's `transform` world (wit/plugin.wit): the class
`WitWorld` implements `transform`, which takes the input as JSON text and
returns the output as JSON text; `wit_world.imports.log` logs and
`wit_world.imports.types` holds the errors. Raise
`Err(types.Error_InvalidInput("…"))` when the input does not fit (or
`Error_Fatal`); any other exception is a bug: the call fails as trapped, and
weft shows its traceback.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import log, types


class WitWorld(wit_world.WitWorld):
    def transform(self, input: str) -> str:
        document = json.loads(input)
        name = document.get("name") if isinstance(document, dict) else None
        if not isinstance(name, str):
            raise Err(types.Error_InvalidInput('the input needs a text field "name"'))
        log.log(log.Level.DEBUG, f"greeting {name}")
        return json.dumps({"greeting": f"Hello, {name}!"})
