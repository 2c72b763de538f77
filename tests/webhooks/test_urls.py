"""Webhook URLs must be http(s) and reach only public addresses, unless a setting allows more."""

from __future__ import annotations

import ipaddress

import pytest

from kitdesk.domain.webhooks.urls import is_public
from tests.conftest import Api, assert_problem
from tests.webhooks.support import WEBHOOK, subscribe

NON_PUBLIC = "url must not point at a loopback, private, link-local or other non-public address"


@pytest.fixture(autouse=True)
def private_urls_allowed(monkeypatch: pytest.MonkeyPatch) -> bool:
    """Production settings: only public addresses (overrides the package's permissive default)."""
    monkeypatch.setenv("KITDESK_WEBHOOK_ALLOW_PRIVATE_URLS", "false")
    return False


def create(api: Api, key: str, url: str) -> object:
    return api.post(WEBHOOK, key=key, json={"type": "order.status", "url": url})


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1/hook", "127.0.0.1"),
        ("http://127.1.2.3:8080/hook", "127.1.2.3"),
        ("http://[::1]/hook", "::1"),
        ("http://[::ffff:127.0.0.1]/hook", "::ffff:7f00:1"),
        ("https://10.0.0.5/hook", "10.0.0.5"),
        ("http://192.168.1.10/hook", "192.168.1.10"),
        ("http://172.16.0.1/hook", "172.16.0.1"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://100.64.0.1/hook", "100.64.0.1"),
        ("http://0.0.0.0/hook", "0.0.0.0"),
        ("http://[fd00::1]/hook", "fd00::1"),
        ("http://[fe80::1]/hook", "fe80::1"),
        ("http://224.0.0.1/hook", "224.0.0.1"),
    ],
)
def test_non_public_addresses_are_refused(api: Api, key: str, url: str, address: str) -> None:
    message = f"{NON_PUBLIC} ({address})"

    body = assert_problem(create(api, key, url), 400, "invalid_webhook_url", message)

    assert body["errors"] == [{"field": "url", "message": message}]


def test_a_host_name_that_resolves_to_loopback_is_refused(api: Api, key: str) -> None:
    body = assert_problem(
        create(api, key, "http://localhost:8080/hook"), 400, "invalid_webhook_url"
    )

    assert body["message"].startswith(NON_PUBLIC)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "url must start with http:// or https://"),
        ("file:///etc/passwd", "url must start with http:// or https://"),
        ("/relative/path", "url must start with http:// or https://"),
        ("http:///no-host", "url must name a host"),
        ("http://exa mple.com/", "url must be a URL of at most 2000 printable characters"),
        ("http://nonexistent.invalid/hook", "url host nonexistent.invalid does not resolve"),
    ],
)
def test_malformed_or_unresolvable_urls_are_refused(
    api: Api, key: str, url: str, message: str
) -> None:
    assert_problem(create(api, key, url), 400, "invalid_webhook_url", message)


def test_overlong_url_is_refused(api: Api, key: str) -> None:
    body = assert_problem(
        create(api, key, "https://example.com/" + "a" * 2000), 400, "invalid_request"
    )

    assert body["errors"] == [
        {"field": "url", "message": "String should have at most 2000 characters"}
    ]


def test_patch_to_a_private_address_is_refused(api: Api, key: str) -> None:
    hook = subscribe(api, key, "https://93.184.215.14/hook")

    response = api.patch(
        f"{WEBHOOK}/{hook['id']}", key=key, json={"type": "order.status", "url": "http://10.1.1.1/"}
    )

    assert_problem(response, 400, "invalid_webhook_url", f"{NON_PUBLIC} (10.1.1.1)")
    assert api.get(f"{WEBHOOK}/{hook['id']}", key=key).json()["url"] == "https://93.184.215.14/hook"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("::1", False),
        ("2002:7f00:1::", False),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 wrapping 10.0.0.1
        ("ff02::1", False),
        ("240.0.0.1", False),
    ],
)
def test_only_globally_routable_unicast_addresses_count_as_public(
    address: str, public: bool
) -> None:
    assert is_public(ipaddress.ip_address(address)) is public
