"""Password hashing with bcrypt, off the event loop.

bcrypt reads at most 72 bytes; longer passwords would be silently truncated (bcrypt 5 refuses them). We hash
SHA-256 of the password first, base64-encoded (44 bytes), so every byte of a long password counts.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib

import bcrypt

MIN_LENGTH = 8
MAX_LENGTH = 1024


class WeakPassword(ValueError):
    pass


def check_strength(password: str, email: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"password must have at most {MAX_LENGTH} characters")
    if len(set(password)) < 4:
        raise WeakPassword("password is too simple")
    if email and password.lower() == email.lower():
        raise WeakPassword("password must not be the email address")


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


async def hash_password(password: str, rounds: int) -> str:
    def work() -> str:
        return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()

    return await asyncio.to_thread(work)


async def verify_password(password: str, hashed: str) -> bool:
    def work() -> bool:
        try:
            return bcrypt.checkpw(_prehash(password), hashed.encode())
        except ValueError:
            return False

    return await asyncio.to_thread(work)


@functools.lru_cache(maxsize=4)
def dummy_hash(rounds: int) -> str:
    """A real hash at the configured cost, checked when the account does not exist: both paths take the same
    time, so that the answer's timing does not tell whether an address has an account."""
    return bcrypt.hashpw(b"renovo-no-such-user", bcrypt.gensalt(rounds)).decode()
