"""Webhook subscriptions and the webhook secret over the API."""

from __future__ import annotations

from tests.conftest import Api, assert_problem
from tests.webhooks.support import SECRET, WEBHOOK, subscribe

URL = "http://127.0.0.1:9/hook"


def test_created_webhook_is_returned_with_its_id(api: Api, key: str) -> None:
    response = api.post(WEBHOOK, key=key, json={"type": "order.status", "url": URL})

    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body == {"id": body["id"], "type": "order.status", "url": URL}
    assert api.get(f"{WEBHOOK}/{body['id']}", key=key).json() == body


def test_documented_types_kitdesk_does_not_produce_can_still_be_subscribed(
    api: Api, key: str
) -> None:
    assert subscribe(api, key, URL, type="reading.bloodPressure")["type"] == "reading.bloodPressure"


def test_unknown_webhook_type_is_refused(api: Api, key: str) -> None:
    response = api.post(WEBHOOK, key=key, json={"type": "order.Status", "url": URL})

    body = assert_problem(
        response, 400, "unknown_webhook_type", "unknown webhook type 'order.Status'"
    )
    assert body["errors"] == [{"field": "type", "message": "unknown webhook type 'order.Status'"}]
    assert api.get(WEBHOOK, key=key).json()["total"] == 0


def test_missing_fields_and_unknown_fields_are_refused_together(api: Api, key: str) -> None:
    response = api.post(WEBHOOK, key=key, json={"secret": "x"})

    body = assert_problem(response, 400, "invalid_request")
    assert [(e["field"], e["message"]) for e in body["errors"]] == [
        ("type", "is required"),
        ("url", "is required"),
        ("secret", "unknown field"),
    ]


def test_same_type_and_url_twice_is_a_conflict(api: Api, key: str) -> None:
    subscribe(api, key, URL)

    response = api.post(WEBHOOK, key=key, json={"type": "order.status", "url": URL})

    assert_problem(
        response,
        409,
        "duplicate_webhook",
        "this account already has a webhook of this type for this url",
    )
    assert subscribe(api, key, URL, type="order.statusFull")["url"] == URL


def test_webhooks_are_listed_in_the_page_envelope(api: Api, key: str) -> None:
    first = subscribe(api, key, URL)
    second = subscribe(api, key, URL + "2", type="patient.created")

    response = api.get(WEBHOOK, key=key, params={"size": 1, "page": 2})

    assert response.status_code == 200
    assert response.json() == {
        "content": [second],
        "page": 2,
        "size": 1,
        "total": 2,
        "first": False,
        "last": True,
    }
    assert api.get(WEBHOOK, key=key).json()["content"] == [first, second]


def test_patch_changes_the_url(api: Api, key: str) -> None:
    hook = subscribe(api, key, URL)

    response = api.patch(
        f"{WEBHOOK}/{hook['id']}", key=key, json={"type": "order.status", "url": URL + "/new"}
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"id": hook["id"], "type": "order.status", "url": URL + "/new"}
    assert api.get(f"{WEBHOOK}/{hook['id']}", key=key).json()["url"] == URL + "/new"


def test_patch_with_the_current_url_is_refused(api: Api, key: str) -> None:
    hook = subscribe(api, key, URL)

    response = api.patch(
        f"{WEBHOOK}/{hook['id']}", key=key, json={"type": "order.status", "url": URL}
    )

    assert_problem(
        response, 400, "webhook_url_unchanged", "the new url is the same as the current url"
    )


def test_deleted_webhook_is_gone_and_can_be_created_again(api: Api, key: str) -> None:
    hook = subscribe(api, key, URL)

    response = api.delete(f"{WEBHOOK}/{hook['id']}", key=key)

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(
        api.get(f"{WEBHOOK}/{hook['id']}", key=key),
        404,
        "not_found",
        f"webhook {hook['id']} not found",
    )
    assert_problem(api.delete(f"{WEBHOOK}/{hook['id']}", key=key), 404, "not_found")
    assert api.get(WEBHOOK, key=key).json()["total"] == 0
    assert subscribe(api, key, URL)["id"] != hook["id"]


def test_another_accounts_webhook_answers_as_unknown(api: Api, key: str, other_key: str) -> None:
    hook = subscribe(api, key, URL)
    path = f"{WEBHOOK}/{hook['id']}"
    message = f"webhook {hook['id']} not found"

    assert_problem(api.get(path, key=other_key), 404, "not_found", message)
    assert_problem(
        api.patch(path, key=other_key, json={"type": "order.status", "url": URL + "x"}),
        404,
        "not_found",
        message,
    )
    assert_problem(api.delete(path, key=other_key), 404, "not_found", message)
    assert_problem(api.post(f"{path}/test", key=other_key), 404, "not_found", message)
    assert api.get(WEBHOOK, key=other_key).json()["total"] == 0
    assert api.get(path, key=key).status_code == 200


def test_webhooks_need_an_api_key(api: Api, key: str) -> None:
    assert_problem(api.get(WEBHOOK), 401, "unauthorized")
    assert_problem(
        api.post(WEBHOOK, json={"type": "order.status", "url": URL}), 401, "unauthorized"
    )


def test_webhook_secret_is_created_once(api: Api, key: str, other_key: str) -> None:
    secret = "s3cret-0123456789-abcdef"

    response = api.post(SECRET, key=key, json={"secret": secret})

    assert response.status_code == 201, response.text
    assert response.json() == {"secret": secret}
    again = api.post(SECRET, key=key, json={"secret": secret + "x"})
    assert_problem(again, 409, "webhook_secret_exists", "this account already has a webhook secret")
    assert api.post(SECRET, key=other_key, json={"secret": secret}).status_code == 201


def test_short_or_unprintable_secrets_are_refused(api: Api, key: str) -> None:
    short = api.post(SECRET, key=key, json={"secret": "too-short"})
    body = assert_problem(short, 400, "invalid_request")
    assert [e["field"] for e in body["errors"]] == ["secret"]

    unprintable = api.post(SECRET, key=key, json={"secret": "0123456789abcdef\n"})
    body = assert_problem(unprintable, 400, "invalid_request")
    assert body["errors"] == [
        {
            "field": "secret",
            "message": "Value error, must be printable ASCII without leading or trailing spaces",
        }
    ]
    assert api.post(SECRET, key=key, json={"secret": "0123456789abcdef"}).status_code == 201
