"""HTTP routes, one module per resource."""

from typing import Annotated

from fastapi import Path
from pydantic import Field

from kitdesk.domain.common import MAX_ID

PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="A 64-bit id.")]
# A repeatable id filter (?id=1&id=2), each a 64-bit id.
IdList = list[Annotated[int, Field(ge=1, le=MAX_ID)]]
