"""The REST API: another interface to the same services as the HTML views."""

from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Opportunity


class OpportunityOutput(serializers.ModelSerializer):
    class Meta:
        model = Opportunity
        fields = [
            "id", "name", "account", "process", "stage", "owner", "amount", "expected_close_date",
            "status", "closed_on", "version",
        ]


class OpportunityListApi(APIView):
    def get(self, request):
        qs = Opportunity.objects.for_user(request.user).order_by("id")[:100]
        return Response(OpportunityOutput(qs, many=True).data)


class OpportunityDetailApi(APIView):
    def get(self, request, pk):
        opp = get_object_or_404(Opportunity.objects.for_user(request.user), pk=pk)
        return Response(OpportunityOutput(opp).data)
