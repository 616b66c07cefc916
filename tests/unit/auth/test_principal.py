"""A principal's tenant: whose cache entries, sessions, limits and log rows a request's are."""

from __future__ import annotations

from api_server.auth.principal import ADMIN, ANONYMOUS, Principal


def test_a_key_is_its_own_tenant() -> None:
    assert Principal(name="ci", key_id="k1").tenant == "key:k1"
    assert Principal(name="ci", key_id="k1").tenant != Principal(name="ci", key_id="k2").tenant


def test_jwt_subjects_are_tenants_apart_by_subject_and_by_issuer() -> None:
    def subject(sub: str, iss: str) -> Principal:
        return Principal(name=sub, claims={"sub": sub, "iss": iss})

    alice, bob = subject("alice", "https://idp.one"), subject("bob", "https://idp.one")
    other_alice = subject("alice", "https://idp.two")
    tenants = {alice.tenant, bob.tenant, other_alice.tenant}
    assert None not in tenants and len(tenants) == 3
    assert alice.tenant == subject("alice", "https://idp.one").tenant
    assert all(t is not None and t.startswith("jwt:") for t in tenants)


def test_anonymous_callers_have_no_tenant() -> None:
    assert ANONYMOUS.tenant is None


def test_the_admin_is_a_tenant_of_its_own() -> None:
    assert ADMIN.tenant == "admin"
    callers = [
        ADMIN,
        ANONYMOUS,
        Principal(name="admin", key_id="admin"),
        Principal(name="admin", claims={"sub": "admin"}),
    ]
    assert len({caller.tenant for caller in callers}) == len(callers)
