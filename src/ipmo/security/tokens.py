"""Bearer tokens for the API: signed (itsdangerous), time-limited, revocable per user.

A token carries the user id and the user's ``token_generation``; raising the generation revokes
every earlier token. Nothing secret is stored server-side.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "ipmo.api-token"
_ID_MAX = 2**63 - 1  # what an id column holds


class InvalidToken(Exception):
    """The token is malformed, forged, expired or revoked (message safe to return)."""


def issue_token(secret: str, user_id: int, generation: int) -> str:
    return URLSafeTimedSerializer(secret, salt=SALT).dumps({"u": user_id, "g": generation})


def read_token(secret: str, token: str, max_age_seconds: int) -> tuple[int, int]:
    try:
        data = URLSafeTimedSerializer(secret, salt=SALT).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise InvalidToken("token expired") from None
    except BadSignature:
        raise InvalidToken("token invalid") from None
    # A token signed with our key but not in the shape we issue (another salt's payload, an old
    # format, a key shared by mistake) is refused like a forged one, never a 500.
    if not isinstance(data, dict) or set(data) != {"u", "g"}:
        raise InvalidToken("token invalid")
    user_id, generation = data["u"], data["g"]
    for value in (user_id, generation):
        if type(value) is not int or not 0 <= value <= _ID_MAX:
            raise InvalidToken("token invalid")
    return user_id, generation
