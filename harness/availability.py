"""Skip a tier whose service is missing, or fail it when CI says services are required."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_SERVICES = os.environ.get("FOLIO_REQUIRE_SERVICES") == "1"
DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"


def unavailable(reason: str) -> None:
    """Skip with the reason printed; under FOLIO_REQUIRE_SERVICES=1 (CI) a missing service is a failure."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def require_executable(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (apt-get install {name})")
    return path
