"""What a customer does with requests: file one, withdraw it."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, User
from requests_app.check_flow import queue_checks
from requests_app.lifecycle import transition
from requests_app.models import ANSWER_FIELDS, RequestEvent, Status, UnblockRequest
from requests_app.selectors import port25_status


class RequestNotAllowed(Exception):
    """The account may not file a request now; the message says why, for the customer."""


def ensure_can_file(account: Account) -> None:
    status = port25_status(account)
    if status.state == status.OPEN:
        raise RequestNotAllowed(_("Port 25 is already open for this account."))
    if status.open_request is not None:
        raise RequestNotAllowed(_("This account already has an open request; follow it or withdraw it first."))


def submit_request(account: Account, user: User, answers: dict) -> UnblockRequest:
    """File a request from validated answers (see the form and the API serializer)."""
    with transaction.atomic():
        # Serialise filings of one account so two at once cannot both pass the checks.
        Account.objects.select_for_update().get(pk=account.pk)
        ensure_can_file(account)
        try:
            with transaction.atomic():
                request = UnblockRequest.objects.create(
                    account=account,
                    created_by=user,
                    status=Status.SUBMITTED,
                    aup_accepted_at=timezone.now(),
                    **{field: answers[field] for field in ANSWER_FIELDS if field in answers},
                )
        except IntegrityError as exc:
            raise RequestNotAllowed(_("This account already has an open request.")) from exc
        RequestEvent.objects.create(
            request=request, actor=user, to_status=Status.SUBMITTED, message=_("Request submitted.")
        )
        queue_checks(request.pk)
    return request


def withdraw_request(request: UnblockRequest, user: User) -> UnblockRequest:
    return transition(request.pk, Status.WITHDRAWN, actor=user, message=_("Withdrawn by the customer."))
