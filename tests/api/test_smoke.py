from tests.conftest import Api, assert_problem


def test_guide_patient_order_is_created(api: Api, key: str) -> None:
    body = {
        "externalOrderIds": ["xyz_123_0"],
        "patient": {"id": 1234, "sex": "unknown"},
        "orderItems": [{"item": {"id": 1000}, "count": 10}],
        "orderKits": [{"kit": {"id": 1000}, "count": 10}],
        "shippingOption": "standard",
    }
    r = api.post("/api/v3/order", key=key, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["currentStatus"] == "received"


def test_missing_key_is_401(api: Api) -> None:
    assert_problem(api.get("/api/v3/order"), 401, "unauthorized")
