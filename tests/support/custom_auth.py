"""A custom auth for the cardinality test: `sk-team-<n>` keys belong to team `team-<n>`.

There is no database here, so this is the only way to have many teams. Copied next
to the proxy's config.yaml and named in `general_settings.custom_auth`.
"""
import os

from fastapi import HTTPException
from litellm.proxy._types import LitellmUserRoles, UserAPIKeyAuth


async def user_api_key_auth(request, api_key: str) -> UserAPIKeyAuth:
    if api_key.startswith("sk-team-"):
        team = "team-" + api_key[len("sk-team-"):]
        return UserAPIKeyAuth(api_key=api_key, team_id=team, team_alias=team)
    if api_key == os.environ["LITELLM_MASTER_KEY"]:
        return UserAPIKeyAuth(api_key=api_key, user_role=LitellmUserRoles.PROXY_ADMIN)
    raise HTTPException(status_code=401, detail="unknown key")
