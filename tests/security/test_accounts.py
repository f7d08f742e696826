"""Accounts against the running platform (OWASP ASVS V2/V3): one throttle for every spelling of an address and
every password check, no parallel bypass, equal time for known and unknown accounts, a back-off that a stranger
cannot aim at someone else's account, client addresses only from trusted proxies, housekeeping."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import aiohttp
import asyncpg
import pytest

from services.launcher import Platform
from shared.settings import CommonSettings
from tests.platform_fixtures import Client

from .conftest import Service, client_from, fresh_address

pytestmark = pytest.mark.security

PASSWORD = "e2e password 1"


async def _register(base: str, session: aiohttp.ClientSession, email: str | None = None) -> str:
    email = email or f"sec-{uuid.uuid4().hex[:10]}@example.org"
    r = await session.post(f"{base}/api/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status == 201, await r.text()
    return email


async def _login(session: aiohttp.ClientSession, base: str, email: str, password: str,
                 headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
    r = await session.post(f"{base}/api/auth/login", json={"email": email, "password": password},
                           headers=headers or {})
    await r.read()
    return r


async def test_every_spelling_of_an_address_shares_one_throttle(platform: Platform) -> None:
    async with client_from(fresh_address()) as session:
        email = await _register(platform.url, session)
        spellings = [f" {email}", f"{email} ", email.upper(), f"\t{email.title()}", f" {email} ", f"{email}\n"]
        statuses = [(await _login(session, platform.url, s, "wrong password!")).status for s in spellings]
        # Five failures are free (RENOVO_AUTH_MAX_FAILURES_PER_ACCOUNT); then the back-off answers, whatever
        # the spelling.
        assert statuses[:5] == [401] * 5, statuses
        assert statuses[5] == 429, statuses
        r = await _login(session, platform.url, f"  {email.upper()}  ", PASSWORD)
        assert r.status == 429 and "Retry-After" in r.headers


async def test_parallel_attempts_cannot_slip_past_the_throttle(platform: Platform) -> None:
    async with client_from(fresh_address()) as session:
        email = await _register(platform.url, session)
        results = await asyncio.gather(*(_login(session, platform.url, email, f"wrong password {i}")
                                         for i in range(20)))
    statuses = sorted(r.status for r in results)
    # Each attempt is charged before its password is checked: no more than the free five reach bcrypt.
    assert statuses.count(401) <= 5, statuses
    assert set(statuses) <= {401, 429}, statuses


async def test_password_change_is_throttled_like_the_login(platform: Platform) -> None:
    async with client_from(fresh_address()) as session:
        user = await Client(session, platform.url).signup()
        statuses = []
        for i in range(7):
            r = await user.request("PATCH", "/api/auth/me",
                                   json={"password": "brand new pass 9", "current_password": f"guess {i}!"})
            statuses.append(r.status)
        assert statuses[:5] == [403] * 5, statuses
        assert 429 in statuses[5:], statuses
        assert int(r.headers["Retry-After"]) >= 1


async def test_known_and_unknown_accounts_answer_in_the_same_time(realistic_auth: Service) -> None:
    """Over repeated attempts, a wrong password for an existing account and any password for a missing one take
    the same time (bcrypt at the configured cost, 10 here, on both paths)."""
    async with client_from(fresh_address()) as session:
        email = await _register(realistic_auth.url, session)
        known: list[float] = []
        unknown: list[float] = []
        for i in range(14):
            for target, sink in ((email, known), (f"nobody-{uuid.uuid4().hex[:8]}@example.org", unknown)):
                started = time.perf_counter()
                r = await _login(session, realistic_auth.url, target, f"wrong password {i}")
                sink.append(time.perf_counter() - started)
                assert r.status == 401
    k, u = statistics.median(known[2:]), statistics.median(unknown[2:])
    print(f"login time, median of 12: known account {k * 1000:.1f} ms, unknown {u * 1000:.1f} ms, "
          f"difference {(k - u) * 1000:+.1f} ms ({(k - u) / k:+.0%} of known)")
    # The old dummy hash (cost 4) answered unknown accounts in a few percent of the known time.
    assert abs(k - u) < 0.3 * k, (known, unknown)


async def test_a_stranger_cannot_lock_the_owner_out(platform: Platform) -> None:
    owner, stranger = fresh_address(), fresh_address()
    async with client_from(owner) as mine, client_from(stranger) as theirs:
        email = await _register(platform.url, mine)
        assert (await _login(mine, platform.url, email, PASSWORD)).status == 200  # the owner's device
        statuses = []
        for i in range(30):
            r = await _login(theirs, platform.url, email, f"guess number {i}")
            statuses.append(r.status)
        assert statuses.count(401) <= 6 and statuses[-1] == 429, statuses
        # A short wait, told plainly, that grows with each failure: not a 15-minute lock.
        wait = int(r.headers["Retry-After"])
        assert 1 <= wait <= 4, wait
        body = await r.json()
        assert body["error"]["code"] == "too_many_attempts" and str(wait) in body["error"]["message"]
        await asyncio.sleep(wait)
        again = await _login(theirs, platform.url, email, "one more guess")
        assert again.status == 401
        after = await _login(theirs, platform.url, email, "and another")
        assert after.status == 429 and int(after.headers["Retry-After"]) > wait
        # Meanwhile the owner logs in from their own device at once.
        r = await _login(mine, platform.url, email, PASSWORD)
        assert r.status == 200, await r.text()


async def test_services_ignore_client_address_headers_from_untrusted_peers(platform: Platform) -> None:
    """Straight to the auth service (not through the gateway): X-Real-IP from a peer that is not a trusted
    proxy does not give each guess a fresh per-address budget."""
    auth = f"http://127.0.0.1:{platform.ports['auth']}"
    statuses = []
    async with client_from(fresh_address()) as session:
        for i in range(24):
            spoofed = {"X-Real-IP": f"203.0.113.{i + 1}", "X-Forwarded-For": f"198.51.100.{i + 1}"}
            r = await _login(session, auth, f"nobody-{uuid.uuid4().hex[:8]}@example.org", "password!", spoofed)
            statuses.append(r.status)
    # Twenty failures are free per address (RENOVO_AUTH_MAX_FAILURES_PER_ADDRESS); the peer's own address counts.
    assert statuses[:20] == [401] * 20 and 429 in statuses[20:], statuses


async def test_expired_tokens_and_old_failures_are_pruned(realistic_auth: Service,
                                                         platform_settings: CommonSettings) -> None:
    async with client_from(fresh_address()) as session:
        email = await _register(realistic_auth.url, session)
    conn = await asyncpg.connect(platform_settings.database_url)
    try:
        user_id = await conn.fetchval("SELECT id FROM auth.users WHERE email = $1", email)
        stale = uuid.uuid4()
        await conn.execute(
            "INSERT INTO auth.refresh_tokens (id, user_id, family_id, token_hash, expires_at) "
            "VALUES ($1, $2, $3, $4, now() - interval '3 days')",
            stale, user_id, uuid.uuid4(), uuid.uuid4().bytes * 2,
        )
        await conn.execute("INSERT INTO auth.login_failures (email, address, at) "
                           "VALUES ($1, '192.0.2.1', now() - interval '40 days')", email)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            token = await conn.fetchval("SELECT count(*) FROM auth.refresh_tokens WHERE id = $1", stale)
            failures = await conn.fetchval(
                "SELECT count(*) FROM auth.login_failures WHERE email = $1 AND at < now() - interval '30 days'",
                email)
            if token == 0 and failures == 0:
                return
            await asyncio.sleep(0.5)
        pytest.fail(f"not pruned: refresh token rows {token}, old failures {failures}")
    finally:
        await conn.close()
