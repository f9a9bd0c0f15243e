"""Bearer tokens for the API: signed (itsdangerous), time-limited, revocable per user.

A token carries the user id and the user's ``token_generation``; raising the generation revokes
every earlier token. Nothing secret is stored server-side.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "ipmo.api-token"


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
    return int(data["u"]), int(data["g"])
