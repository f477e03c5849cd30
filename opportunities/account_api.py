"""The API of account management: the account plan (objectives, health, whitespace, the open
next step, the known buying team), the account-level buying team and the account's next step,
through the same services as the account page (`services.account_*`)."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from . import services
from .accounts import HEALTH_LABELS, health_of, whitespace
from .api import READ_ERRORS, WRITE_ERRORS, NextStepSerializer, ServiceApi, _account, _either_step_or_wait
from .api_fields import NameField
from .models import AccountContactRole, AccountNextStep, AccountPlan, BuyingRole


class AccountTeamMemberSerializer(serializers.Serializer):
    contact = serializers.IntegerField(source="contact_id")
    name = serializers.CharField(source="contact.name")
    roles = serializers.ListField(child=serializers.CharField(), help_text=", ".join(BuyingRole.values) + ".")
    added_at = serializers.DateTimeField()


def _team(account):
    return AccountContactRole.objects.filter(account=account).select_related("contact").order_by("added_at", "id")


class AccountPlanApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        objectives = serializers.CharField(max_length=services.OBJECTIVES_MAX, allow_blank=True, trim_whitespace=True)

    class HealthSerializer(serializers.Serializer):
        health = serializers.CharField(help_text="Healthy, Cooling or Cold.")
        last_touch = serializers.DateTimeField(allow_null=True)
        engaged_contacts = serializers.IntegerField()
        open_deals = serializers.IntegerField(help_text="Among the deals you may read; so are won and lost.")
        won_deals = serializers.IntegerField()
        lost_deals = serializers.IntegerField()

    class WhitespaceSerializer(serializers.Serializer):
        process = serializers.IntegerField(source="process.pk")
        name = serializers.CharField(source="process.name")
        state = serializers.CharField(help_text="won (in use), open (a deal in progress) or empty (whitespace).")

    class OutputSerializer(serializers.Serializer):
        account = serializers.IntegerField()
        objectives = serializers.CharField()
        updated_at = serializers.DateTimeField(allow_null=True)
        health = serializers.DictField()
        next_step = NextStepSerializer(allow_null=True)
        buying_team = AccountTeamMemberSerializer(many=True)
        whitespace = serializers.ListField(child=serializers.DictField())

    def _body(self, request, account) -> dict:
        plan = AccountPlan.objects.filter(account=account).first()
        health = health_of(account, user=request.user, now=timezone.now())
        health.health = HEALTH_LABELS[health.health]
        return {
            "account": account.pk,
            "objectives": plan.objectives if plan else "",
            "updated_at": plan.updated_at if plan else None,
            "health": self.HealthSerializer(health).data,
            "next_step": AccountNextStep.objects.filter(account=account, completed_at__isnull=True).first(),
            "buying_team": _team(account),
            "whitespace": self.WhitespaceSerializer(whitespace(account), many=True).data,
        }

    @extend_schema(responses={200: OutputSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        account = _account(request, pk)
        return Response(self.OutputSerializer(self._body(request, account)).data)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **WRITE_ERRORS})
    def put(self, request, pk: int):
        account = _account(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.account_plan_update(account, actor=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(self._body(request, account)).data)


class AccountTeamApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        contact = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="A contact at the account.")
        roles = serializers.ListField(
            child=serializers.ChoiceField(choices=BuyingRole.choices), allow_empty=False, max_length=len(BuyingRole)
        )

    @extend_schema(responses={200: AccountTeamMemberSerializer(many=True), **READ_ERRORS})
    def get(self, request, pk: int):
        return Response(AccountTeamMemberSerializer(_team(_account(request, pk)), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: AccountTeamMemberSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        """Put a contact on the account's known buying team, or change their roles there."""
        account = _account(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = account.contacts.filter(pk=serializer.validated_data["contact"]).first()
        if contact is None:
            raise serializers.ValidationError({"contact": ["No such contact at this account."]})
        member = services.account_team_add(
            account, actor=request.user, contact=contact, roles=serializer.validated_data["roles"]
        )
        return Response(AccountTeamMemberSerializer(member).data, status=status.HTTP_201_CREATED)


class AccountTeamMemberApi(ServiceApi):
    @extend_schema(responses={204: OpenApiResponse(description="Removed."), **WRITE_ERRORS})
    def delete(self, request, pk: int, contact_id: int):
        account = _account(request, pk, write=True)
        contact = get_object_or_404(account.contacts.all(), pk=contact_id)
        services.account_team_remove(account, actor=request.user, contact=contact)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccountNextStepSetApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        description = NameField(max_length=300, required=False, allow_blank=True, default="")
        due_date = serializers.DateField(required=False, allow_null=True, default=None)
        waiting_until = serializers.DateField(required=False, allow_null=True, default=None)

        def validate(self, data):
            _either_step_or_wait(
                data["description"],
                data["due_date"],
                data["waiting_until"],
                description_name="description",
                due_name="due_date",
            )
            return data

    @extend_schema(request=InputSerializer, responses={201: NextStepSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        account = _account(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        step = services.account_next_step_set(account, actor=request.user, **serializer.validated_data)
        return Response(NextStepSerializer(step).data, status=status.HTTP_201_CREATED)


class AccountNextStepCompleteApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        next_description = NameField(max_length=300, required=False, allow_blank=True, default="")
        next_due_date = serializers.DateField(required=False, allow_null=True, default=None)
        waiting_until = serializers.DateField(required=False, allow_null=True, default=None)

        def validate(self, data):
            _either_step_or_wait(
                data["next_description"],
                data["next_due_date"],
                data["waiting_until"],
                description_name="next_description",
                due_name="next_due_date",
            )
            return data

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OpenApiResponse(NextStepSerializer, description="The newly committed next step."),
            **WRITE_ERRORS,
        },
    )
    def post(self, request, pk: int):
        account = _account(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        step = services.account_next_step_complete(account, actor=request.user, **serializer.validated_data)
        return Response(NextStepSerializer(step).data, status=status.HTTP_201_CREATED)
