"""The gateway's HTTP API (docs/egress-http-api.md), /healthz and /metrics, as a Starlette app."""

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.changes import Refused, idempotency_key, parse_change
from gateway.service import Gateway
from nft_ruleset import NftError


def build_app(gateway: Gateway) -> Starlette:
    config = gateway.config
    expected = f"Bearer {config.token}".encode()

    def authorize(request: Request) -> None:
        given = request.headers.get("authorization", "").encode("latin-1", errors="replace")
        if not hmac.compare_digest(given, expected):
            raise Refused(401, "A valid bearer token is required.")

    async def allowed(request: Request) -> Response:
        authorize(request)
        return JSONResponse({"addresses": await run_in_threadpool(gateway.allowed)})

    async def counters(request: Request) -> Response:
        authorize(request)
        return JSONResponse(await run_in_threadpool(gateway.counters))

    async def changes(request: Request) -> Response:
        try:
            authorize(request)
            key = idempotency_key(request.headers.get("idempotency-key"))
            body = await _body(request, config.max_body_bytes)
            answer = await run_in_threadpool(
                gateway.change, key, lambda: parse_change(body, max_addresses=config.max_addresses)
            )
        except Refused:
            gateway.metrics.changes.labels("refused").inc()
            raise
        return Response(answer.body, status_code=answer.status, media_type="application/json")

    async def healthz(request: Request) -> Response:
        await run_in_threadpool(gateway.keys.healthy)
        return JSONResponse({"ok": True})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def refused(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, Refused):
            raise exc
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=headers)

    async def nft_failed(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=503)

    return Starlette(
        routes=[
            Route(f"{config.path}/allowed", allowed, methods=["GET"]),
            Route(f"{config.path}/changes", changes, methods=["POST"]),
            Route(f"{config.path}/counters", counters, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        exception_handlers={Refused: refused, NftError: nft_failed},
    )


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to be over `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"The body is over {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"The body is over {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
