"""Responses whose JSON body is already rendered (the order views, built as plain dicts)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from kitdesk.jsontext import render

__all__ = ["RenderedJSON", "render"]


class RenderedJSON(Response):
    """An ``application/json`` response of a JSON-ready value, sent without re-validation.

    A route that returns it keeps its ``response_model`` for the OpenAPI document, but FastAPI
    passes a returned ``Response`` through untouched: the value is written once (``render``;
    datetimes as the response models write them).
    """

    media_type = "application/json"

    def __init__(self, value: Any, status_code: int = 200) -> None:
        super().__init__(content=render(value), status_code=status_code)
