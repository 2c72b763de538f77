"""Patient endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kitdesk.api.deps import CallerDep, PageDep, SessionDep
from kitdesk.api.problems import error_responses
from kitdesk.api.routes import IdList, PathId
from kitdesk.domain.common import Day, Page
from kitdesk.domain.patients import service
from kitdesk.domain.patients.schemas import (
    PatientCreate,
    PatientEmailLookup,
    PatientPatch,
    PatientRead,
    PatientSort,
    PatientUpdate,
)

router = APIRouter(prefix="/api/v3/patient", tags=["patients"])


@router.post(
    "", status_code=201, response_model=PatientRead, responses=error_responses(400, 401, 409)
)
async def create_patient(
    body: PatientCreate, session: SessionDep, caller: CallerDep
) -> PatientRead:
    """Create a patient."""
    patient = await service.create_patient(session, account_id=caller.account_id, data=body)
    return service.to_read(patient)


@router.get("", response_model=Page[PatientRead], responses=error_responses(400, 401))
async def list_patients(
    session: SessionDep,
    caller: CallerDep,
    paging: PageDep,
    id: Annotated[IdList, Query(description="Only these patient ids (repeatable).")] = [],
    site_id: Annotated[
        IdList, Query(alias="siteId", description="Only patients of these sites.")
    ] = [],
    external_identifier: Annotated[
        list[str], Query(alias="externalIdentifier", description="Only these external identifiers.")
    ] = [],
    email: Annotated[str | None, Query(description="Exact email, case-insensitive.")] = None,
    name: Annotated[
        str | None, Query(description="Case-insensitive part of 'firstName lastName'.")
    ] = None,
    archived: bool | None = None,
    enrolled: bool | None = None,
    date_of_birth_min: Annotated[
        Day | None, Query(alias="dateOfBirthMin", description="Born on or after (YYYY-MM-DD).")
    ] = None,
    date_of_birth_max: Annotated[
        Day | None, Query(alias="dateOfBirthMax", description="Born on or before (YYYY-MM-DD).")
    ] = None,
    postal_code: Annotated[str | None, Query(alias="postalCode")] = None,
    country: str | None = None,
    sort: PatientSort = "patientId",
) -> Page[PatientRead]:
    """List the account's patients, page by page, with filters."""
    filters = service.PatientFilters(
        ids=id,
        site_ids=site_id,
        external_identifiers=external_identifier,
        email=email,
        name=name,
        archived=archived,
        enrolled=enrolled,
        date_of_birth_min=date_of_birth_min,
        date_of_birth_max=date_of_birth_max,
        postal_code=postal_code,
        country=country,
    )
    return await service.list_patients(
        session, account_id=caller.account_id, filters=filters, page=paging, sort=sort
    )


@router.get(
    # ":path" so an identifier may hold an encoded slash (%2F).
    "/identifier/{identifier:path}",
    response_model=PatientRead,
    responses=error_responses(400, 401, 404),
)
async def get_patient_by_identifier(
    identifier: str, session: SessionDep, caller: CallerDep
) -> PatientRead:
    """Fetch the patient with this external identifier."""
    patient = await service.get_by_external_identifier(
        session, account_id=caller.account_id, identifier=identifier
    )
    return service.to_read(patient)


@router.post("/email", response_model=PatientRead, responses=error_responses(400, 401, 404))
async def get_patient_by_email(
    body: PatientEmailLookup, session: SessionDep, caller: CallerDep
) -> PatientRead:
    """Fetch the patient with this email address (given in the body, never in the URL)."""
    patient = await service.get_by_email(session, account_id=caller.account_id, email=body.email)
    return service.to_read(patient)


@router.get("/{patientId}", response_model=PatientRead, responses=error_responses(400, 401, 404))
async def get_patient(patientId: PathId, session: SessionDep, caller: CallerDep) -> PatientRead:
    """Fetch one patient."""
    patient = await service.get_patient(session, account_id=caller.account_id, patient_id=patientId)
    return service.to_read(patient)


@router.put(
    "/{patientId}", response_model=PatientRead, responses=error_responses(400, 401, 404, 409)
)
async def replace_patient(
    patientId: PathId,
    body: PatientUpdate,
    session: SessionDep,
    caller: CallerDep,
) -> PatientRead:
    """Overwrite a patient: absent optional fields are cleared."""
    patient = await service.replace_patient(
        session, account_id=caller.account_id, patient_id=patientId, data=body
    )
    return service.to_read(patient)


@router.patch(
    "/{patientId}", response_model=PatientRead, responses=error_responses(400, 401, 404, 409)
)
async def patch_patient(
    patientId: PathId,
    body: PatientPatch,
    session: SessionDep,
    caller: CallerDep,
) -> PatientRead:
    """Change only the fields present in the body."""
    patient = await service.patch_patient(
        session, account_id=caller.account_id, patient_id=patientId, data=body
    )
    return service.to_read(patient)
