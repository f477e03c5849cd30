"""The ROI API: a deal's calculator and latest result, and computing and saving one, through
the same service and rules as the deal page."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from opportunities.api import READ_ERRORS, WRITE_ERRORS, ServiceApi, UserRefSerializer
from opportunities.models import Opportunity
from people.access import get_readable

from . import services


class CalculatorInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField()
    default = serializers.DecimalField(max_digits=18, decimal_places=4)


class CalculatorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    formula = serializers.CharField()
    result_label = serializers.CharField()
    result_unit = serializers.CharField()
    inputs = CalculatorInputSerializer(many=True, source="inputs.all")


class ResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    values = serializers.JSONField(help_text="[{name, label, unit, value}] as entered.")
    formula = serializers.CharField()
    result_label = serializers.CharField()
    result_unit = serializers.CharField()
    result = serializers.DecimalField(max_digits=20, decimal_places=2)
    created_by = UserRefSerializer()
    created_at = serializers.DateTimeField()


class DealRoiSerializer(serializers.Serializer):
    calculator = CalculatorSerializer(allow_null=True)
    latest = ResultSerializer(allow_null=True)


def _deal(request, pk: int, *, write: bool = False) -> Opportunity:
    return get_readable(Opportunity.objects.select_related("process", "account"), request.user, pk, write=write)


class DealRoiApi(ServiceApi):
    """GET: the deal's process's calculator and the deal's latest result. POST: compute from
    `values` (an input left out takes its default) and save it with the deal."""

    class InputSerializer(serializers.Serializer):
        values = serializers.DictField(
            child=serializers.CharField(max_length=40, allow_blank=True), help_text="Input name → number."
        )

    @extend_schema(responses={200: DealRoiSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        deal = _deal(request, pk)
        latest = deal.roi_results.select_related("created_by").first()
        return Response(DealRoiSerializer({"calculator": services.calculator_for(deal), "latest": latest}).data)

    @extend_schema(request=InputSerializer, responses={201: ResultSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        deal = _deal(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.result_save(actor=request.user, opportunity=deal, values=serializer.validated_data["values"])
        return Response(ResultSerializer(result).data, status=201)
