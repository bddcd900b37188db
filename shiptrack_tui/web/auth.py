"""Bearer tokens (issue #13): writes always need the token; reads (the API and /metrics) need it
unless `[http] public_api = true`. The comparison takes constant time; the token is never logged
nor echoed. Routers declare it as a dependency: `dependencies=[Depends(require_write)]`."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shiptrack_tui.web.context import Ctx, WebContext

bearer = HTTPBearer(auto_error=False, description="The token from [http] token_file or SHIPTRACK_HTTP_TOKEN")
CHALLENGE = {"WWW-Authenticate": "Bearer"}
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _check(ctx: WebContext, credentials: HTTPAuthorizationCredentials | None, what: str) -> None:
    if ctx.token is None:
        raise HTTPException(403, f"{what} need a token and none is configured; set [http] token_file or "
                                 "SHIPTRACK_HTTP_TOKEN and restart")
    if credentials is None:
        raise HTTPException(401, f"{what} need the header Authorization: Bearer <token>", headers=CHALLENGE)
    if not hmac.compare_digest(credentials.credentials.encode(), ctx.token.encode()):
        raise HTTPException(401, "the bearer token is not the configured one", headers=CHALLENGE)


def require_read(ctx: Ctx, credentials: Credentials) -> None:
    if not ctx.public_api:
        _check(ctx, credentials, "reads")


def require_write(ctx: Ctx, credentials: Credentials) -> None:
    _check(ctx, credentials, "writes")
