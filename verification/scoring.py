"""From a run's results to a score and a recommendation for the reviewer."""

from verification.checks import BY_NAME
from verification.models import CheckResult, Recommendation
from verification.outcome import Verdict

PENALTY = {Verdict.FAIL: 30, Verdict.ERROR: 5, Verdict.WARN: 10, Verdict.PASS: 0}


def blocking_failures(results: list[CheckResult]) -> list[CheckResult]:
    """Failed checks the customer has to fix before a person looks at the request."""
    return [r for r in results if r.status == Verdict.FAIL and getattr(BY_NAME.get(r.check_name), "blocking", False)]


def score(results: list[CheckResult]) -> int:
    """100 when everything passed; each finding costs points by how bad it is."""
    return max(0, 100 - sum(PENALTY.get(r.status, PENALTY[Verdict.ERROR]) for r in results))


def recommend(results: list[CheckResult]) -> str:
    if blocking_failures(results):
        return Recommendation.FIX
    if all(r.status == Verdict.PASS for r in results):
        return Recommendation.APPROVE
    return Recommendation.REVIEW
