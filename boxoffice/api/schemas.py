"""Shared building blocks of request and response bodies (each flow declares its own bodies).

The OpenAPI document must say exactly what validation accepts: generated clients and schemathesis rely on it.
So each type here is validated at run time and declares the same rule in its JSON schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# PostgreSQL INTEGER, the type of the count and money columns (and of LIMIT and OFFSET as SQLAlchemy binds them).
INT32_MAX = 2_147_483_647
# One unit price, fee or tip. An order of many seats can still total more than INT32_MAX: refusing that total is
# the checkout's rule, not a field's.
MAX_PRICE_CENTS = 100_000_000
MAX_CAPACITY = 10_000_000

# The characters pydantic strips from a body's strings (Rust's ``str::trim``: the Unicode White_Space property),
# spelled out because ``\s`` means a different set in ECMA-262 (what clients' validators use), Rust and Python.
WHITE_SPACE = r"\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Neither white space nor a control character (NUL, which PostgreSQL text cannot hold, among them).
_VISIBLE = rf"[^@{WHITE_SPACE}\x00-\x1f\x7f\ufeff]"
# The parts of an address that can be written into a mail header as they are (so every address accepted here can
# be sent to): the local part in RFC 5322 atext (ASCII), the domain visible and free of the header's specials.
_LOCAL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOMAIN_ATOM = rf"[^@{WHITE_SPACE}\x00-\x1f\x7f-\x9f\ufeff()<>\[\]:;,.\\\"]+"
# Surrounding white space is allowed: it is stripped before the address is checked.
EMAIL_PATTERN = (
    rf"^[{WHITE_SPACE}]*{_LOCAL_ATOM}(?:\.{_LOCAL_ATOM})*@{_DOMAIN_ATOM}(?:\.{_DOMAIN_ATOM})+[{WHITE_SPACE}]*$"
)
NUL_FREE_PATTERN = r"^[^\x00]*$"
# Not blank once stripped, and NUL-free: what ``min_length=1`` means for a stripped body string.
NAME_PATTERN = rf"^[^\x00]*[^\x00{WHITE_SPACE}][^\x00]*$"


@dataclass(frozen=True)
class JsonPattern:
    """Declares ``pattern`` in the JSON schema for a rule a validator enforces at run time (with a clearer message
    than a regular expression gives)."""

    pattern: str

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


def _nul_free(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (U+0000)")
    return value


def _email(value: str) -> str:
    if not re.fullmatch(EMAIL_PATTERN, value):
        raise ValueError(
            "is not an e-mail address (name@domain.tld: no spaces, control characters, quotes or ()<>[]:;,\\)"
        )
    return value


def _aware(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("must include a UTC offset, e.g. 2027-01-01T19:00:00Z")
    return v


# Any string the API stores or queries by: PostgreSQL text cannot hold NUL, so NUL is refused (422) up front.
Text = Annotated[str, AfterValidator(_nul_free), JsonPattern(NUL_FREE_PATTERN)]
# A body's name-like string: NUL-free and, once stripped, not blank (give it ``min_length=1`` as well).
Name = Annotated[str, AfterValidator(_nul_free), JsonPattern(NAME_PATTERN)]
# An e-mail address: one ``@``, a dot in the domain, and neither white space nor control characters.
Email = Annotated[str, AfterValidator(_email), JsonPattern(EMAIL_PATTERN)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
# A list's offset; SQLAlchemy binds OFFSET as a PostgreSQL INTEGER.
Offset = Annotated[int, Query(ge=0, le=INT32_MAX, description="rows to skip")]


def unique(items: list[Any]) -> list[Any]:
    """For ``AfterValidator``: refuses a list that names an item twice (declare ``uniqueItems`` alongside)."""
    if len(set(items)) != len(items):
        raise ValueError("lists an item twice")
    return items


class Body(BaseModel):
    """A request body: unknown members are refused, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
