"""What a caller may see: every lookup of a tenant's object goes through here.

An object of another tenant is reported exactly as a missing one (404, same message), so a
caller holding another tenant's ids learns nothing from them.
"""

from __future__ import annotations

from litestar.exceptions import PermissionDeniedException

from apps.api.caller import Caller, Role
from apps.api.errors import NotFound
from voxcore_domain.model import Campaign, Tenant
from voxcore_domain.ports import CampaignStore, Tenants


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
