"""A request's timeline as its customer reads it (page and API): what happened, never which staff log-in did it.

Staff's own timeline (the admin) keeps the actors and the messages as written, "Assigned to
rita@provider.example." included; a customer reads "A reviewer is looking at your request."
"""

from django.utils.translation import gettext as _

from requests_app.models import RequestEvent, UnblockRequest

RELEASED = "Released."  # review.assign's message when nobody has the request any more


def customer_message(event: RequestEvent) -> str:
    if event.kind == RequestEvent.Kind.ASSIGNMENT:
        return "" if event.message == RELEASED else _("A reviewer is looking at your request.")
    if event.kind == RequestEvent.Kind.NOTE:
        return ""  # staff's own notes, e.g. why a superuser approved without a verification
    return event.message


def customer_timeline(request: UnblockRequest) -> list[RequestEvent]:
    """The events (not saved back) with their customer-facing message; a release and staff notes are left out.

    The decision's reason is shown once, above the timeline, not again on the decision's line.
    """
    events = []
    for event in request.events.all():
        message = customer_message(event)
        if event.kind in (RequestEvent.Kind.ASSIGNMENT, RequestEvent.Kind.NOTE) and not message:
            continue
        if event.to_status and message and message == request.decision_reason:
            message = ""
        event.message = message
        events.append(event)
    return events
