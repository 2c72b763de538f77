"""What the OpenAPI document says about paths and parameters, for the checks that enforce it.

The document is the contract clients read, so the ``Allow`` header of a 405 and the refusal of a
repeated single-valued query parameter are derived from it rather than from routing internals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_TEMPLATE_PARAM = re.compile(r"\{[^}/]+\}")


@dataclass(frozen=True)
class DocumentedPath:
    """One path of the document: its methods and, per method, its single-valued query names."""

    template: str
    regex: re.Pattern[str]
    single_valued: dict[str, frozenset[str]]

    @property
    def literal(self) -> bool:
        return "{" not in self.template

    @property
    def methods(self) -> frozenset[str]:
        return frozenset(self.single_valued)


def documented_paths(app: Any) -> list[DocumentedPath]:
    """Every path of ``app``'s OpenAPI document (computed once per app)."""
    known: list[DocumentedPath] | None = getattr(app.state, "documented_paths", None)
    if known is None:
        known = [
            DocumentedPath(
                template=template,
                regex=re.compile(_to_regex(template)),
                single_valued={
                    method.upper(): _single_valued(operation)
                    for method, operation in operations.items()
                },
            )
            for template, operations in app.openapi().get("paths", {}).items()
        ]
        app.state.documented_paths = known
    return known


def allowed_methods(app: Any, path: str) -> list[str]:
    """The methods the document lists for ``path``; a literal path (``/patient/email``) wins over
    templates that would also match it (``/patient/{patientId}``)."""
    matches = [p for p in documented_paths(app) if p.regex.fullmatch(path)]
    literal = [p for p in matches if p.literal]
    return sorted(set().union(*(p.methods for p in literal or matches)))


def literal_path(app: Any, path: str) -> DocumentedPath | None:
    """The documented path spelled exactly ``path``, without parameters, if there is one."""
    # Asked on every request (the request guard): a dictionary, built once per app.
    literal: dict[str, DocumentedPath] | None = getattr(app.state, "literal_paths", None)
    if literal is None:
        literal = {p.template: p for p in documented_paths(app) if p.literal}
        app.state.literal_paths = literal
    return literal.get(path)


def single_valued_query(app: Any, method: str, template: str) -> frozenset[str]:
    """The query parameters of one operation that the document declares single-valued."""
    for documented in documented_paths(app):
        if documented.template == template:
            return documented.single_valued.get(method, frozenset())
    return frozenset()


def _to_regex(template: str) -> str:
    parts = _TEMPLATE_PARAM.split(template)
    return "[^/]+".join(re.escape(part) for part in parts)


def _single_valued(operation: dict[str, Any]) -> frozenset[str]:
    return frozenset(
        p["name"]
        for p in operation.get("parameters", [])
        if p.get("in") == "query" and not _is_array(p.get("schema", {}))
    )


def _is_array(schema: dict[str, Any]) -> bool:
    options = [schema, *schema.get("anyOf", [])]
    return any(option.get("type") == "array" for option in options)
