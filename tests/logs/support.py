"""Canary PHI, the API scenario that carries it through the patient, order and device APIs, and
the search for it in captured logs.

Every canary is a value no log line could contain by chance (no pure digits: request ids are hex).
The scenario is written against a ``send`` function so that it drives the in-process app and a
real server process alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, quote_plus, urlencode

from tests.conftest import TEST_KEYS

FIRST_NAME = "Qzxwyvernia"
LAST_NAME = "Plumtrellis"
BIRTH_DATE = "1911-11-11"
EMAIL = "qzx.canary7f3a@example.com"
PHONE = "+1-202-555-0173"
NEW_PHONE = "+1-303-555-0199"
LINE_ONE = "7f3a Canary Lane"
LINE_TWO = "Apartment Quokka-Nine"
CITY = "Wrenfordshire"
MRN = "MRN-CANARY-7F3A"
# A create that the database refuses with an error quoting these values: an unexpected 500.
DOOMED_FIRST_NAME = "Brimbleworthia"
DOOMED_LAST_NAME = "Explodia"
DOOMED_EMAIL = "explodia.7f3a@example.com"

PHI = [
    FIRST_NAME,
    LAST_NAME,
    BIRTH_DATE,
    EMAIL,
    PHONE,
    NEW_PHONE,
    LINE_ONE,
    LINE_TWO,
    CITY,
    DOOMED_FIRST_NAME,
    DOOMED_EMAIL,
]
SECRETS = [TEST_KEYS.customer, TEST_KEYS.other_customer, TEST_KEYS.operator]

# The database refuses the doomed patient with an error message quoting its name and email.
REFUSING_TRIGGER = {
    "sqlite": [
        f"""CREATE TRIGGER canary_refuses BEFORE INSERT ON patients
        WHEN NEW.last_name = '{DOOMED_LAST_NAME}'
        BEGIN SELECT json_extract('{{}}', NEW.first_name || ' ' || NEW.email); END""",
    ],
    "postgresql": [
        f"""CREATE FUNCTION canary_refuses() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.last_name = '{DOOMED_LAST_NAME}' THEN
                RAISE EXCEPTION 'refusing % %', NEW.first_name, NEW.email;
            END IF;
            RETURN NEW;
        END $$""",
        """CREATE TRIGGER canary_refuses BEFORE INSERT ON patients
        FOR EACH ROW EXECUTE FUNCTION canary_refuses()""",
    ],
}
DROP_REFUSING_TRIGGER = {
    "sqlite": ["DROP TRIGGER IF EXISTS canary_refuses"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS canary_refuses ON patients",
        "DROP FUNCTION IF EXISTS canary_refuses()",
    ],
}


def forms(value: str) -> set[str]:
    """The ways a value could be written into a log line (compared without regard to case)."""
    return {
        form.lower()
        for form in (value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1])
    }


def leaks(texts: Iterable[str], values: Iterable[str] = (*PHI, *SECRETS)) -> list[str]:
    """Every value found, in any of its forms and in any case, in any of the texts."""
    wanted = [(value, form) for value in values for form in forms(value)]
    return sorted({value for text in texts for value, form in wanted if form in text.lower()})


class Response(Protocol):
    status_code: int
    headers: Any
    text: str

    def json(self) -> Any: ...


Send = Callable[..., Response]


@dataclass
class Run:
    """What the scenario sent: each request's id and status."""

    statuses: list[tuple[str, str, int]] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)


def patient() -> dict[str, Any]:
    return {
        "firstName": FIRST_NAME,
        "lastName": LAST_NAME,
        "dateOfBirth": BIRTH_DATE,
        "email": EMAIL,
        "phoneNumber": PHONE,
        "externalIdentifier": MRN,
        "site": {"id": 1234},
        "address": {
            "lineOne": LINE_ONE,
            "city": CITY,
            "state": "OR",
            "zipCode": "97201",
            "country": "US",
        },
    }


class Scenario:
    """Creates, changes, finds and lists a canary patient, orders for it, delivers the order
    (a device goes to the patient), works the device, and makes one request fail with a 500."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.run = Run()

    def call(self, method: str, path: str, status: int, key: str | None = None, **kw: Any) -> Any:
        response = self.send(method, path, key or TEST_KEYS.customer, **kw)
        assert response.status_code == status, (method, path, response.text)
        self.run.statuses.append((method, path, response.status_code))
        self.run.request_ids.append(response.headers["x-request-id"])
        return response.json() if response.text else None

    def everything(self) -> Run:
        patient_id = self.patients()
        device = self.orders(patient_id)
        self.devices(patient_id, device)
        self.failures()
        return self.run

    def patients(self) -> int:
        created = self.call("POST", "/api/v3/patient", 201, json=patient())["id"]
        path = f"/api/v3/patient/{created}"
        self.call("GET", path, 200)
        self.call("GET", f"/api/v3/patient/identifier/{MRN}", 200)
        self.call("POST", "/api/v3/patient/email", 200, json={"email": EMAIL})
        query = {"name": FIRST_NAME, "email": EMAIL, "dateOfBirthMin": BIRTH_DATE}
        self.call("GET", f"/api/v3/patient?{urlencode(query)}", 200)
        self.call("PUT", path, 200, json=patient() | {"phoneNumber": NEW_PHONE})
        self.call("PATCH", path, 200, json={"address": {"lineTwo": LINE_TWO}})
        self.call("GET", path, 404, key=TEST_KEYS.other_customer)
        return int(created)

    def orders(self, patient_id: int) -> int:
        body = {"patient": {"id": patient_id}, "orderItems": [{"item": {"id": 1000}, "count": 1}]}
        order = self.call("POST", "/api/v3/order", 201, json=body)["id"]
        self.call("GET", f"/api/v3/order/{order}", 200)
        self.call("GET", f"/api/v3/order?patientId={patient_id}", 200)
        ops = f"/api/v3/ops/order/{order}/status"
        for status in ("processing", "packed"):
            self.call("POST", ops, 200, key=TEST_KEYS.operator, json={"status": status})
        tracking = [{"carrier": "UPS", "value": "1ZCANARY"}]
        shipped = {"status": "shipped", "trackingNumbers": tracking}
        self.call("POST", ops, 200, key=TEST_KEYS.operator, json=shipped)
        delivered = self.call(
            "POST", ops, 200, key=TEST_KEYS.operator, json={"status": "delivered"}
        )
        return int(delivered["devices"][0]["id"])

    def devices(self, patient_id: int, device: int) -> None:
        self.call("GET", f"/api/v3/device?patientId={patient_id}", 200)
        self.call("GET", f"/api/v3/device/{device}", 200)
        pair = {"deviceId": device, "patientId": patient_id}
        self.call("PATCH", "/api/v3/device/disassociate-patient", 200, json=pair)
        self.call("PATCH", "/api/v3/device/associate-patient", 200, json=pair)
        self.call("PATCH", "/api/v3/device/disable-readings", 200, json={"deviceId": device})

    def failures(self) -> None:
        bad_email = patient() | {"email": f"{FIRST_NAME} at nowhere"}
        self.call("POST", "/api/v3/patient", 400, json=bad_email)
        doomed = patient() | {
            "firstName": DOOMED_FIRST_NAME,
            "lastName": DOOMED_LAST_NAME,
            "email": DOOMED_EMAIL,
            "externalIdentifier": None,
        }
        self.call("POST", "/api/v3/patient", 500, json=doomed)
