"""What a caller may see: every lookup of a tenant's object goes through here.

An object of another tenant is reported exactly as a missing one (404, same message), so a
caller holding another tenant's ids learns nothing from them.
"""

from __future__ import annotations

from collections.abc import Callable

from litestar.exceptions import PermissionDeniedException

from apps.api.caller import Caller, Role
from apps.api.errors import BadRequest, NotFound
from voxcore_domain.agents import Agent
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Campaign, CampaignState, Tenant
from voxcore_domain.ports import Agents, CampaignStore, Tenants, Trunks
from voxcore_domain.trunks import Trunk

TENANT_HEADER = "X-Vox-Tenant"
"""The header with which the admin key names the one tenant it acts for on a tenant's routes."""


def own_tenant_id(caller: Caller) -> str:
    """The tenant a `tenant` caller acts for, or the admin names in `X-Vox-Tenant`."""
    if caller.tenant_id is not None:
        return caller.tenant_id
    if caller.role is Role.ADMIN:
        raise BadRequest(
            TENANT_HEADER, f"the admin key acts for one tenant here: send {TENANT_HEADER}: <id>"
        )
    raise PermissionDeniedException("this route needs a tenant's API key")


def visible_tenant(tenants: Tenants, caller: Caller, tenant_id: str) -> Tenant:
    """The tenant `tenant_id`, if the caller is the admin or that tenant."""
    if caller.role is not Role.ADMIN and caller.tenant_id != tenant_id:
        raise NotFound("tenant", tenant_id)
    tenant = tenants.get(tenant_id)
    if tenant is None:
        raise NotFound("tenant", tenant_id)
    return tenant


def own_campaign(campaigns: CampaignStore, caller: Caller, campaign_id: str) -> Campaign:
    """The campaign `campaign_id`, if it is the caller's tenant's."""
    campaign = campaigns.get(campaign_id)
    if campaign is None or campaign.tenant_id != own_tenant_id(caller):
        raise NotFound("campaign", campaign_id)
    return campaign


def own_agent(agents: Agents, caller: Caller, agent_id: str) -> Agent:
    """The agent `agent_id`, if it is the caller's tenant's."""
    agent = agents.get(agent_id)
    if agent is None or agent.tenant_id != own_tenant_id(caller):
        raise NotFound("agent", agent_id)
    return agent


def check_own_agent(agents: Agents, caller: Caller, agent_id: str) -> None:
    """A reference to an agent in a body: refused (422 naming `agent_id`) unless it is one of
    the caller's tenant's agents, so a campaign cannot be made to run another tenant's agent,
    or none at all. Another tenant's agent gets the same message as a missing one."""
    agent = agents.get(agent_id)
    if agent is None or agent.tenant_id != own_tenant_id(caller):
        raise ValidationError("agent_id", f"no agent {agent_id!r}")


def own_trunk(trunks: Trunks, caller: Caller, trunk_id: str) -> Trunk:
    """The trunk `trunk_id`, if it is the caller's tenant's."""
    trunk = trunks.get(trunk_id)
    if trunk is None or trunk.tenant_id != own_tenant_id(caller):
        raise NotFound("trunk", trunk_id)
    return trunk


def check_campaign_trunk(trunks: Trunks, caller: Caller, trunk_id: str, caller_id: str) -> None:
    """A campaign's trunk and caller id: refused (422 naming `trunk_id`) unless the trunk is one
    of the caller's tenant's and enabled, and (422 naming `caller_id`) unless the trunk may
    present the caller id. Another tenant's trunk gets the same message as a missing one."""
    trunk = trunks.get(trunk_id)
    if trunk is None or trunk.tenant_id != own_tenant_id(caller):
        raise ValidationError("trunk_id", f"no trunk {trunk_id!r}")
    if not trunk.enabled:
        raise ValidationError("trunk_id", f"trunk {trunk_id!r} is disabled")
    if not trunk.allows_caller_id(caller_id):
        raise ValidationError(
            "caller_id",
            f"trunk {trunk_id!r} may present only {', '.join(trunk.caller_ids)}, not {caller_id}",
        )


def campaigns_using(
    campaigns: CampaignStore, tenant_id: str, uses: Callable[[Campaign], bool]
) -> list[str]:
    """The ids of the tenant's campaigns, but completed ones, for which `uses` holds: what keeps
    an agent or a trunk from being deleted (a completed campaign never dials again)."""
    return [
        c.id
        for c in campaigns.of_tenant(tenant_id)
        if c.state is not CampaignState.COMPLETED and uses(c)
    ]
