from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class ApiRootView(APIView):
    """Where to start: the schema, the docs and how to authenticate."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(exclude=True)
    def get(self, request):
        return Response(
            {
                "name": "Billspree API",
                "version": "v1",
                "schema": request.build_absolute_uri(reverse("api:schema")),
                "docs": request.build_absolute_uri(reverse("api:docs")),
                "authentication": (
                    "Authorization: Api-Key <key> (create keys in Settings › API keys)"
                ),
            }
        )
