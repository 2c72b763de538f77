"""Device endpoints: the caller's serialized units and their association with patients."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from kitdesk.api.deps import CallerDep, PageDep, SessionDep
from kitdesk.api.problems import error_responses
from kitdesk.api.routes import IdList, PathId
from kitdesk.domain.common import Page
from kitdesk.domain.devices import service
from kitdesk.domain.devices.schemas import (
    AssociateDevice,
    DeviceRead,
    DeviceReference,
    ValidateDeviceRead,
)
from kitdesk.domain.devices.states import DeviceStatus
from kitdesk.domain.devices.views import device_read

router = APIRouter(prefix="/api/v3/device", tags=["devices"])


@router.get("", response_model=Page[DeviceRead], responses=error_responses(400, 401))
async def list_devices(
    session: SessionDep,
    caller: CallerDep,
    paging: PageDep,
    id: Annotated[IdList, Query(description="Only these device ids (repeatable).")] = [],
    current_status: Annotated[
        list[DeviceStatus], Query(alias="currentStatus", description="Only these statuses.")
    ] = [],
    patient_id: Annotated[
        IdList, Query(alias="patientId", description="Only devices with these patients.")
    ] = [],
    site_id: Annotated[
        IdList, Query(alias="siteId", description="Only devices at these sites.")
    ] = [],
    item_id: Annotated[
        IdList, Query(alias="itemId", description="Only units of these items.")
    ] = [],
) -> Page[DeviceRead]:
    """List the account's devices, page by page, by id, with filters."""
    filters = service.DeviceFilters(
        ids=id,
        statuses=current_status,
        patient_ids=patient_id,
        site_ids=site_id,
        item_ids=item_id,
    )
    return await service.list_devices(
        session, account_id=caller.account_id, filters=filters, page=paging
    )


@router.get(
    # ":path" so an identifier may hold an encoded slash (%2F).
    "/validate/{deviceIdentifier:path}",
    response_model=ValidateDeviceRead,
    responses=error_responses(401),
)
async def validate_device(
    deviceIdentifier: str, session: SessionDep, caller: CallerDep
) -> JSONResponse:
    """Whether an identifier (serial number, IMEI...) names one of the account's devices.

    A non-matching identifier is not an error: the answer is `{"valid": false}`.
    """
    result = await service.validate(
        session, account_id=caller.account_id, identifier=deviceIdentifier
    )
    # "device" is absent, not null, when the identifier is not valid.
    return JSONResponse(
        result.model_dump(mode="json", by_alias=True, exclude_none=not result.valid)
    )


@router.patch(
    "/associate-patient",
    response_model=DeviceRead,
    responses=error_responses(400, 401, 404, 409),
)
async def associate_patient(
    body: AssociateDevice, session: SessionDep, caller: CallerDep
) -> DeviceRead:
    """Give a device that is available at one of the account's sites to one of its patients."""
    device = await service.associate(session, account_id=caller.account_id, data=body)
    return device_read(device)


@router.patch(
    "/disassociate-patient",
    response_model=DeviceRead,
    responses=error_responses(400, 401, 404, 409),
)
async def disassociate_patient(
    body: AssociateDevice, session: SessionDep, caller: CallerDep
) -> DeviceRead:
    """Take a device back from the patient it is with; it stays available at its site."""
    device = await service.disassociate(session, account_id=caller.account_id, data=body)
    return device_read(device)


@router.patch(
    "/disable-readings",
    response_model=DeviceRead,
    responses=error_responses(400, 401, 404, 409),
)
async def disable_readings(
    body: DeviceReference, session: SessionDep, caller: CallerDep
) -> DeviceRead:
    """Stop processing the device's readings: they are neither stored nor sent as webhooks."""
    device = await service.set_readings(
        session, account_id=caller.account_id, data=body, disabled=True
    )
    return device_read(device)


@router.patch(
    "/enable-readings",
    response_model=DeviceRead,
    responses=error_responses(400, 401, 404, 409),
)
async def enable_readings(
    body: DeviceReference, session: SessionDep, caller: CallerDep
) -> DeviceRead:
    """Process the device's readings again after they were disabled."""
    device = await service.set_readings(
        session, account_id=caller.account_id, data=body, disabled=False
    )
    return device_read(device)


@router.get("/{deviceId}", response_model=DeviceRead, responses=error_responses(400, 401, 404))
async def get_device(deviceId: PathId, session: SessionDep, caller: CallerDep) -> DeviceRead:
    """Fetch one of the account's devices."""
    device = await service.get_device(session, account_id=caller.account_id, device_id=deviceId)
    return device_read(device)
