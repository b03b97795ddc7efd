"""What a caller may see: every lookup of a tenant's object goes through here.

An object of another tenant is reported exactly as a missing one (404, same message), so a
caller holding another tenant's ids learns nothing from them.
"""

from __future__ import annotations

from litestar.exceptions import PermissionDeniedException

from apps.api.caller import Caller, Role
from apps.api.errors import NotFound
from voxcore_domain.agents import Agent
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Campaign, Tenant
from voxcore_domain.ports import Agents, CampaignStore, Tenants


def own_tenant_id(caller: Caller) -> str:
    """The tenant a `tenant` caller acts for."""
    if caller.tenant_id is None:
        raise PermissionDeniedException("this route needs a tenant's API key")
    return caller.tenant_id


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
