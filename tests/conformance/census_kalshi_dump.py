"""Dump kalshi-python-sync's field sets as JSON (run under .venv-kalshi's Python 3.13).

Prints `{"version", "models": {name: {"fields": [alias...], "refs": {alias: model}}},
"endpoints": {"METHOD /path": {status: model | null}}}`. The models are the SDK's own
pydantic classes; the endpoint map is read from each generated API method's
`_response_types_map` next to its `resource_path`. Nothing of ours is imported here:
this file runs in the venue's environment, not in ours.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
import typing
from importlib import metadata
from pathlib import Path

import kalshi_python_sync
import kalshi_python_sync.models as models
from pydantic import BaseModel

_STATUS = re.compile(r"'(\d{3})': (\"(\w+)\"|None)")
_METHOD = re.compile(r"method='(\w+)',\s*resource_path='([^']+)'")
_DEF = re.compile(r"\n    def (_\w+_serialize|\w+)\(")


def _nested(annotation: object) -> str | None:
    """The SDK model named by a field's annotation, looking through Optional and List."""
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation.__name__
    for arg in typing.get_args(annotation):
        found = _nested(arg)
        if found:
            return found
    return None


def model_fields() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for name, cls in vars(models).items():
        if not (inspect.isclass(cls) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        fields: list[str] = []
        refs: dict[str, str] = {}
        for attr, info in cls.model_fields.items():
            alias = info.alias or attr
            fields.append(alias)
            ref = _nested(info.annotation)
            if ref:
                refs[alias] = ref
        out[name] = {"fields": sorted(fields), "refs": refs}
    return out


def endpoints() -> dict[str, dict[str, str | None]]:
    """(METHOD path) -> status -> response model, from the generated API modules' source."""
    out: dict[str, dict[str, str | None]] = {}
    api_dir = Path(kalshi_python_sync.__file__).parent / "api"
    for path in sorted(api_dir.glob("*_api.py")):
        text = path.read_text()
        chunks = _DEF.split(text)
        # chunks: [head, name1, body1, name2, body2, ...]; a public method's statuses come
        # before its `_serialize` helper, which holds the method and path.
        statuses: dict[str, str | None] = {}
        for name, body in zip(chunks[1::2], chunks[2::2]):
            if name.endswith("_serialize"):
                found = _METHOD.search(body)
                if found and statuses:
                    out[f"{found.group(1)} {found.group(2)}"] = statuses
                statuses = {}
            elif not name.endswith(("_with_http_info", "_without_preload_content")):
                statuses = {code: model for code, _, model in _STATUS.findall(body)}
                statuses = {k: (v or None) for k, v in statuses.items()}
    return out


def main() -> None:
    json.dump({"version": metadata.version("kalshi-python-sync"), "models": model_fields(),
               "endpoints": endpoints()}, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
