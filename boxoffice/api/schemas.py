"""Shared building blocks of request and response bodies (each flow declares its own bodies)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _aware(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("must include a UTC offset, e.g. 2027-01-01T19:00:00Z")
    return v


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Body(BaseModel):
    """A request body: unknown members are refused, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
