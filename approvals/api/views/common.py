"""The list and detail view bases: a queryset that starts at the key's workspace, validated filters and
bodies, 201 answers with a ``Location``."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from rest_framework import exceptions, mixins, status
from rest_framework.response import Response

from approvals.api.base import ApiView
from studio.core.errors import InvalidInput


def in_workspace(queryset: QuerySet, pk: int, field: str):
    """An object a request body names by id, from ``queryset`` (already scoped to the workspace): a body
    naming something that is not there is a mistake in the request (422), not a missing page."""
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        noun = field.replace("_", " ")
        raise InvalidInput(f"There is no {noun} {pk} in this workspace.", field_errors={field: f"No such {noun} here."})
    return obj


def created(data, view_name: str, pk: int) -> Response:
    return Response(data, status=status.HTTP_201_CREATED, headers={"Location": reverse(view_name, args=[pk])})


class _Base(ApiView):
    filter_class = None

    def allowed_query_params(self) -> set[str]:
        allowed = set(self.filter_class().fields) if self.filter_class is not None else set()
        paginator = self.paginator
        if paginator is not None:
            allowed |= {paginator.cursor_query_param, paginator.page_size_query_param}
        return allowed

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Unknown query parameters are refused like unknown body fields: a misspelt filter must not
        # silently return everything.
        unknown = sorted(set(request.query_params) - self.allowed_query_params())
        if unknown:
            raise exceptions.ValidationError(
                {name[:100]: ["This is not a parameter of this request."] for name in unknown[:20]}
            )

    def base_queryset(self) -> QuerySet:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet:
        return self.base_queryset()

    def filters(self) -> dict:
        if self.filter_class is None:
            return {}
        serializer = self.filter_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def body(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def refuse_field(self, field: str, message: str):
        raise InvalidInput(message, field_errors={field: message})


class ListView(mixins.ListModelMixin, _Base):
    """``GET``: one cursor page of the workspace's objects, newest first."""

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class ReadView(_Base):
    """``GET``: one object of the workspace, 404 for missing and other workspaces' alike."""

    pagination_class = None
    lookup_url_kwarg = "pk"

    def get(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.get_object()).data)
