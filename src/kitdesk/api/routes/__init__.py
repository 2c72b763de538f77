"""HTTP routes, one module per resource."""

from typing import Annotated

from fastapi import Path

from kitdesk.domain.common import MAX_ID

PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="A 64-bit id.")]
