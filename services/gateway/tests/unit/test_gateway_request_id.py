"""The request id a client may bring: accepted only when it is a harmless token."""

from uuid import UUID

import pytest
from gateway.api.request_id import accept_request_id


@pytest.mark.parametrize(
    "candidate", ["abcdefgh", "0f8e6d1c-4b7a-4c5e-9d3f-2a1b0c9d8e7f", "A" * 64, "trace-0001"]
)
def test_a_well_formed_request_id_is_kept(candidate: str) -> None:
    assert accept_request_id(candidate) == candidate


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
def test_anything_else_is_replaced_by_a_fresh_uuid(candidate: str | None) -> None:
    replaced = accept_request_id(candidate)

    assert replaced != candidate
    assert UUID(replaced).version == 4
