"""The bearer scheme: resolve a token to its caller off the event loop."""

from starlette.concurrency import run_in_threadpool

from models.access import principal_for_token
from models.db import connected


def _lookup(token):
    with connected():
        return principal_for_token(token)


async def token_info(token):
    """Connexion's x-bearerInfoFunc; `sub` becomes the handlers' `user` argument."""
    return {"sub": await run_in_threadpool(_lookup, token)}
