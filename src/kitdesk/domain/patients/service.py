"""Patients: the customer's patient profiles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, SQLColumnExpression, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from kitdesk.db.models import Patient
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.common import (
    ADDRESS_FIELDS,
    Page,
    PageRequest,
    address_patch_errors,
    check_body_id,
    invalid_input,
    make_page,
    merged_address,
    read_address,
    to_camel,
    write_address,
)
from kitdesk.domain.patients.schemas import PatientCreate, PatientPatch, PatientRead, PatientSort
from kitdesk.domain.sites.schemas import SiteSummary
from kitdesk.domain.sites.service import resolve_site
from kitdesk.domain.webhooks.publish import publish
from kitdesk.errors import Conflict, FieldError, Invalid, NotFound, not_found

REQUIRED_ON_PATCH = ("first_name", "last_name", "archived", "enrolled")
# Fields a PATCH copies as given (null clears them); site and address need more care.
PLAIN_ON_PATCH = (
    "first_name",
    "last_name",
    "external_identifier",
    "date_of_birth",
    "email",
    "phone_number",
    "archived",
    "enrolled",
    "sex",
)
# What an update may change, by attribute, named as the API names it (for the audit trail).
AUDITED_FIELDS = {
    "site": "site",
    "external_identifier": "externalIdentifier",
    "first_name": "firstName",
    "last_name": "lastName",
    "date_of_birth": "dateOfBirth",
    "email": "email",
    "phone_number": "phoneNumber",
    "sex": "sex",
    "archived": "archived",
    "enrolled": "enrolled",
    **{f"address_{f}": "address." + to_camel(f) for f in ADDRESS_FIELDS},
}


@dataclass(frozen=True)
class PatientFilters:
    """Filters of the patient list; empty lists and None mean 'any'."""

    ids: list[int] = field(default_factory=list)
    site_ids: list[int] = field(default_factory=list)
    external_identifiers: list[str] = field(default_factory=list)
    email: str | None = None
    name: str | None = None
    archived: bool | None = None
    enrolled: bool | None = None
    date_of_birth_min: date | None = None
    date_of_birth_max: date | None = None
    postal_code: str | None = None
    country: str | None = None


def to_read(patient: Patient) -> PatientRead:
    """The API view of a patient (its site must be loaded)."""
    site = patient.site
    return PatientRead(
        id=patient.id,
        external_identifier=patient.external_identifier,
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        email=patient.email,
        phone_number=patient.phone_number,
        archived=patient.archived,
        enrolled=patient.enrolled,
        sex=patient.sex,
        address=read_address(patient),
        site=SiteSummary(id=site.id, name=site.name, active=site.active) if site else None,
        created_at=patient.created_at,
        updated_at=patient.updated_at,
    )


def _base(account_id: int) -> Select[Patient]:
    return select(Patient).options(joinedload(Patient.site)).where(Patient.account_id == account_id)


async def get_patient(session: AsyncSession, *, account_id: int, patient_id: int) -> Patient:
    """One of the account's patients, or 404."""
    patient = await _load(session, account_id, patient_id)
    audit.record(session, action="patient.read", resource_type="patient", resource_id=patient.id)
    return patient


async def _load(session: AsyncSession, account_id: int, patient_id: int) -> Patient:
    patient = await session.scalar(_base(account_id).where(Patient.id == patient_id))
    if patient is None:
        raise not_found("patient", patient_id)
    return patient


async def resolve_patient(
    session: AsyncSession, *, account_id: int, patient_id: int, field_name: str
) -> Patient:
    """A patient referenced from a request body: unknown or foreign ids are a 400."""
    patient = await session.scalar(_base(account_id).where(Patient.id == patient_id))
    if patient is None:
        raise Invalid(
            code="unknown_patient",
            message=f"patient {patient_id} not found",
            errors=[FieldError(field_name, f"patient {patient_id} not found")],
        )
    return patient


async def get_by_external_identifier(
    session: AsyncSession, *, account_id: int, identifier: str
) -> Patient:
    """The account's patient with this external identifier (there is at most one)."""
    patient = await session.scalar(
        _base(account_id).where(Patient.external_identifier == identifier)
    )
    if patient is None:
        raise not_found("patient with external identifier", repr(identifier))
    audit.record(session, action="patient.read", resource_type="patient", resource_id=patient.id)
    return patient


async def get_by_email(session: AsyncSession, *, account_id: int, email: str) -> Patient:
    """The account's patient with this email (case-insensitive); the oldest one if several."""
    patient = await session.scalar(
        _base(account_id)
        .where(func.lower(Patient.email) == email.lower())
        .order_by(Patient.id)
        .limit(1)
    )
    if patient is None:
        raise NotFound(code="not_found", message="patient with this email not found")
    audit.record(session, action="patient.read", resource_type="patient", resource_id=patient.id)
    return patient


async def create_patient(session: AsyncSession, *, account_id: int, data: PatientCreate) -> Patient:
    """Create a patient for the account."""
    patient = Patient(account_id=account_id)
    await _apply_full(session, patient, data)
    session.add(patient)
    await _flush_unique(session)
    audit.record(session, action="patient.create", resource_type="patient", resource_id=patient.id)
    await _publish(session, patient, "patient.created")
    return patient


async def replace_patient(
    session: AsyncSession, *, account_id: int, patient_id: int, data: PatientCreate
) -> Patient:
    """Overwrite a patient with the given fields (PUT)."""
    patient = await _load(session, account_id, patient_id)
    check_body_id(data.id, patient_id)
    await _apply_full(session, patient, data)
    await _flush_updated(session, patient)
    return patient


async def patch_patient(
    session: AsyncSession, *, account_id: int, patient_id: int, data: PatientPatch
) -> Patient:
    """Change only the fields present in the body (PATCH)."""
    patient = await _load(session, account_id, patient_id)
    check_body_id(data.id, patient_id)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, exclude={"id"})
    errors = [
        FieldError(to_camel(k), "cannot be null")
        for k in REQUIRED_ON_PATCH
        if k in changes and changes[k] is None
    ]
    if "address" in changes:
        errors += address_patch_errors(patient, changes["address"], required=True)
    if errors:
        raise invalid_input(errors)
    if "site" in changes:
        patient.site = await _site_of(session, account_id, data.site.id if data.site else None)
    if "address" in changes:
        write_address(patient, merged_address(patient, changes["address"]))
    for key in PLAIN_ON_PATCH:
        if key in changes:
            setattr(patient, key, changes[key])
    await _flush_updated(session, patient)
    return patient


async def list_patients(
    session: AsyncSession,
    *,
    account_id: int,
    filters: PatientFilters,
    page: PageRequest,
    sort: PatientSort = "patientId",
) -> Page[PatientRead]:
    """One page of the account's patients."""
    query = _filtered(select(Patient).where(Patient.account_id == account_id), filters)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # Names sort without regard to case on every database (SQLite compares bytes by default).
    column: SQLColumnExpression[Any] = {
        "firstName": func.lower(Patient.first_name),
        "lastName": func.lower(Patient.last_name),
        "patientId": Patient.id,
    }[sort]
    order = (
        [column.desc(), Patient.id.desc()]
        if page.sort_descending
        else [column.asc(), Patient.id.asc()]
    )
    rows = (
        await session.scalars(
            query.options(joinedload(Patient.site))
            .order_by(*order)
            .offset(page.offset)
            .limit(page.size)
        )
    ).all()
    audit.record(
        session, action="patient.list", resource_type="patient", resource_ids=[p.id for p in rows]
    )
    return make_page([to_read(p) for p in rows], request=page, total=total)


def _filtered(query: Select[Patient], f: PatientFilters) -> Select[Patient]:
    if f.ids:
        query = query.where(Patient.id.in_(f.ids))
    if f.site_ids:
        query = query.where(Patient.site_id.in_(f.site_ids))
    if f.external_identifiers:
        query = query.where(Patient.external_identifier.in_(f.external_identifiers))
    if f.email is not None:
        query = query.where(func.lower(Patient.email) == f.email.lower())
    if f.name is not None:
        full_name = func.lower(Patient.first_name + " " + Patient.last_name)
        query = query.where(full_name.contains(f.name.lower(), autoescape=True))
    if f.archived is not None:
        query = query.where(Patient.archived == f.archived)
    if f.enrolled is not None:
        query = query.where(Patient.enrolled == f.enrolled)
    if f.date_of_birth_min is not None:
        query = query.where(Patient.date_of_birth >= f.date_of_birth_min)
    if f.date_of_birth_max is not None:
        query = query.where(Patient.date_of_birth <= f.date_of_birth_max)
    if f.postal_code is not None:
        query = query.where(Patient.address_zip_code == f.postal_code)
    if f.country is not None:
        query = query.where(func.lower(Patient.address_country) == f.country.lower())
    return query


async def _apply_full(session: AsyncSession, patient: Patient, data: PatientCreate) -> None:
    patient.site = await _site_of(session, patient.account_id, data.site.id if data.site else None)
    patient.first_name = data.first_name
    patient.last_name = data.last_name
    patient.external_identifier = data.external_identifier
    patient.date_of_birth = data.date_of_birth
    patient.email = data.email
    patient.phone_number = data.phone_number
    patient.archived = data.archived
    patient.enrolled = data.enrolled
    patient.sex = data.sex
    write_address(patient, data.address.model_dump())


async def _site_of(session: AsyncSession, account_id: int, site_id: int | None) -> Any:
    if site_id is None:
        return None
    return await resolve_site(session, account_id=account_id, site_id=site_id, field_name="site.id")


async def _flush_updated(session: AsyncSession, patient: Patient) -> None:
    """Flush an update and audit it, naming the fields whose value changed."""
    changed = audit.changed_fields(patient, AUDITED_FIELDS)
    await _flush_unique(session)
    audit.record(
        session,
        action="patient.update",
        resource_type="patient",
        resource_id=patient.id,
        changed=changed,
    )
    await _publish(session, patient, "patient.updated")


async def _publish(session: AsyncSession, patient: Patient, event_type: str) -> None:
    """Queue the patient's webhook event (the payload is the whole patient: PHI)."""

    async def payload() -> dict[str, Any]:
        return to_read(patient).model_dump(mode="json", by_alias=True)

    await publish(
        session,
        account_id=patient.account_id,
        resource_key=f"patient:{patient.id}",
        payloads={event_type: payload},
    )


async def _flush_unique(session: AsyncSession) -> None:
    """Flush, turning a duplicate external identifier into a 409."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            code="duplicate_external_identifier",
            message="another patient of this account already has this externalIdentifier",
        ) from exc
