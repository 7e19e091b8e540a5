"""The automated checks as a step of a request's life: start them, run them, route the request after.

The checks themselves live in `verification`, which knows nothing of requests;
this module translates a request into what they look at and their verdict into
a status change (always through `lifecycle.transition`).
"""

import logging
from datetime import timedelta

from celery import signature
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from kombu.exceptions import OperationalError

from accounts.models import User
from egress.selectors import desired_egress
from requests_app.auto_decision import auto_decide
from requests_app.lifecycle import IllegalTransition, transition
from requests_app.models import Status, UnblockRequest, UseCase
from verification import pipeline, services
from verification.checks import applicable, check_label
from verification.models import CheckRun, ResultStatus
from verification.outcome import CheckSubject
from verification.scoring import blocking_failures
from verification.selectors import account_facts, latest_run, run_progress

logger = logging.getLogger(__name__)
# requests_app.tasks imports this module, so it queues the checks' task by name.
RUN_CHECKS = "requests_app.tasks.run_request_checks"

RERUN_FROM = (Status.AWAITING_REVIEW, Status.NEEDS_INFO)


class RerunNotAllowed(Exception):
    """The customer may not re-run the checks now; the message says why."""


def subject_key(request_id: int) -> str:
    return f"unblock_request:{request_id}"


def subject_for(request: UnblockRequest) -> CheckSubject:
    rejections = (
        UnblockRequest.objects.filter(account=request.account, status=Status.REJECTED).exclude(pk=request.pk).count()
    )
    return CheckSubject(
        mail_server_ip=request.mail_server_ip,
        mail_server_hostname=request.mail_server_hostname,
        sending_domain=request.sending_domain,
        website_url=request.company_website,
        unsubscribe_url=request.unsubscribe_url,
        email_template=request.email_template,
        company_name=request.company_name,
        marketing=request.use_case == UseCase.MARKETING,
        account=account_facts(
            request.account,
            earlier_rejections=rejections,
            revoked_for_abuse=desired_egress(request.account).revoked_for_abuse,
        ),
    )


def check_progress(request: UnblockRequest) -> dict:
    """What the customer's page shows of the checks, and polls while they run."""
    return {
        "status": request.status,
        "status_label": str(request.get_status_display()),
        "can_rerun": rerun_refusal(request, by_staff=False) is None,
        "run": run_progress(latest_run(subject_key(request.pk))),
        # While the customer waits out the interval: when they may re-run (empty otherwise).
        "rerun_wait": (rerun_refusal(request, by_staff=False) or "") if request.status in RERUN_FROM else "",
    }


def queue_checks(request_id: int) -> None:
    """Hand the request to a worker once the current transaction has committed.

    A broker that is down must not fail the customer's submission: the sweep
    queues requests that made no progress again (see stuck_requests).
    """

    def send() -> None:
        try:
            signature(RUN_CHECKS).delay(request_id)
        except (OSError, OperationalError) as exc:
            logger.warning("could not queue the checks of request #%s (%s); the sweep will", request_id, exc)

    transaction.on_commit(send)


def start_checks(request: UnblockRequest, trigger: str, by: User | None) -> CheckRun:
    """Move the request to `checking` and create its run, both or neither."""
    with transaction.atomic():
        transition(
            request.pk, Status.CHECKING, actor=by, message=_("Automated checks started."), expected_from=request.status
        )
        return _new_run(request, trigger, by)


def _new_run(request: UnblockRequest, trigger: str, by: User | None) -> CheckRun:
    return services.create_run(
        subject_key(request.pk), request.account, applicable(subject_for(request)), trigger=trigger, by=by
    )


def rerun_refusal(request: UnblockRequest, *, by_staff: bool) -> str | None:
    """Why the checks cannot be re-run now, or None: the rule rerun_checks applies and the pages ask first.

    A customer waits PORTAL_CHECK_RERUN_INTERVAL after the last run; staff need not.
    """
    if request.status not in RERUN_FROM:
        return _("The checks can be re-run once they have finished, while the request is open.")
    last = None if by_staff else latest_run(subject_key(request.pk))
    wait_until = last.created_at + timedelta(seconds=settings.PORTAL_CHECK_RERUN_INTERVAL) if last else None
    if wait_until and wait_until > timezone.now():
        minutes = max(1, round((wait_until - timezone.now()).total_seconds() / 60))
        return ngettext(
            "The checks ran a moment ago; you can re-run them in %(minutes)d minute.",
            "The checks ran a moment ago; you can re-run them in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
    return None


def rerun_checks(request: UnblockRequest, user: User, *, by_staff: bool = False) -> CheckRun:
    """Run the checks again: the customer fixed something (at most once per interval), or staff ask."""
    refusal = rerun_refusal(request, by_staff=by_staff)
    if refusal:
        raise RerunNotAllowed(refusal)
    try:
        with transaction.atomic():
            run = start_checks(request, CheckRun.Trigger.RERUN, user)
            queue_checks(request.pk)
    except IllegalTransition as exc:
        raise RerunNotAllowed(_("The request changed meanwhile; reload the page.")) from exc
    return run


def process(request_id: int) -> None:
    """The task's body: safe to run twice, and after a worker died half-way through."""
    request = UnblockRequest.objects.filter(pk=request_id).select_related("account").first()
    if request is None:
        return
    if request.status == Status.SUBMITTED:
        try:
            start_checks(request, CheckRun.Trigger.SUBMITTED, None)
        except IllegalTransition:
            logger.info("request #%s moved on before its checks started", request_id)
        request.refresh_from_db()
    if request.status != Status.CHECKING:
        return
    # None when something else moved the request to `checking`: it gets a run all the same.
    run = latest_run(subject_key(request_id)) or _new_run(request, CheckRun.Trigger.SUBMITTED, None)
    if not run.is_finished:
        if services.begin_attempt(run) > settings.PORTAL_CHECK_MAX_ATTEMPTS:
            services.give_up_undecided(run)
        else:
            pipeline.execute(run, subject_for(request))
    finish(run, request_id)


def finish(run: CheckRun, request_id: int) -> None:
    """Score the run and queue the request for review; a request withdrawn meanwhile stays withdrawn.

    Hard failures (e.g. an open relay) also go to the queue, with what to fix in the
    timeline and on the page: `needs_info` is the reviewer's question to the customer.
    """
    with transaction.atomic():
        services.finish_run(run)
        results = list(run.results.all())  # fresh: finish_run reloaded the run
        failures = blocking_failures(results)
        UnblockRequest.objects.filter(pk=request_id).update(
            risk_score=run.risk,
            check_summary=summarise_checks(results),
            check_failures=sum(r.status == ResultStatus.FAIL for r in results),
        )
        # The checks' own sentences are on the page beside the timeline: name them, do not repeat them.
        values = {"risk": run.risk, "problems": ", ".join(str(check_label(f.check_name)) for f in failures)}
        if failures:
            message = _(
                "Automated checks finished (risk %(risk)s of 100, higher is riskier) and found something to fix: "
                "%(problems)s. Fix it and re-run the checks; a reviewer will look at the request."
            )
        else:
            message = _(
                "Automated checks finished (risk %(risk)s of 100, higher is riskier); "
                "a reviewer will look at the request."
            )
        try:
            transition(
                request_id, Status.AWAITING_REVIEW, actor=None, message=message % values, expected_from=Status.CHECKING
            )
        except IllegalTransition:
            logger.info("request #%s left `checking` during its checks; not routed", request_id)
            return
        auto_decide(request_id, run)


def summarise_checks(results: list) -> str:
    """The queue's summary of a run, in the words of the request page: what did not pass, and how many did."""
    passed = sum(r.status == ResultStatus.PASS for r in results)
    findings = [
        f"{check_label(r.check_name)}: {ResultStatus(r.status).label}" for r in results if r.status != ResultStatus.PASS
    ]
    return " · ".join([*findings, _("%(n)d ok") % {"n": passed}])[:200]


def stuck_requests() -> list[int]:
    """Requests whose checks show no progress for PORTAL_CHECK_STUCK_AFTER: lost message or dead worker."""
    cutoff = timezone.now() - timedelta(seconds=settings.PORTAL_CHECK_STUCK_AFTER)
    stale = UnblockRequest.objects.filter(status__in=(Status.SUBMITTED, Status.CHECKING), updated_at__lt=cutoff)
    stuck = []
    for request_id, status in stale.values_list("pk", "status"):
        run = latest_run(subject_key(request_id)) if status == Status.CHECKING else None
        if run is None or run.is_finished or run.updated_at < cutoff:
            stuck.append(request_id)
    return stuck
