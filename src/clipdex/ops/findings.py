"""What a doctor check reports: a verdict (OK, WARN, FAIL), its detail and a one-line fix.

Kept apart from ``doctor`` (which runs the checks) so that check modules such as ``ops.models``
can raise ``Problem`` without importing the runner that imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from clipdex.settings import Settings

OK, WARN, FAIL = "OK", "WARN", "FAIL"


@dataclass
class Finding:
    name: str
    status: str
    detail: str
    hint: str = ""
    elapsed_s: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


class Problem(Exception):
    """A check's verdict other than OK: ``status`` with a one-line fix ``hint``."""

    def __init__(self, detail: str, hint: str, status: str = FAIL) -> None:
        super().__init__(detail)
        self.detail, self.hint, self.status = detail, hint, status


CheckFn = Callable[[Settings], str]  # returns the OK detail, or raises Problem


def healthy(findings: list[Finding]) -> bool:
    return all(f.status != FAIL for f in findings)
