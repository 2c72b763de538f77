"""Small helpers shared by the order API tests: request bodies, creating orders, error checks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import Account, Order
from kitdesk.domain import demo
from kitdesk.domain.catalog import service as catalog
from kitdesk.domain.catalog.schemas import ItemRef, KitCreate, KitLineIn
from tests.conftest import Api, assert_problem

ORDERS = "/api/v3/order"


def items(*ids: int, count: int = 1) -> list[dict[str, Any]]:
    """``orderItems`` lines for these item ids."""
    return [{"item": {"id": i}, "count": count} for i in ids]


def kits(*ids: int, count: int = 1) -> list[dict[str, Any]]:
    """``orderKits`` lines for these kit ids."""
    return [{"kit": {"id": k}, "count": count} for k in ids]


def patient_order(patient_id: int = 1234, **fields: Any) -> dict[str, Any]:
    """A valid patient order body (one item 1000 unless content is given)."""
    body: dict[str, Any] = {"patient": {"id": patient_id}}
    if "orderItems" not in fields and "orderKits" not in fields:
        body["orderItems"] = items(1000)
    return {**body, **fields}


def site_order(site_id: int = 1234, **fields: Any) -> dict[str, Any]:
    """A valid site order body (one item 1000 unless content is given)."""
    body: dict[str, Any] = {"site": {"id": site_id}}
    if "orderItems" not in fields and "orderKits" not in fields:
        body["orderItems"] = items(1000)
    return {**body, **fields}


def create(api: Api, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST an order that must be accepted; returns the created order."""
    response = api.post(ORDERS, key=key, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def listed_ids(api: Api, key: str, query: str = "") -> list[int]:
    """The ids on one page of the order list (``query`` without the leading ``?``)."""
    response = api.get(f"{ORDERS}?{query}", key=key)
    assert response.status_code == 200, response.text
    return [order["id"] for order in response.json()["content"]]


def assert_rejected(
    response: Any, code: str, message: str, fields: list[str] | None = None
) -> dict[str, Any]:
    """A 400 with this code and exact message, naming exactly these fields (in order)."""
    body = assert_problem(response, 400, code, message)
    if fields is not None:
        assert [e["field"] for e in body["errors"]] == fields, body["errors"]
    return body


def assert_no_orders(api: Api, key: str) -> None:
    """Nothing was written: the caller's order list is empty."""
    response = api.get(ORDERS, key=key)
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 0
    assert response.json()["content"] == []


def add_loaner_kit(api: Api, *, item_id: int = 1001) -> int:
    """A second loaner kit for the demo customer; returns its id."""

    async def run(session: AsyncSession) -> int:
        account_id = await session.scalar(
            select(Account.id).where(Account.name == demo.DEMO_CUSTOMER)
        )
        assert account_id is not None
        kit = await catalog.create_kit(
            session,
            data=KitCreate(
                name="Loaner weight kit",
                loaner=True,
                account_id=account_id,
                kit_items=[KitLineIn(item=ItemRef(id=item_id), count=1)],
            ),
        )
        return kit.id

    return api.call(run)


def reject(
    api: Api,
    key: str,
    body: dict[str, Any],
    code: str,
    message: str,
    fields: list[str] | None = None,
) -> dict[str, Any]:
    """POST an order that must be refused with this 400, and check that nothing was written."""
    problem = assert_rejected(api.post(ORDERS, key=key, json=body), code, message, fields)
    assert_no_orders(api, key)
    return problem


def new_site(api: Api, key: str, name: str = "Annex") -> int:
    """A further site of the caller's account; returns its id."""
    response = api.post("/api/v3/site", key=key, json={"name": name})
    assert response.status_code == 201, response.text
    site_id: int = response.json()["id"]
    return site_id


def new_patient(api: Api, key: str, last_name: str = "Second") -> int:
    """A further patient of the caller's account; returns its id."""
    address = {"lineOne": "1 Elm St", "city": "Springfield", "state": "IL", "zipCode": "62701"}
    body = {"firstName": "Pat", "lastName": last_name, "address": {**address, "country": "US"}}
    response = api.post("/api/v3/patient", key=key, json=body)
    assert response.status_code == 201, response.text
    patient_id: int = response.json()["id"]
    return patient_id


def set_order_columns(api: Api, order_id: int, **values: Any) -> None:
    """Change stored columns of an order directly (e.g. ``created_at``, ``current_status``)."""

    async def run(session: AsyncSession) -> None:
        await session.execute(update(Order).where(Order.id == order_id).values(**values))

    api.call(run)
