"""A signing key and a payload it signed, shared by the tests of one module."""

from __future__ import annotations

import pytest

from boxoffice.ticketing.keys import SigningKey, generate_signing_key
from tests.ticketing.samples import signed


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key()


@pytest.fixture(scope="module")
def payload(key: SigningKey) -> str:
    return signed(key)
