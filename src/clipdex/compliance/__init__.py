"""Compliance: a tenant's policy, the checks that apply it, and the report.

The ``compliance`` analyzer stage measures once (loudness, flashes, black/freeze, nudity scores,
and a copy of the words and on-screen text); every verdict is derived from those stored
measurements and a policy at request time, so another policy or a new version never re-runs media
analysis.
"""
