"""A custom auth for the cardinality and signals tests: `sk-team-<n>` keys belong to team `team-<n>`;
`sk-budget` carries team, key, user and end-user budgets (BUDGETS); `sk-alias-<name>` is a key with alias `<name>`
whose user's id is an e-mail address (`<name>@example.com`: attribution must never show it).

There is no database here, so this is the only way to have many teams. Copied next
to the proxy's config.yaml and named in `general_settings.custom_auth`.
"""

import os
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException
from litellm.proxy._types import LitellmUserRoles, UserAPIKeyAuth

# spend as of before the request; the key resets in 5 h (its reset time is in every request's metadata)
BUDGETS = dict(
    key_alias="batch-jobs",
    max_budget=10.0,
    spend=2.5,
    team_id="team-b",
    team_alias="budgeted",
    team_max_budget=100.0,
    team_spend=40.0,
    user_id="user-1",
    user_max_budget=50.0,
    user_spend=5.0,
    end_user_id="customer-1",
    end_user_max_budget=3.0,
)
KEY_RESET_HOURS = 5
# fixed per process, as a real key's reset time is until its reset (a moving one would read as resets)
KEY_RESET_AT = (datetime.now(UTC) + timedelta(hours=KEY_RESET_HOURS)).replace(minute=0, second=0, microsecond=0)


async def user_api_key_auth(request, api_key: str) -> UserAPIKeyAuth:
    if api_key == "sk-budget":
        return UserAPIKeyAuth(api_key=api_key, budget_reset_at=KEY_RESET_AT, **BUDGETS)
    if api_key.startswith("sk-alias-"):
        name = api_key[len("sk-alias-") :]
        return UserAPIKeyAuth(api_key=api_key, key_alias=name, user_id=f"{name}@example.com")
    if api_key.startswith("sk-team-"):
        team = "team-" + api_key[len("sk-team-") :]
        return UserAPIKeyAuth(api_key=api_key, team_id=team, team_alias=team)
    if api_key == os.environ["LITELLM_MASTER_KEY"]:
        return UserAPIKeyAuth(api_key=api_key, user_role=LitellmUserRoles.PROXY_ADMIN)
    raise HTTPException(status_code=401, detail="unknown key")
