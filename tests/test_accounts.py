"""The accounts' services on SQLite and PostgreSQL: users and roles, passwords (argon2id), the
last admin, API tokens (only their SHA-256 kept), the audit log and its pages, shared settings,
the first-run setup token, and sign-in throttled from the audit log."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts_helpers import PASSWORD, TESTER, MovingClock, accounts_over
from printserver.accounts import (Accounts, Actor, AuditFilter, BadNameError, BadRoleError,
                                  LastAdminError, NameTakenError, Outcome, Role, SetupError,
                                  SignInError, SignInThrottled, UnknownTokenError,
                                  UnknownUserError, WeakPasswordError)
from printserver.accounts.schema import api_tokens, settings, users
from printserver.config import WebConfig
from printserver.errors import ParameterError


@pytest.fixture
def clock():
    return MovingClock()


@pytest.fixture
def accounts(job_store, clock):
    return accounts_over(job_store, clock)


def _actions(accounts: Accounts, **where) -> list[tuple[str, str, str, str]]:
    page = accounts.audit.page(AuditFilter(**where), limit=500)
    return [(r.user, r.action, r.target, r.outcome.value) for r in reversed(page.records)]


# -- users --------------------------------------------------------------------------------------

def test_users_are_added_listed_and_found_by_name(accounts):
    alice = accounts.users.add("alice", "admin", PASSWORD, TESTER)
    accounts.users.add("bob", Role.VIEWER, PASSWORD, TESTER)
    assert (alice.name, alice.role, alice.disabled) == ("alice", Role.ADMIN, False)
    assert [(u.name, u.role) for u in accounts.users.list()] == [("alice", Role.ADMIN),
                                                                 ("bob", Role.VIEWER)]
    assert accounts.users.get("bob").to_dict() == {
        "name": "bob", "role": "viewer", "created_at": "2026-03-02T09:00:00.000+00:00",
        "updated_at": "2026-03-02T09:00:00.000+00:00", "disabled": False}
    assert accounts.users.find("carol") is None
    with pytest.raises(UnknownUserError, match="no user named 'carol'"):
        accounts.users.get("carol")
    assert accounts.users.count() == 2
    assert _actions(accounts) == [("tester", "user.add", "alice", "success"),
                                  ("tester", "user.add", "bob", "success")]


def test_names_roles_and_passwords_are_checked_naming_the_field(accounts):
    accounts.users.add("alice", "admin", PASSWORD, TESTER)
    with pytest.raises(NameTakenError, match="exists already"):
        accounts.users.add("alice", "viewer", PASSWORD, TESTER)
    for name in ("", " ", "-x", "a b", "x" * 65, "é", "a/b"):
        with pytest.raises(BadNameError) as bad:
            accounts.users.add(name, "viewer", PASSWORD, TESTER)
        assert bad.value.parameter == "name"
    with pytest.raises(BadRoleError, match="'root' is not one of admin, qa, viewer"):
        accounts.users.add("bob", "root", PASSWORD, TESTER)
    for password, rule in (("", "required"), ("short", "at least 10"), ("x" * 1025, "at most"),
                           ("aaaaaaaaaaaa", "repeated"), ("bobbybobby", "name")):
        with pytest.raises(WeakPasswordError, match=rule) as weak:
            accounts.users.add("bobbybobby", "viewer", password, TESTER)
        assert weak.value.parameter == "password" and (not password or password not in str(weak.value))
    assert [u.name for u in accounts.users.list()] == ["alice"]


def test_passwords_are_argon2id_hashes_and_authenticate(accounts, job_store):
    accounts.users.add("alice", "qa", PASSWORD, TESTER)
    with job_store.db.read("test") as connection:
        stored = connection.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.users.authenticate("alice", PASSWORD).role is Role.QA
    assert accounts.users.authenticate("alice", PASSWORD + "x") is None
    assert accounts.users.authenticate("nobody", PASSWORD) is None
    accounts.users.set_disabled("alice", True, TESTER)
    assert accounts.users.authenticate("alice", PASSWORD) is None


def test_a_new_password_changes_the_credential_stamp(accounts):
    before = accounts.users.add("alice", "viewer", PASSWORD, TESTER).credential_stamp
    after = accounts.users.set_password("alice", "another long password", TESTER)
    assert after.credential_stamp != before and len(after.credential_stamp) == 16
    assert accounts.users.authenticate("alice", PASSWORD) is None
    assert accounts.users.authenticate("alice", "another long password") is not None
    assert ("tester", "user.password", "alice", "success") in _actions(accounts)


def test_the_last_admin_cannot_be_removed_demoted_or_disabled(accounts):
    accounts.users.add("alice", "admin", PASSWORD, TESTER)
    accounts.users.add("bob", "viewer", PASSWORD, TESTER)
    for change in (lambda: accounts.users.remove("alice", TESTER),
                   lambda: accounts.users.set_role("alice", "qa", TESTER),
                   lambda: accounts.users.set_disabled("alice", True, TESTER)):
        with pytest.raises(LastAdminError, match="alice is the last admin"):
            change()
    accounts.users.set_role("bob", "admin", TESTER)
    accounts.users.set_role("alice", "qa", TESTER)  # bob is admin now
    with pytest.raises(LastAdminError):
        accounts.users.remove("bob", TESTER)
    accounts.users.remove("alice", TESTER)
    assert [(u.name, u.role) for u in accounts.users.list()] == [("bob", Role.ADMIN)]
    assert ("tester", "user.role", "alice", "success") in _actions(accounts)
    with pytest.raises(UnknownUserError):
        accounts.users.remove("alice", TESTER)


def test_two_admins_removing_each_other_at_once_leave_one(accounts):
    accounts.users.add("alice", "admin", PASSWORD, TESTER)
    accounts.users.add("bob", "admin", PASSWORD, TESTER)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def remove(name: str, by: str) -> None:
        start.wait(10)
        try:
            accounts.users.remove(name, Actor(by))
            outcomes[name] = "removed"
        except LastAdminError:
            outcomes[name] = "refused"

    threads = [threading.Thread(target=remove, args=a) for a in (("alice", "bob"), ("bob", "alice"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes.values()) == ["refused", "removed"]
    assert len(accounts.users.list()) == 1


# -- API tokens ---------------------------------------------------------------------------------

def test_a_token_is_shown_once_and_only_its_sha256_is_kept(accounts, job_store, clock):
    accounts.users.add("alice", "viewer", PASSWORD, TESTER)
    issued = accounts.tokens.issue("alice", TESTER, label="monitoring")
    assert len(issued.secret) >= 43 and issued.secret not in repr(issued)
    with job_store.db.read("test") as connection:
        row = connection.execute(select(api_tokens)).one()
    assert row.token_sha256 == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in str(tuple(row))
    user, token_id = accounts.tokens.authenticate(issued.secret)
    assert (user.name, user.role, token_id) == ("alice", Role.VIEWER, issued.token.token_id)
    assert accounts.tokens.list("alice")[0].last_used_at == "2026-03-02T09:00:00.000+00:00"
    assert accounts.tokens.authenticate(issued.secret[:-1] + "A") is None
    assert accounts.tokens.authenticate("") is None
    assert ("tester", "token.create", "alice", "success") in _actions(accounts)


def test_revoked_tokens_and_tokens_of_disabled_or_removed_users_do_not_work(accounts):
    accounts.users.add("admin", "admin", PASSWORD, TESTER)
    accounts.users.add("alice", "viewer", PASSWORD, TESTER)
    one, two, three = (accounts.tokens.issue("alice", TESTER) for _ in range(3))
    revoked = accounts.tokens.revoke(one.token.token_id, TESTER)
    assert revoked.revoked and accounts.tokens.authenticate(one.secret) is None
    assert accounts.tokens.authenticate(two.secret) is not None
    with pytest.raises(UnknownTokenError):
        accounts.tokens.revoke("nope", TESTER)
    with pytest.raises(UnknownTokenError):
        accounts.tokens.revoke(two.token.token_id, TESTER, user="admin")
    accounts.users.set_disabled("alice", True, TESTER)
    assert accounts.tokens.authenticate(two.secret) is None
    accounts.users.set_disabled("alice", False, TESTER)
    assert accounts.tokens.revoke_all("alice", TESTER) == 2
    assert accounts.tokens.authenticate(three.secret) is None
    four = accounts.tokens.issue("alice", TESTER)
    accounts.users.remove("alice", TESTER)
    assert accounts.tokens.authenticate(four.secret) is None
    assert accounts.tokens.list("alice") == []
    with pytest.raises(UnknownUserError):
        accounts.tokens.issue("alice", TESTER)


# -- the audit log ------------------------------------------------------------------------------

def test_audit_pages_are_newest_first_filtered_and_keyset_paginated(accounts, clock):
    for n in range(7):
        accounts.audit.record(Actor(f"u{n % 2}", f"10.0.0.{n % 3}"), "job.cancel", f"J{n}",
                              detail="x" * 5000 if n == 0 else "")
        clock.advance(minutes=1)
    accounts.audit.record("u0", "film.download", "J9", Outcome.DENIED, address="10.0.0.9")
    first = accounts.audit.page(limit=3)
    assert [r.target for r in first.records] == ["J9", "J6", "J5"]
    second = accounts.audit.page(limit=3, cursor=first.next_cursor)
    third = accounts.audit.page(limit=3, cursor=second.next_cursor)
    assert [r.target for r in second.records + third.records] == ["J4", "J3", "J2", "J1", "J0"]
    assert third.next_cursor is None
    assert len(third.records[-1].detail) == 2000  # cut, not refused
    assert [r.target for r in accounts.audit.page(AuditFilter(user="u1")).records] == ["J5", "J3", "J1"]
    assert [r.target for r in accounts.audit.page(AuditFilter(address="10.0.0.2")).records] == ["J5", "J2"]
    assert [r.target for r in accounts.audit.page(AuditFilter(action="film.download")).records] == ["J9"]
    assert accounts.audit.page(AuditFilter(outcome="denied")).records[0].to_dict()["outcome"] == "denied"
    start = clock.now - timedelta(minutes=5)
    window = AuditFilter(since=start, until=start + timedelta(minutes=2))
    assert [r.target for r in accounts.audit.page(window).records] == ["J3", "J2"]
    with pytest.raises(ParameterError, match="cursor"):
        accounts.audit.page(cursor="bm90IGEgY3Vyc29y")
    with pytest.raises(ParameterError, match="limit"):
        accounts.audit.page(limit=0)
    with pytest.raises(ParameterError, match="time zone"):
        accounts.audit.page(AuditFilter(since=start.replace(tzinfo=None)))


# -- settings -----------------------------------------------------------------------------------

def test_the_secret_key_is_made_once_and_shared_by_every_node(job_store):
    first = accounts_over(job_store).settings.secret_key()
    other_node = accounts_over(job_store)
    assert other_node.settings.secret_key() == first and len(first) == 64
    other_node.settings.put("x", "1")
    other_node.settings.put("x", "2")
    assert accounts_over(job_store).settings.get("x") == "2"


# -- first-run setup ----------------------------------------------------------------------------

def test_a_setup_token_creates_the_first_admin_once(accounts, job_store, clock):
    assert accounts.setup.needed()
    token, expires = accounts.setup.issue()
    assert expires == clock.now + timedelta(hours=24)
    with job_store.db.read("test") as connection:
        kept = connection.execute(select(settings.c.key, settings.c.value)).all()
    assert token not in str(kept)  # only its hash
    with pytest.raises(WeakPasswordError):  # a mistake in the form leaves the token usable
        accounts.setup.consume(token, "root", "short", "10.1.1.1")
    admin = accounts.setup.consume(token, "root", PASSWORD, "10.1.1.1")
    assert admin.role is Role.ADMIN and not accounts.setup.needed()
    with pytest.raises(SetupError, match="not valid"):
        accounts.setup.consume(token, "root2", PASSWORD, "10.1.1.1")
    assert _actions(accounts, action="setup") == [("root", "setup", "root", "success"),
                                                  ("root2", "setup", "root2", "failure")]
    assert accounts.audit.page(AuditFilter(action="setup")).records[1].address == "10.1.1.1"


def test_setup_tokens_expire_and_any_node_s_token_works_once(accounts, clock):
    old, _ = accounts.setup.issue()
    clock.advance(hours=25)
    with pytest.raises(SetupError, match="expired"):
        accounts.setup.consume(old, "root", PASSWORD)
    node1, _ = accounts.setup.issue()  # the expired one is dropped
    node2, _ = accounts.setup.issue()
    with pytest.raises(SetupError, match="not valid"):
        accounts.setup.consume("wrong", "root", PASSWORD)
    accounts.setup.consume(node2, "root", PASSWORD)
    with pytest.raises(SetupError, match="not valid"):
        accounts.setup.consume(node1, "other", PASSWORD)
    assert [u.name for u in accounts.users.list()] == ["root"]


def test_setup_is_refused_once_a_user_exists(accounts):
    token, _ = accounts.setup.issue()
    accounts.users.add("alice", "admin", PASSWORD, TESTER)  # e.g. printserver users add
    with pytest.raises(SetupError, match="exists already"):
        accounts.setup.consume(token, "root", PASSWORD)


# -- sign-in ------------------------------------------------------------------------------------

def test_sign_in_is_audited_and_says_nothing_about_the_name(accounts):
    accounts.users.add("alice", "qa", PASSWORD, TESTER)
    assert accounts.signin.sign_in("alice", PASSWORD, "10.0.0.1").name == "alice"
    with pytest.raises(SignInError) as wrong_password:
        accounts.signin.sign_in("alice", "wrong password", "10.0.0.1")
    with pytest.raises(SignInError) as unknown:
        accounts.signin.sign_in("mallory", PASSWORD, "10.0.0.1")
    assert str(wrong_password.value) == str(unknown.value) == "wrong user name or password"
    accounts.signin.sign_out("alice", "10.0.0.1", "signed out")
    assert _actions(accounts, address="10.0.0.1") == [
        ("alice", "sign-in", "alice", "success"), ("alice", "sign-in", "alice", "failure"),
        ("mallory", "sign-in", "mallory", "failure"), ("alice", "sign-out", "alice", "success")]


def test_sign_in_is_throttled_per_name_until_failures_age_out(job_store, clock):
    accounts = accounts_over(job_store, clock, WebConfig(signin_max_failures_per_name=3,
                                                         signin_window_minutes=15))
    accounts.users.add("alice", "viewer", PASSWORD, TESTER)
    for n in range(3):
        with pytest.raises(SignInError) as failed:
            accounts.signin.sign_in("alice", "wrong", f"10.0.0.{n}")
        assert not isinstance(failed.value, SignInThrottled)
        clock.advance(minutes=2)
    # 3 failures at 0, 2, 4 minutes; now 6: the first leaves the window at 15 → 9 minutes
    with pytest.raises(SignInThrottled, match="try again in 9 minutes") as throttled:
        accounts.signin.sign_in("alice", PASSWORD, "10.0.0.9")  # even the right password
    assert throttled.value.retry_after == 9 * 60
    with pytest.raises(SignInError) as other_name:  # another name from there: not throttled
        accounts.signin.sign_in("bob", "wrong", "10.0.0.9")
    assert not isinstance(other_name.value, SignInThrottled)
    clock.advance(minutes=8, seconds=30)
    with pytest.raises(SignInThrottled, match="try again in 1 minute$"):
        accounts.signin.sign_in("alice", PASSWORD, "10.0.0.9")
    clock.advance(seconds=30)  # denied attempts were not counted
    assert accounts.signin.sign_in("alice", PASSWORD, "10.0.0.9").name == "alice"
    assert [o for *_, o in _actions(accounts, user="alice")][-3:] == ["denied", "denied", "success"]


def test_sign_in_is_throttled_per_address(job_store, clock):
    accounts = accounts_over(job_store, clock, WebConfig(signin_max_failures_per_address=4))
    accounts.users.add("alice", "viewer", PASSWORD, TESTER)
    for n in range(4):
        with pytest.raises(SignInError):
            accounts.signin.sign_in(f"guess{n}", "wrong", "192.0.2.7")
    with pytest.raises(SignInThrottled, match="15 minutes"):
        accounts.signin.sign_in("alice", PASSWORD, "192.0.2.7")
    assert accounts.signin.sign_in("alice", PASSWORD, "192.0.2.8").name == "alice"
