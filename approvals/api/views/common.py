"""The view bases: validated filters and bodies for every view (``WorkspaceView``); for the views that
list or read the workspace's objects, a queryset that starts at the key's workspace (``ListView``,
``ReadView``); 201 answers with a ``Location``."""

from __future__ import annotations

import abc

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


class WorkspaceView(ApiView):
    """A view of the key's workspace: unknown query parameters refused, filters and bodies validated.
    Views that answer with something other than the workspace's objects (the audit export, the image
    files) start here; the object views below add the queryset."""

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


class WorkspaceObjectsView(WorkspaceView, metaclass=abc.ABCMeta):
    """A view of the workspace's objects of one kind. Each view says which (``base_queryset``); being
    abstract, a view that forgets cannot be instantiated (the OpenAPI document, which instantiates every
    routed view, fails to build), rather than answering 500 on its first request."""

    @abc.abstractmethod
    def base_queryset(self) -> QuerySet:
        """The view's objects, already limited to ``self.workspace`` and with what the serializer reads
        selected or prefetched (query counts stay flat per page)."""

    def get_queryset(self) -> QuerySet:
        return self.base_queryset()


class ListView(mixins.ListModelMixin, WorkspaceObjectsView):
    """``GET``: one cursor page of the workspace's objects, newest first."""

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class ReadView(WorkspaceObjectsView):
    """``GET``: one object of the workspace, 404 for missing and other workspaces' alike."""

    pagination_class = None
    lookup_url_kwarg = "pk"

    def get(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.get_object()).data)
