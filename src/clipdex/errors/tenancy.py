"""Tenants, members and invitations."""

from __future__ import annotations

from clipdex.errors.base import BadRequest, Conflict, Forbidden, Invalid


class UnknownTier(Invalid):
    code, title = "tenant.unknown_tier", "Unknown tier"
    hint = "Use one of the tiers the deployment configures."


class SlugTaken(Conflict):
    code, title = "tenant.slug_taken", "Slug taken"
    hint = "Choose another slug."


class TenantSuspended(Forbidden):
    code, title = "tenant.suspended", "Tenant suspended"
    hint = "Ask the platform operator to reinstate the tenant."


class UnknownRole(Invalid):
    code, title = "member.unknown_role", "Unknown role"
    hint = "Use owner, admin, member or viewer."


class OwnerOnly(Forbidden):
    code, title = "member.owner_only", "Owners only"
    hint = "Ask an owner of the tenant to do this."


class LastOwner(Conflict):
    code, title = "member.last_owner", "Last owner"
    hint = "Make another member an owner first."


class InvalidInvitation(BadRequest):
    code, title = "invitation.invalid", "Invitation not valid"
    hint = "Ask for a new invitation; it may have expired or been used."


class InvitationPasswordRequired(BadRequest):
    code, title = "invitation.password_required", "Password required to accept"
    hint = "Send the existing account's password with the invitation token."


class ConfirmMismatch(Invalid):
    code, title = "tenant.confirm_mismatch", "Confirmation does not match"
    hint = "Pass confirm=<the tenant's slug> to delete the tenant."
