"""Systems and their API keys: roles under the same rules as people, keys that rotate, and key
texts that are made, recognised and checked without ever storing the secret."""

from datetime import UTC, datetime

import pytest
from gateway.adapters.api_keys import StoredKey, hash_key, key_matches, new_api_key
from gateway.domain.api_keys import MAX_ACTIVE_KEYS, System, key_id_in
from gateway.domain.events import EVENTS, ApiKeyIssued, ApiKeyRevoked
from gateway.domain.roles import Office, SegregationOfDutiesViolated
from shared_kernel.codec import EventCodec
from shared_kernel.errors import Conflict, DomainError, NotFound

pytestmark = pytest.mark.unit

NOON = datetime(2026, 11, 27, 12, tzinfo=UTC)


def trading() -> System:
    system = System.register("trading-system", "Trading", frozenset({"trader"}))
    system.mark_saved()
    return system


def test_a_system_holds_roles_and_an_office_like_an_operator() -> None:
    assert trading().office is Office.FRONT
    assert System.register("monitoring", "Nagios", frozenset({"it-support"})).office is Office.BACK
    with pytest.raises(SegregationOfDutiesViolated):
        System.register("both", "Both", frozenset({"trader", "accountant"}))


def test_a_system_may_not_be_an_administrator() -> None:
    with pytest.raises(DomainError) as refused:
        System.register("robot", "Robot", frozenset({"admin"}))
    assert refused.value.code == "AdminRoleForSystem"


def test_keys_rotate_old_and_new_both_work_until_the_old_is_revoked() -> None:
    system = trading()
    system.issue_key("00000000000000aa", NOON)
    system.issue_key("00000000000000bb", NOON)

    assert system.accepts("00000000000000aa") and system.accepts("00000000000000bb")
    system.revoke_key("00000000000000aa", NOON)
    system.revoke_key("00000000000000aa", NOON)  # again: nothing more happens

    assert not system.accepts("00000000000000aa") and system.accepts("00000000000000bb")
    assert system.pending_events() == [
        ApiKeyIssued("trading-system", "00000000000000aa", NOON),
        ApiKeyIssued("trading-system", "00000000000000bb", NOON),
        ApiKeyRevoked("trading-system", "00000000000000aa", NOON),
    ]


def test_key_events_name_the_key_but_carry_no_secret() -> None:
    encoded = EventCodec(EVENTS).encode(ApiKeyIssued("trading-system", "00000000000000aa", NOON))

    assert set(encoded) == {"system", "key_id", "issued_at"}


def test_revoking_an_unknown_key_is_not_found_and_active_keys_are_bounded() -> None:
    system = trading()
    with pytest.raises(NotFound):
        system.revoke_key("00000000000000aa", NOON)
    for n in range(MAX_ACTIVE_KEYS):
        system.issue_key(f"{n:016x}", NOON)
    with pytest.raises(Conflict) as refused:
        system.issue_key("00000000000000ff", NOON)
    assert refused.value.code == "TooManyApiKeys"


def test_a_new_key_is_recognised_and_only_its_exact_text_matches_its_hash() -> None:
    key = new_api_key()
    stored = StoredKey("trading-system", key.key_hash)

    assert key.text.startswith(f"bo_{key.key_id}_")
    assert key_id_in(key.text) == key.key_id
    assert key.text.split("_", 2)[2] not in key.key_hash and key.key_hash == hash_key(key.text)
    assert key_matches(key.text, stored)
    assert not key_matches(key.text[:-1] + ("A" if key.text[-1] != "A" else "B"), stored)
    assert key.text not in repr(key)
    assert new_api_key().key_id != key.key_id


@pytest.mark.parametrize(
    "text",
    ["", "bo_", "bo_0123456789abcdef_short", "xx_0123456789abcdef_" + "a" * 43, "bo_" + "a" * 80],
)
def test_malformed_key_texts_are_not_recognised(text: str) -> None:
    assert key_id_in(text) is None
