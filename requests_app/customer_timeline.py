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
    return event.message


def customer_timeline(request: UnblockRequest) -> list[RequestEvent]:
    """The events (not saved back) with their customer-facing message; a release is left out."""
    events = []
    for event in request.events.all():
        message = customer_message(event)
        if event.kind == RequestEvent.Kind.ASSIGNMENT and not message:
            continue
        event.message = message
        events.append(event)
    return events
