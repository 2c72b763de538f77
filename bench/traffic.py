"""The requests the benchmark sends, shared by the capture run and the wrk script."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bench.seed import ORDERS_PER_PAGE, DataSet

PATIENT_SLOT = "__PATIENT__"
TAG_SLOT = "__TAG__"
ORDER_PATH = "/api/v3/order"


def order_body(patient: str = PATIENT_SLOT, tag: str = TAG_SLOT) -> str:
    """The Order Management Guide's patient order (4 items and 4 kits, 10 of each)."""
    body = {
        "externalOrderIds": [f"bench-{tag}-{n}" for n in range(4)],
        "patient": {"id": PATIENT_SLOT, "sex": "unknown"},
        "orderItems": [{"item": {"id": i}, "count": 10} for i in (1000, 1001, 1002, 1003)],
        "orderKits": [{"kit": {"id": k}, "count": 10} for k in (1000, 1001, 1002, 1003)],
        "shippingOption": "standard",
    }
    return json.dumps(body).replace(f'"{PATIENT_SLOT}"', patient)


def list_target(page: int) -> str:
    return f"{ORDER_PATH}?page={page}&size={ORDERS_PER_PAGE}"


@dataclass(frozen=True)
class Endpoint:
    """One kind of request: its name in the report, and how wrk is told to make it."""

    name: str
    mode: str  # the wrk script's mode
    low: int  # the range the script draws from (patient ids, order ids, pages)
    high: int


def endpoints(data: DataSet) -> list[Endpoint]:
    """The four kinds of request the benchmark measures."""
    return [
        Endpoint("POST /api/v3/order", "post", *data.patient_ids),
        Endpoint("GET /api/v3/order/{id}", "fetch", *data.order_ids),
        Endpoint(
            f"GET /api/v3/order?page=1..{data.list_pages}&size={ORDERS_PER_PAGE}",
            "list",
            1,
            data.list_pages,
        ),
        Endpoint(
            f"GET /api/v3/order?page={data.deep_page}&size={ORDERS_PER_PAGE}",
            "list",
            data.deep_page,
            data.deep_page,
        ),
    ]
