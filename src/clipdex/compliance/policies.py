"""Compliance policies: the presets that ship, validation, and merging a tenant's edits onto a base.

A policy's ``rules`` hold one entry per check: ``enabled``, ``severity`` (info / warning /
violation) and the check's thresholds. Tenants store complete rules (a preset with their edits
merged in), so a later change to a preset never changes a stored policy version.
"""

from __future__ import annotations

import copy
from typing import Any

from clipdex.errors import PolicyInvalid

SEVERITIES = ("info", "warning", "violation")


# Every check with its defaults; presets override some of them.
BASE: dict[str, dict[str, Any]] = {
    "loudness": {"enabled": True, "severity": "violation", "target_lufs": -23.0, "tolerance_lu": 1.0,
                 "max_true_peak_dbtp": -1.0, "max_lra_lu": None},
    "flashes": {"enabled": True, "severity": "violation", "max_flashes_per_s": 3, "red": True},
    "black": {"enabled": True, "severity": "warning", "min_s": 2.0, "pixel_ratio": 0.98},
    "freeze": {"enabled": True, "severity": "warning", "min_s": 2.0, "max_diff": 0.5},
    "silence": {"enabled": True, "severity": "warning", "min_s": 5.0, "threshold_lufs": -60.0},
    "audio_present": {"enabled": True, "severity": "violation"},
    "language": {"enabled": True, "severity": "violation", "profanity": True, "banned_terms": [],
                 "allowed_terms": [], "on_screen": True},
    "personal_data": {"enabled": True, "severity": "warning", "kinds": ["email", "phone", "card"],
                      "phone_region": "US", "on_screen": True},
    "nudity": {"enabled": True, "severity": "violation", "min_score": 0.8, "min_box_score": 0.5,
               "classes": ["FEMALE_BREAST_EXPOSED", "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED",
                           "ANUS_EXPOSED", "BUTTOCKS_EXPOSED"]},
    "violence_audio": {"enabled": True, "severity": "warning", "tags": ["gunshot", "explosion", "scream"],
                       "min_confidence": 0.3},
    "letterbox": {"enabled": False, "severity": "info", "min_bar_share": 0.08, "min_share_of_video": 0.5},
    "format": {"enabled": True, "severity": "warning", "min_width": None, "min_height": None,
               "frame_rates": [], "codecs": [], "min_duration_s": None, "max_duration_s": None},
    "captions": {"enabled": False, "severity": "warning", "min_coverage": 0.9},
}

CHECK_NAMES = tuple(BASE)


def _over(base: dict, changes: dict) -> dict:
    out = copy.deepcopy(base)
    for check, values in changes.items():
        out[check] = {**out[check], **values}
    return out


PRESETS: dict[str, dict[str, Any]] = {
    "broadcast-eu": {
        "title": "Broadcast (EU): EBU R128, Ofcom/ITU-R BT.1702 flashes",
        "rules": _over(BASE, {
            "loudness": {"target_lufs": -23.0, "tolerance_lu": 0.5, "max_true_peak_dbtp": -1.0},
            "format": {"min_width": 1280, "min_height": 720, "frame_rates": [25.0, 50.0]},
            "captions": {"enabled": True}})},
    "broadcast-us": {
        "title": "Broadcast (US): ATSC A/85",
        "rules": _over(BASE, {
            "loudness": {"target_lufs": -24.0, "tolerance_lu": 2.0, "max_true_peak_dbtp": -2.0},
            "format": {"min_width": 1280, "min_height": 720, "frame_rates": [23.976, 24.0, 29.97, 30.0, 59.94, 60.0]},
            "captions": {"enabled": True}})},
    "streaming": {
        "title": "Streaming: -14 LUFS, -1 dBTP",
        "rules": _over(BASE, {
            "loudness": {"target_lufs": -14.0, "tolerance_lu": 1.0, "max_true_peak_dbtp": -1.0},
            "black": {"min_s": 3.0}, "freeze": {"min_s": 3.0}, "silence": {"min_s": 10.0}})},
    "kids": {
        "title": "Kids: strict language and nudity",
        "rules": _over(BASE, {
            "loudness": {"target_lufs": -23.0, "tolerance_lu": 1.0, "max_true_peak_dbtp": -1.0},
            "language": {"severity": "violation"},
            "personal_data": {"severity": "violation"},
            "nudity": {"min_score": 0.3, "min_box_score": 0.3,
                       "classes": BASE["nudity"]["classes"] + ["FEMALE_BREAST_COVERED", "BUTTOCKS_COVERED",
                                                               "FEMALE_GENITALIA_COVERED", "BELLY_EXPOSED"]},
            "violence_audio": {"severity": "violation", "min_confidence": 0.2}})},
}

_NUMBERS = {"target_lufs", "tolerance_lu", "max_true_peak_dbtp", "max_lra_lu", "min_s", "pixel_ratio", "max_diff",
            "threshold_lufs", "min_score", "min_box_score", "min_confidence", "min_bar_share", "min_share_of_video",
            "min_width", "min_height", "min_duration_s", "max_duration_s", "min_coverage", "max_flashes_per_s"}
_LISTS = {"banned_terms", "allowed_terms", "kinds", "classes", "tags", "frame_rates", "codecs"}
_BOOLS = {"enabled", "red", "profanity", "on_screen"}
MAX_TERMS = 2000


def validate(rules: Any) -> dict:
    """Complete, typed rules; PolicyInvalid names the first bad field."""
    if not isinstance(rules, dict):
        raise PolicyInvalid("rules must be an object with one entry per check.")
    out: dict[str, dict] = {}
    for check, values in rules.items():
        if check not in BASE:
            raise PolicyInvalid(f"Unknown check '{str(check)[:40]}'.", field=f"rules.{str(check)[:40]}")
        if not isinstance(values, dict):
            raise PolicyInvalid(f"rules.{check} must be an object.", field=f"rules.{check}")
        clean = {}
        for key, value in values.items():
            clean[key] = _field(check, key, value)
        out[check] = clean
    return out


def _field(check: str, key: str, value: Any) -> Any:
    where = f"rules.{check}.{key}"
    if key not in BASE[check]:
        raise PolicyInvalid(f"Unknown setting {where}.", field=where)
    if key == "severity":
        if value not in SEVERITIES:
            raise PolicyInvalid(f"{where} must be one of {', '.join(SEVERITIES)}.", field=where)
        return value
    if key == "phone_region":
        if not isinstance(value, str) or not (len(value) == 2 and value.isalpha()):
            raise PolicyInvalid(f"{where} must be a two-letter region code.", field=where)
        return value.upper()
    if key in _BOOLS:
        if not isinstance(value, bool):
            raise PolicyInvalid(f"{where} must be true or false.", field=where)
        return value
    if key in _NUMBERS:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or abs(value) > 1e6:
            raise PolicyInvalid(f"{where} must be a number.", field=where)
        return float(value)
    if key in _LISTS:
        if not isinstance(value, list) or len(value) > MAX_TERMS:
            raise PolicyInvalid(f"{where} must be a list of at most {MAX_TERMS} entries.", field=where)
        if key == "frame_rates":
            if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
                raise PolicyInvalid(f"{where} must hold numbers.", field=where)
            return [float(x) for x in value]
        if not all(isinstance(x, str) and 0 < len(x.strip()) <= 100 for x in value):
            raise PolicyInvalid(f"{where} must hold non-empty strings of at most 100 characters.", field=where)
        return [x.strip() for x in value]
    raise PolicyInvalid(f"Unknown setting {where}.", field=where)


def merged(base_rules: dict, changes: dict | None) -> dict:
    """``base_rules`` with validated ``changes`` applied per check (missing checks get the defaults)."""
    full = _over(BASE, {k: v for k, v in base_rules.items() if k in BASE})
    return _over(full, validate(changes or {}))


def preset(name: str) -> dict | None:
    p = PRESETS.get(name)
    return {"name": name, "title": p["title"], "version": 1, "builtin": True,
            "rules": copy.deepcopy(p["rules"])} if p else None
