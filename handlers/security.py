"""The bearer scheme: a token of the right shape passes to the handler, which resolves it to its
caller on the request's one connection (framework.py), so a request meets the store once."""

import inspect
import re

from models.access import Principal
from models.errors import Unauthenticated
from models.identity import TOKEN_PREFIX

# What ApiToken.issue makes: the prefix and 32 random bytes in url-safe base64.
TOKEN_SHAPE = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{43}")


class BearerToken(str):
    """A token not yet looked up; the handler's wrapper resolves it to the caller (a Principal,
    kept here too, so the request log knows who called) or answers 401."""

    principal: Principal | None = None

    @property
    def user_id(self) -> int | None:
        return None if self.principal is None else self.principal.user_id

    def __repr__(self) -> str:  # never the secret, in a log or a trace
        return f"BearerToken({self[:12]}…)"


async def token_info(token: str) -> dict[str, BearerToken]:
    """Connexion's x-bearerInfoFunc; `sub` becomes the handlers' `user` argument.

    No store here: a malformed token is refused at once, a well-formed one is looked up with
    the handler's own queries (an unknown or revoked one is 401 there, before the handler runs).
    """
    if not TOKEN_SHAPE.fullmatch(token):
        raise Unauthenticated()
    return {"sub": BearerToken(token)}


# Connexion asks for this function's signature twice per request; inspect answers at once from
# __signature__ (it would otherwise rebuild it each time: a few percent of a dashboard read).
token_info.__signature__ = inspect.signature(token_info)  # type: ignore[attr-defined]
