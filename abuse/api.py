"""The reporters' API: one report or a batch as JSON, a XARF v4 document, or one raw mail.

The body is read as bytes first, so that whatever is rejected (not JSON, too large, invalid)
is kept raw with its reason; every answer says, per report, what became of it. An accepted report
is stored and answered at once; the worker matches it to an account and weighs it (abuse.backlog).
Answers never say which account an address belongs to: reporters are outsiders.
"""

import json

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from abuse import intake
from abuse.auth import IsReporter, ReporterRateThrottle, ReporterTokenAuthentication
from abuse.formats import xarf4
from abuse.models import Category, Channel, Reporter
from abuse.reports import ReportInput, Unreadable, check_time, normalise_ip
from common import bounded_json
from common.single_line import SingleLineSerializerMixin

HTTP_STATUS = {
    intake.ACCEPTED: status.HTTP_202_ACCEPTED,
    intake.DUPLICATE: status.HTTP_200_OK,
    intake.UNMATCHED: status.HTTP_202_ACCEPTED,  # a private or reserved address: kept, never matched
    intake.REJECTED: status.HTTP_400_BAD_REQUEST,
}


class ReportSerializer(SingleLineSerializerMixin, serializers.Serializer):
    source_ip = serializers.CharField(max_length=64, help_text=gettext_lazy("The sending IPv4 or IPv6 address."))
    category = serializers.ChoiceField(choices=Category.choices)
    time = serializers.DateTimeField(
        source="occurred_at", help_text=gettext_lazy("When the abuse happened (ISO 8601, with a zone).")
    )
    reference = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text=gettext_lazy("Your ID of this report.")
    )
    message_id = serializers.CharField(
        source="original_message_id",
        max_length=998,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("Message-ID of the reported mail."),
    )
    reported_domain = serializers.CharField(max_length=253, required=False, allow_blank=True)
    original_mail_from = serializers.CharField(max_length=320, required=False, allow_blank=True)
    evidence = serializers.JSONField(
        required=False, help_text=gettext_lazy("Anything that shows the abuse: an object or a text.")
    )

    def validate_source_ip(self, value: str) -> str:
        try:
            return normalise_ip(value)
        except Unreadable as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_time(self, value):
        try:
            return check_time(value)
        except Unreadable as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_evidence(self, value: object) -> dict:
        if isinstance(value, str):
            return {"text": value}
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Evidence must be an object or a text."))
        return value

    def report(self) -> ReportInput:
        return ReportInput(**self.validated_data)


class BatchSerializer(serializers.Serializer):
    reports = ReportSerializer(many=True)


class ResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=list(HTTP_STATUS))
    source_ip = serializers.CharField(allow_null=True)
    report = serializers.IntegerField(required=False, help_text=gettext_lazy("Our ID of the stored report."))
    reason = serializers.CharField(required=False, help_text=gettext_lazy("Why the report was rejected."))
    rejected = serializers.IntegerField(required=False, help_text=gettext_lazy("Our ID of the kept raw report."))
    errors = serializers.DictField(required=False, help_text=gettext_lazy("Invalid fields and what is wrong."))


class BatchResultSerializer(serializers.Serializer):
    results = ResultSerializer(many=True)
    counts = serializers.DictField(child=serializers.IntegerField())


class ReporterView(APIView):
    """A reporter's POST: its token, its rate, the body read raw (and kept if it is refused)."""

    authentication_classes = [ReporterTokenAuthentication]
    permission_classes = [IsReporter]
    throttle_classes = [ReporterRateThrottle]
    channel = Channel.JSON

    def post(self, request: Request) -> Response:
        reporter = request.auth.reporter
        limit = settings.PORTAL_ABUSE_MAX_REPORT_BYTES
        data = request.stream.read(limit + 1) if request.stream is not None else b""
        raw = data[:limit]
        if len(data) > limit:
            reason = _("The body is larger than %(limit)d bytes.") % {"limit": limit}
            result = intake.reject(raw, reason, channel=self.channel, reporter=reporter)
            return Response(result.for_reporter(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        try:
            return self.take(raw, reporter)
        except Unreadable as exc:
            result = intake.reject(raw, str(exc), channel=self.channel, reporter=reporter).for_reporter()
            return Response(result, status=status.HTTP_400_BAD_REQUEST)

    def take(self, raw: bytes, reporter: Reporter) -> Response:
        raise NotImplementedError


def _parse_json(raw: bytes) -> object:
    try:
        return bounded_json.loads(raw)
    except bounded_json.TooDeep as exc:
        raise Unreadable(str(exc)) from None
    except (ValueError, UnicodeDecodeError):
        raise Unreadable(_("The body is not JSON.")) from None


def _json_report(item: object, raw: bytes, reporter: Reporter) -> tuple[intake.Result, dict]:
    """Validate and take in one JSON report; an invalid one is kept raw, with the field errors."""
    if not isinstance(item, dict):
        return _not_an_object(raw, reporter)
    serializer = ReportSerializer(data=item)
    if not serializer.is_valid():
        return _invalid(raw, serializer.errors, reporter)
    return intake.receive(serializer.report(), raw=raw, channel=Channel.JSON, reporter=reporter), {}


def _json_reports(items: list, reporter: Reporter) -> list[tuple[intake.Result, dict]]:
    """`_json_report` for a batch: validated by one list serializer, the valid reports taken in together."""
    raws = [json.dumps(item, ensure_ascii=False).encode() for item in items]
    outcomes: dict[int, tuple[intake.Result, dict]] = {
        n: _not_an_object(raws[n], reporter) for n, item in enumerate(items) if not isinstance(item, dict)
    }
    objects = [n for n in range(len(items)) if n not in outcomes]
    serializer = ReportSerializer(data=[items[n] for n in objects], many=True)
    if not serializer.is_valid():  # set the invalid ones aside, and validate the others again
        invalid = {objects[position]: errors for position, errors in serializer.errors.items()}  # by position
        outcomes |= {n: _invalid(raws[n], errors, reporter) for n, errors in invalid.items()}
        objects = [n for n in objects if n not in invalid]
        serializer = ReportSerializer(data=[items[n] for n in objects], many=True)
        serializer.is_valid(raise_exception=True)
    reports = [(ReportInput(**data), raws[n]) for n, data in zip(objects, serializer.validated_data, strict=True)]
    results = intake.receive_many(reports, channel=Channel.JSON, reporter=reporter)
    outcomes |= {n: (result, {}) for n, result in zip(objects, results, strict=True)}
    return [outcomes[n] for n in range(len(items))]


def _not_an_object(raw: bytes, reporter: Reporter) -> tuple[intake.Result, dict]:
    reason = _("A report must be a JSON object.")
    return intake.reject(raw, reason, channel=Channel.JSON, reporter=reporter), {}


def _invalid(raw: bytes, errors: dict, reporter: Reporter) -> tuple[intake.Result, dict]:
    """Keep an invalid report raw, the reason naming each field and what is wrong with it."""
    reason = "; ".join(f"{field}: {' '.join(map(str, messages))}" for field, messages in errors.items())
    return intake.reject(raw, reason, channel=Channel.JSON, reporter=reporter), {"errors": errors}


class ReportView(ReporterView):
    @extend_schema(
        request=ReportSerializer, responses={202: ResultSerializer, 200: ResultSerializer, 400: ResultSerializer}
    )
    def post(self, request: Request) -> Response:
        """Report one incident. 202 accepted, 200 a duplicate, 400 rejected (and kept)."""
        return super().post(request)

    def take(self, raw: bytes, reporter: Reporter) -> Response:
        result, errors = _json_report(_parse_json(raw), raw, reporter)
        return Response({**result.for_reporter(), **errors}, status=HTTP_STATUS[result.status])


class BatchView(ReporterView):
    @extend_schema(request=BatchSerializer, responses={200: BatchResultSerializer, 400: ResultSerializer})
    def post(self, request: Request) -> Response:
        """Report many incidents at once: {"reports": [...]}; each gets its own result, in order."""
        return super().post(request)

    def take(self, raw: bytes, reporter: Reporter) -> Response:
        body = _parse_json(raw)
        items = body.get("reports") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise Unreadable(_('Expected {"reports": [...]}.'))
        if len(items) > settings.PORTAL_ABUSE_MAX_BATCH:
            raise Unreadable(_("At most %(n)d reports per batch.") % {"n": settings.PORTAL_ABUSE_MAX_BATCH})
        outcomes = _json_reports(items, reporter)
        counts = dict.fromkeys(HTTP_STATUS, 0)
        for result, _errors in outcomes:
            counts[result.status] += 1
        results = [{**result.for_reporter(), **errors} for result, errors in outcomes]
        return Response({"results": results, "counts": counts})


class XarfView(ReporterView):
    channel = Channel.XARF

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={202: ResultSerializer, 200: ResultSerializer, 400: ResultSerializer},
    )
    def post(self, request: Request) -> Response:
        """Report one incident as a XARF v4 document, validated against the v4 schema; a 400 names each
        failing field."""
        return super().post(request)

    def take(self, raw: bytes, reporter: Reporter) -> Response:
        try:
            report = xarf4.from_document(_parse_json(raw))
        except xarf4.SchemaErrors as exc:
            result = intake.reject(raw, str(exc), channel=self.channel, reporter=reporter)
            return Response({**result.for_reporter(), "errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        result = intake.receive(report, raw=raw, channel=self.channel, reporter=reporter)
        return Response(result.for_reporter(), status=HTTP_STATUS[result.status])


class MailView(ReporterView):
    channel = Channel.ARF

    @extend_schema(
        request={"message/rfc822": OpenApiTypes.BINARY},
        responses={202: ResultSerializer, 200: ResultSerializer, 400: ResultSerializer},
    )
    def post(self, request: Request) -> Response:
        """Report as a raw mail, the body being the whole message: ARF (RFC 5965), X-ARF, a Microsoft
        complaint, SpamCop or Spamhaus. A message about several sources answers {"results": [...]}."""
        return super().post(request)

    def take(self, raw: bytes, reporter: Reporter) -> Response:
        results = intake.ingest(raw, reporter=reporter, channel=self.channel, defer=True)
        if len(results) == 1:
            return Response(results[0].for_reporter(), status=HTTP_STATUS[results[0].status])
        return Response({"results": [result.for_reporter() for result in results]}, status=status.HTTP_202_ACCEPTED)
