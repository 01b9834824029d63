"""A weft transform written in Python, built with componentize-py.

Input: {"title": "..."}; output: {"slug": "...", "words": N, "language": "python"}.
A missing or non-text title is the user's mistake: `invalid-input`.
"""

import json
import re

import wit_world
from componentize_py_types import Err
from wit_world.imports import log, types


class WitWorld(wit_world.WitWorld):
    def transform(self, input: str) -> str:
        document = json.loads(input)
        title = document.get("title") if isinstance(document, dict) else None
        if not isinstance(title, str):
            raise Err(types.Error_InvalidInput("the input needs a text field \"title\""))
        words = re.findall(r"[a-z0-9]+", title.lower())
        log.log(log.Level.INFO, f"slugified {len(words)} words")
        return json.dumps({"slug": "-".join(words), "words": len(words), "language": "python"})
