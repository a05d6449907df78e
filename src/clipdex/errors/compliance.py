"""Compliance policies and reports."""

from __future__ import annotations

from clipdex.errors.base import Conflict, Invalid, Missing, StillProcessing


class NotAnalyzed(StillProcessing):
    code, title = "compliance.not_analyzed", "Compliance not measured"
    hint = "Wait for the compliance stage, or reprocess the video with compliance enabled."


class UnknownPolicy(Missing):
    code, title = "compliance.policy_not_found", "No such compliance policy"
    hint = "Use a policy name (and version) that GET /api/v1/compliance/policies lists."


class PolicyInvalid(Invalid):
    code, title = "compliance.policy_invalid", "Invalid compliance policy"
    hint = "Fix the rule named in `field`; see docs/compliance.md for each check's settings."


class PolicyExists(Conflict):
    code, title = "compliance.policy_exists", "Policy exists"
    hint = "Update the existing policy instead of creating it again."
