"""From a run's results to its risk and a recommendation for the reviewer.

Risk is the portal's one scale, 0-100, higher is riskier: 0 when every check passed, and each finding adds
its weight (a failure 30, a warning 10, a check that could not finish 5), at most 100. The reviewer's bands
(requests_app.models.RISK_BANDS) cut the same scale.
"""

from django.utils.translation import gettext_lazy

from verification.checks import BY_NAME
from verification.models import CheckResult, Recommendation
from verification.outcome import Verdict

RISK_EXPLAINED = gettext_lazy(
    "Risk, 0 to 100, higher is riskier: 0 when every check passed; each failure adds 30, each warning 10, "
    "each check that could not finish 5, at most 100."
)
WEIGHT = {Verdict.FAIL: 30, Verdict.ERROR: 5, Verdict.WARN: 10, Verdict.PASS: 0}


def blocking_failures(results: list[CheckResult]) -> list[CheckResult]:
    """Failed checks the customer has to fix before a person looks at the request."""
    return [r for r in results if r.status == Verdict.FAIL and getattr(BY_NAME.get(r.check_name), "blocking", False)]


def risk(results: list[CheckResult]) -> int:
    """0 when everything passed; each finding adds its weight, at most 100. An undecided check weighs as an error."""
    return min(100, sum(WEIGHT.get(r.status, WEIGHT[Verdict.ERROR]) for r in results))


def recommend(results: list[CheckResult]) -> str:
    if blocking_failures(results):
        return Recommendation.FIX
    if all(r.status == Verdict.PASS for r in results):
        return Recommendation.APPROVE
    return Recommendation.REVIEW
