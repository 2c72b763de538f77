"""Status names are data in one place: no other module spells an order, device or return status."""

from __future__ import annotations

import ast
from pathlib import Path

from kitdesk.domain.devices.states import DeviceEventType, DeviceStatus
from kitdesk.domain.orders.lifecycle import Status
from kitdesk.domain.returns.states import ReturnStatus

SRC = Path(__file__).resolve().parents[2] / "src" / "kitdesk"
HOMES = {
    SRC / "domain" / "orders" / "lifecycle.py",
    SRC / "domain" / "devices" / "states.py",
    SRC / "domain" / "returns" / "states.py",
}
NAMES = (
    {s.value for s in Status}
    | {s.value for s in DeviceStatus}
    | {s.value for s in DeviceEventType}
    | {s.value for s in ReturnStatus}
)


def _spelled_names(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in NAMES
        and id(node) not in docstrings
    ]


def test_no_module_outside_the_state_tables_spells_a_status_name() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{line}: {value!r}"
        for path in sorted(SRC.rglob("*.py"))
        if path not in HOMES and "migrations" not in path.parts
        for line, value in _spelled_names(path)
    ]
    assert offenders == []


def test_the_check_finds_a_spelled_status(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('STATUS = "delivered"\n', encoding="utf-8")
    assert _spelled_names(sample) == [(1, "delivered")]
