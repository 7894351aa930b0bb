"""Request ids: the gateway always makes its own; a client's is kept beside it only when it is
a harmless token."""

from uuid import UUID

import pytest
from gateway.api.request_id import accept_client_request_id, new_request_id

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "candidate", ["abcdefgh", "0f8e6d1c-4b7a-4c5e-9d3f-2a1b0c9d8e7f", "A" * 64, "trace-0001"]
)
def test_a_well_formed_client_request_id_is_kept(candidate: str) -> None:
    assert accept_client_request_id(candidate) == candidate


@pytest.mark.parametrize(
    "candidate",
    [
        None,
        "",
        "short",
        "A" * 65,
        "has space1",
        "semi;colon",
        "new\nline-id",
        "abcdefgh\n",
        "ü" * 9,
    ],
)
def test_anything_else_is_dropped(candidate: str | None) -> None:
    assert accept_client_request_id(candidate) is None


def test_the_gateway_request_id_is_a_fresh_uuid_each_time() -> None:
    ids = {new_request_id() for _ in range(100)}

    assert len(ids) == 100
    assert all(UUID(i).version == 4 for i in ids)
