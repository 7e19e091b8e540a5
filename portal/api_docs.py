"""How /api/docs/ lists the API: the customer's endpoints first, then the platform's and the reporters'.

Swagger UI shows tags in the order of the schema's tag list (SPECTACULAR_SETTINGS["TAGS"]) and
operations in the order of its paths; drf-spectacular sorts paths alphabetically, which put the
abuse reporters' endpoints first.
"""

from drf_spectacular.plumbing import alpha_operation_sorter

# Path prefixes under /api/v1/, in the order readers come: customers, then the provider's integrations.
READERS = ("/api/v1/port25/", "/api/v1/requests/", "/api/v1/platform/", "/api/v1/abuse/")


def customer_endpoints_first(endpoint: tuple) -> tuple:
    """The sort key of drf-spectacular's SORT_OPERATIONS: by reader, then as drf-spectacular sorts."""
    path = endpoint[0]
    reader = next((n for n, prefix in enumerate(READERS) if path.startswith(prefix)), len(READERS))
    return (reader, alpha_operation_sorter(endpoint))
