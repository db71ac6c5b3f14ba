"""Where the tfserve under test listens (set by scripts/interop.mjs)."""
import os

import pytest


@pytest.fixture(scope="session")
def rest_url() -> str:
    return os.environ["TFSERVE_REST_URL"]


@pytest.fixture(scope="session")
def grpc_target() -> str:
    return os.environ["TFSERVE_GRPC_TARGET"]
