"""Read-only shapes of check runs for the REST API (the request's `checks` field)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from verification.models import ResultStatus
from verification.scoring import RISK_EXPLAINED


class CheckResultSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    status = serializers.ChoiceField(choices=ResultStatus.choices)
    status_label = serializers.CharField()
    summary = serializers.CharField(help_text=_("What was found and, if needed, how to fix it."))
    evidence = serializers.JSONField(help_text=_("What the check saw (replies, DNS answers, transcript)."))
    duration_ms = serializers.IntegerField(allow_null=True)


class CheckRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    finished = serializers.BooleanField()
    done = serializers.IntegerField(help_text=_("Checks decided so far."))
    total = serializers.IntegerField()
    risk = serializers.IntegerField(allow_null=True, help_text=RISK_EXPLAINED)
    checks = CheckResultSerializer(many=True)
