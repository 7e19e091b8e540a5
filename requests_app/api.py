"""REST API for customers: port-25 status and their own unblock requests."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.hostnames import normalise_hostname
from accounts.selectors import acting_account, active_addresses
from common.single_line import SingleLineSerializerMixin
from requests_app import api_examples, field_validators
from requests_app.check_flow import subject_key
from requests_app.customer_timeline import customer_message
from requests_app.forms import clean_sending_ip, volume_validators
from requests_app.lifecycle import IllegalTransition
from requests_app.models import ANSWER_FIELDS, RequestEvent, UnblockRequest
from requests_app.selectors import port25_status, requests_of
from requests_app.services import RequestNotAllowed, submit_request, withdraw_request
from requests_app.use_case_rules import apply_use_case_rules
from verification.selectors import latest_run, run_progress
from verification.serializers import CheckRunSerializer


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class RequestEventSerializer(serializers.ModelSerializer):
    message = serializers.SerializerMethodField(help_text=_("What happened; staff are named only as “a reviewer”."))

    class Meta:
        model = RequestEvent
        fields = ["at", "kind", "from_status", "to_status", "message"]

    def get_message(self, event: RequestEvent) -> str:
        return customer_message(event)


class UnblockRequestSerializer(SingleLineSerializerMixin, serializers.ModelSerializer):
    accept_aup = serializers.BooleanField(
        write_only=True, help_text=_("Must be true: the customer accepts the acceptable-use policy.")
    )
    events = RequestEventSerializer(many=True, read_only=True)
    checks = serializers.SerializerMethodField(help_text=_("The latest run of the automated checks (null before)."))

    class Meta:
        model = UnblockRequest
        fields = [
            "id",
            "status",
            "created_at",
            "updated_at",
            *ANSWER_FIELDS,
            "accept_aup",
            "events",
            "checks",
        ]
        read_only_fields = ["id", "status", "created_at", "updated_at", "events", "checks"]
        extra_kwargs = {
            "company_website": {"validators": [field_validators.validate_public_url], "required": False},
            "unsubscribe_url": {"validators": [field_validators.validate_public_url]},
            "email_template": {"validators": [field_validators.validate_template_size]},
        }

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["daily_volume"].validators = volume_validators()
        return fields

    @extend_schema_field(CheckRunSerializer(allow_null=True))
    def get_checks(self, obj: UnblockRequest) -> dict | None:
        progress = run_progress(latest_run(subject_key(obj.pk)))
        return CheckRunSerializer(progress).data if progress else None

    def validate_accept_aup(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError(_("You must accept the acceptable-use policy to file a request."))
        return value

    def validate_sending_domain(self, value: str) -> str:
        return normalise_hostname(value)

    def validate_mail_server_hostname(self, value: str) -> str:
        return normalise_hostname(value)

    def validate_mail_server_ip(self, value: str) -> str:
        return clean_sending_ip(active_addresses(self.context["account"]), value)

    def validate(self, attrs: dict) -> dict:
        errors = apply_use_case_rules(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def create(self, validated_data: dict) -> UnblockRequest:
        try:
            return submit_request(self.context["account"], self.context["request"].user, validated_data)
        except RequestNotAllowed as exc:
            raise Conflict(str(exc)) from exc


@extend_schema_view(
    list=extend_schema(summary=_("List your account's unblock requests"), description=_("Newest first.")),
    create=extend_schema(
        summary=_("File an unblock request"),
        description=_(
            "Asks only what fits the use case: a personal server gives no website, a marketing sender its "
            "opt-in, template and unsubscribe link. One open request per account (409 otherwise)."
        ),
        examples=[api_examples.NEW_REQUEST],
    ),
    retrieve=extend_schema(summary=_("Read one request: its state, checks and timeline")),
)
class UnblockRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Your account's unblock requests. Other accounts' requests answer 404."""

    serializer_class = UnblockRequestSerializer
    queryset = UnblockRequest.objects.none()

    def get_queryset(self):
        return requests_of(acting_account(self.request.user)).prefetch_related("events")

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if self.action == "create":
            context["account"] = acting_account(self.request.user)
        return context

    @extend_schema(request=None, responses=UnblockRequestSerializer, summary=_("Withdraw an open request"))
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Withdraw an open request."""
        unblock_request = self.get_object()
        try:
            unblock_request = withdraw_request(unblock_request, request.user)
        except IllegalTransition as exc:
            raise Conflict(_("This request is already closed and cannot be withdrawn.")) from exc
        return Response(self.get_serializer(unblock_request).data)


class Port25StatusSerializer(serializers.Serializer):
    account = serializers.UUIDField(help_text=_("Your account ID."))
    state = serializers.ChoiceField(choices=["blocked", "pending", "open", "revoked"])
    label = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    open_request = serializers.IntegerField(allow_null=True, help_text=_("ID of the open request, if any."))
    missing_verifications = serializers.ListField(child=serializers.CharField())


@extend_schema(
    responses=Port25StatusSerializer,
    summary=_("Is port 25 open for your account?"),
    examples=[api_examples.PORT25_BLOCKED, api_examples.PORT25_OPEN],
)
@api_view(["GET"])
def port25_status_view(request: Request) -> Response:
    """Whether outbound port 25 is open for your account, and why not."""
    account = acting_account(request.user)
    current = port25_status(account)
    return Response(
        Port25StatusSerializer(
            {
                "account": account.reference,
                "state": current.state,
                "label": current.label,
                "reason": current.reason,
                "open_request": current.open_request.pk if current.open_request else None,
                "missing_verifications": account.missing_verifications(),
            }
        ).data
    )
