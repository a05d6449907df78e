"""``docs/configuration.md``, generated from the Settings class so that it cannot drift from it.

Everything comes from the class, never from an instance: the environment of whoever runs the
generator (a production secret, a developer's bucket) must not end up in the docs. Secrets show no
default at all. ``clipdex docs config`` writes the page; a unit test fails when it is stale.
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path

import annotated_types as at
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from clipdex.settings import CREDENTIAL_URLS, DEFAULT_TIERS, GROUPS, SECRETS, GiB, MiB, Settings, Tier

DOC_PATH = Path("docs") / "configuration.md"
PREFIX = Settings.model_config["env_prefix"]

INTRO = f"""# Configuration

<!-- Generated from src/clipdex/settings.py by `clipdex docs config`; do not edit by hand.
     tests/unit/test_configuration_docs.py fails when this page is stale. -->

clipdex reads one set of settings, from environment variables with the prefix `{PREFIX}` (the field
`data_dir` is `{PREFIX}DATA_DIR`). Every setting has a default that runs on a laptop: SQLite, a local
folder, the embedded worker and models that ship inside PyPI packages. Scaling out changes settings,
never code; `clipdex doctor` checks the result (see [operations.md](operations.md)).

- **Lists** are written `a,b,c` or as a JSON array; **objects** (`dict`) as JSON.
- **Booleans** accept `true`/`false`, `1`/`0`, `yes`/`no`.
- **secret**: a credential. Keep it in a secret store (a Kubernetes `Secret`, not a `ConfigMap`); clipdex
  never logs it and this page never shows its value. **may hold credentials**: a URL that can embed a
  user and password (`scheme://user:pass@host`); treat it as a secret when it does.
- `{PREFIX}ENV=prod` refuses to start with an unsafe configuration: a `SECRET_KEY` shorter than 32
  characters (or none), a `PUBLIC_URL` on plain `http://` other than `127.0.0.1`, or `MEDIA_SANDBOX=off`.
"""


def env_var(name: str) -> str:
    return f"{PREFIX}{name.upper()}"


def type_name(annotation) -> str:
    """A reader's name for a field type: ``int``, ``auto | required | off``, ``list``, ``path (optional)``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return " or ".join(type_name(a) for a in inner) + (" (optional)" if len(inner) < len(args) else "")
    if origin is typing.Literal:
        return " | ".join(str(a) for a in args)
    if origin in (list, tuple):
        return "list"
    if origin is dict:
        return "object (JSON)"
    if annotation in (str, SecretStr):
        return "string"
    if annotation is Path:
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def _limits(field: FieldInfo) -> str:
    signs = {at.Ge: ("≥", "ge"), at.Gt: (">", "gt"), at.Le: ("≤", "le"), at.Lt: ("<", "lt")}
    parts = []
    for meta in field.metadata:
        for kind, (sign, attr) in signs.items():
            if isinstance(meta, kind):
                parts.append(f"{sign} {_number(getattr(meta, attr))}")
    return ", ".join(parts)


def _number(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= MiB:
        unit, size = ("GiB", GiB) if value % GiB == 0 else ("MiB", MiB)
        if value % size == 0:
            return f"{value} ({value // size} {unit})"
    return str(value)


def _default(name: str, field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if name in SECRETS:
        return "(not shown)"
    if name == "tiers":
        return ", ".join(value) + " (below)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (dict, list)):
        return f"`{json.dumps(value, separators=(',', ':'))}`" if value else "empty"
    if isinstance(value, Path):
        return f"`{value.as_posix()}`" if value.is_absolute() else f"`./{value.as_posix()}`"
    return f"`{_number(value)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(name: str, field: FieldInfo) -> str:
    kind = type_name(field.annotation)
    if limits := _limits(field):
        kind += f", {limits}"
    note = (" **secret**" if name in SECRETS else " **may hold credentials**" if name in CREDENTIAL_URLS else "")
    desc = _cell(field.description or "") + note
    return f"| `{env_var(name)}` | {_cell(kind)} | {_default(name, field)} | {desc} |"


def _group(key: str) -> list[str]:
    title, about, names = GROUPS[key]
    fields = Settings.model_fields
    lines = [f"## {title}", "", f"{about[0].upper()}{about[1:]}.", "", "| Variable | Type | Default | Description |",
             "| --- | --- | --- | --- |"]
    return lines + [_row(n, fields[n]) for n in names] + [""]


def _tiers() -> list[str]:
    tiers = list(DEFAULT_TIERS.values())
    lines = ["### Built-in tiers", "",
             f"`{PREFIX}TIERS` replaces all of them with a JSON object of the same shape, e.g. "
             f"`{{\"free\": {{\"name\": \"free\", \"rank\": 0, ...}}}}`; every field without a default is required.",
             "", "| Field | " + " | ".join(t.name for t in tiers) + " | Description |",
             "| --- | " + " | ".join("---:" for _ in tiers) + " | --- |"]
    for name, field in Tier.model_fields.items():
        values = " | ".join(_number(getattr(t, name)) for t in tiers)
        lines.append(f"| `{name}` | {values} | {_cell(field.description or '')} |")
    return lines + [""]


def render() -> str:
    """The whole page, as ``docs/configuration.md`` holds it."""
    out = [INTRO, "## Groups", ""]
    out += [f"- [{title}](#{_anchor(title)}): {about}" for title, about, _ in GROUPS.values()] + [""]
    for key in GROUPS:
        out += _group(key)
        if key == "tiers":
            out += _tiers()
    return "\n".join(out).rstrip("\n") + "\n"


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return "".join(c for c in title.lower() if c.isalnum() or c in " -").replace(" ", "-")


def undocumented(model: type[BaseModel] = Settings) -> list[str]:
    """Fields of ``model`` without a description."""
    return [n for n, f in model.model_fields.items() if not (f.description or "").strip()]
