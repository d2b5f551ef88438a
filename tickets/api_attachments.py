"""Attachments over HTTP: their shape in /v1 messages, and their download.

`GET /v1/attachments/{id}/download` and `GET /v1/attachments/{id}/thumbnail` (an image's small
preview) need the credentials of /v1 (an API key or a staff session); `GET /attachments/{signed
token}` is the short-lived link sent in SMS replies.
Both serve the file with `X-Content-Type-Options: nosniff`, inline only for image types a
browser renders safely, as a download otherwise.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from tickets.attachments import attachment_api_url, attachment_from_token, attachment_thumbnail
from tickets.models import INLINE_IMAGE_TYPES, Attachment, Message


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Download URL; needs the same credentials as /v1.")

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "url"]
        read_only_fields = fields

    def get_url(self, attachment: Attachment) -> str:
        return attachment_api_url(attachment)


def attachment_response(attachment: Attachment) -> FileResponse:
    """The file of `attachment`, streamed from storage. Raises Http404 when the file is gone."""
    try:
        handle = attachment.file.open("rb")
    except OSError:
        raise Http404("The file of this attachment is missing.") from None
    return _file_response(handle, attachment.filename, attachment.content_type)


def _file_response(handle: Any, filename: str, content_type: str) -> FileResponse:
    response = FileResponse(
        handle,
        as_attachment=content_type not in INLINE_IMAGE_TYPES,
        filename=filename,
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Nothing in a file may run scripts or load anything, even if a browser renders it.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=300"
    return response


class _FirstRenderer(BaseContentNegotiation):
    """A download answers with the file whatever Accept says; errors are JSON."""

    def select_renderer(
        self, request: Request, renderers: Any, format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = renderers[0]
        return renderer, renderer.media_type

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return None


class AttachmentDownloadView(APIView):
    content_negotiation_class = _FirstRenderer
    permission_model = Message  # whoever may read a message may read its files

    @extend_schema(
        operation_id="attachment_download",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
            404: OpenApiResponse(description="No such attachment."),
        },
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        attachment = Attachment.objects.filter(pk=pk).first()
        if attachment is None:
            raise Http404("No such attachment.")
        return attachment_response(attachment)


class AttachmentThumbnailView(AttachmentDownloadView):
    @extend_schema(
        operation_id="attachment_thumbnail",
        responses={
            (200, "image/webp"): OpenApiResponse(OpenApiTypes.BINARY, description="The image's thumbnail."),
            404: OpenApiResponse(description="No such attachment, or it has no thumbnail."),
        },
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        attachment = Attachment.objects.filter(pk=pk).first()
        if attachment is None:
            raise Http404("No such attachment.")
        try:
            thumbnail = attachment_thumbnail(attachment)
            handle = thumbnail.open("rb") if thumbnail is not None else None
        except OSError:
            raise Http404("The file of this attachment is missing.") from None
        if handle is None:
            raise Http404("This attachment has no thumbnail (not an image, or too large to preview).")
        return _file_response(handle, "thumbnail.webp", "image/webp")


@require_GET
def attachment_link(request: HttpRequest, token: str) -> FileResponse:
    """A signed, short-lived link (SMS replies): 404 when forged or expired."""
    attachment = attachment_from_token(token)
    if attachment is None:
        raise Http404("This link is not valid or has expired.")
    return attachment_response(attachment)
