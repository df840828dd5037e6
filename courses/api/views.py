"""The courses API: the public catalogue, course contents for members, the instructor's writes.

Each action parses its input, fetches through a selector (which says 404 for anything not
visible, not owned), calls one service and renders. Read-only representations are cached
under the catalogue or course version (courses/cache.py), keyed on the full URL since they
hold absolute links.
"""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from educa.api import QuerySerializer, StrictCharField, StrictSlugField
from educa.api_viewsets import ViewSet
from students.selectors import course_get_for_member

from .. import cache as course_cache
from .. import selectors, services
from ..models import Course
from .serializers import (
    ITEM_SERIALIZERS,
    ContentListSchema,
    ContentSchema,
    ContentUpdateSerializer,
    ContentWriteSerializer,
    CourseContentsSerializer,
    CourseDetailSerializer,
    CourseListSerializer,
    CourseOwnedSerializer,
    CourseWriteSerializer,
    ModuleOwnedSerializer,
    ModuleWriteSerializer,
    OrderSerializer,
    SubjectSerializer,
    content_data,
)

KIND_MISMATCH = _("This content is a %(kind)s; its kind cannot change.")
ORDER_NOT_HERE_MODULES = _("Only ids of this course's own modules may be ordered here.")
ORDER_NOT_HERE_CONTENTS = _("Only ids of this module's own contents may be ordered here.")
SUBJECT_UNKNOWN = _("No subject has this slug.")

# Subjects show student counts, which change with every enrollment and no version follows.
SUBJECTS_CACHE_TIMEOUT = 300

ORDERINGS = {
    "-created": ("-created", "-id"),
    "created": ("created", "id"),
    "title": ("title", "id"),
    "-title": ("-title", "-id"),
}


class InstructorPermission(permissions.BasePermission):
    """The permission the view names for its action (`instructor_permissions`), else 403.

    The Instructors group holds them all; students hold none. Whose object it is is checked
    afterwards, by the selectors (404 for another instructor's).
    """

    message = _("Only instructors may do this.")

    def has_permission(self, request, view):
        required = view.instructor_permissions.get(view.action)
        return required is None or request.user.has_perm(required)


INSTRUCTOR = [permissions.IsAuthenticated, InstructorPermission]


def _url_key(request) -> str:
    """The request's absolute URL as a cache-key part (cached bodies hold absolute links)."""
    return course_cache.text_digest(request.build_absolute_uri())


def _order_map(ids: list[int]) -> dict[int, int]:
    return {pk: position for position, pk in enumerate(ids)}


# --- subjects ---------------------------------------------------------------------------------


class SubjectViewSet(ViewSet):
    """Subjects with their published course counts and three most popular courses."""

    permission_classes = [permissions.AllowAny]
    pagination_class = None

    @extend_schema(responses=SubjectSerializer(many=True))
    def list(self, request):
        def build():
            subjects = list(selectors.subject_list_with_course_counts())
            return self._render(subjects, many=True)

        key = course_cache.catalogue_key("api", "subjects", _url_key(request))
        return Response(course_cache.read_through(key, build, SUBJECTS_CACHE_TIMEOUT))

    @extend_schema(responses=SubjectSerializer)
    def retrieve(self, request, pk):
        def build():
            subject = selectors.subject_list_with_course_counts().filter(pk=pk).first()
            if subject is None:
                raise Http404(_("No such subject."))
            return self._render([subject], many=False)

        key = course_cache.catalogue_key("api", "subject", pk, _url_key(request))
        return Response(course_cache.read_through(key, build, SUBJECTS_CACHE_TIMEOUT))

    def _render(self, subjects, *, many):
        popular = selectors.course_list_popular(subject_ids=[subject.pk for subject in subjects])
        context = {"request": self.request, "popular": popular}
        data = SubjectSerializer(subjects, many=True, context=context).data
        return data if many else data[0]


# --- courses ----------------------------------------------------------------------------------


class CourseListQuerySerializer(QuerySerializer):
    subject = StrictSlugField(required=False, help_text="A subject's slug.")
    search = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Words in the title or overview.",
    )
    ordering = serializers.ChoiceField(choices=list(ORDERINGS), default="-created")

    def validate_subject(self, slug):
        try:
            return selectors.subject_get(slug=slug)
        except Http404:
            raise serializers.ValidationError(SUBJECT_UNKNOWN) from None


@extend_schema_view(
    list=extend_schema(
        parameters=[CourseListQuerySerializer],
        responses=CourseListSerializer(many=True),
        description="Published courses, newest first unless `ordering` says otherwise.",
    ),
    retrieve=extend_schema(
        responses=CourseDetailSerializer,
        description="A published course with its modules (a draft for its instructor only).",
    ),
    create=extend_schema(
        request=CourseWriteSerializer,
        responses={201: CourseOwnedSerializer},
        description="A new draft course of the instructor.",
    ),
    update=extend_schema(request=CourseWriteSerializer, responses=CourseOwnedSerializer),
    partial_update=extend_schema(request=CourseWriteSerializer, responses=CourseOwnedSerializer),
    destroy=extend_schema(
        responses={204: OpenApiResponse(description="Deleted with its modules and contents.")}
    ),
)
class CourseViewSet(ViewSet):
    instructor_permissions = {
        "create": "courses.add_course",
        "update": "courses.change_course",
        "partial_update": "courses.change_course",
        "destroy": "courses.delete_course",
        "publish": "courses.change_course",
        "unpublish": "courses.change_course",
        "modules": "courses.add_module",
        "modules_order": "courses.change_module",
    }

    def get_permissions(self):
        if self.action in ("list", "retrieve", "metadata"):
            return [permissions.AllowAny()]
        if self.action == "contents":
            return [permissions.IsAuthenticated()]
        return [permission() for permission in INSTRUCTOR]

    # --- reading

    def list(self, request):
        def build():
            query = CourseListQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            params = query.validated_data
            courses = selectors.course_list_published(
                subject=params.get("subject"), query=params.get("search", "")
            ).order_by(*ORDERINGS[params["ordering"]])
            page = self.paginate_queryset(courses)
            data = CourseListSerializer(page, many=True, context={"request": request}).data
            return self.get_paginated_response(data).data

        key = course_cache.catalogue_key("api", "courses", _url_key(request))
        return Response(course_cache.read_through(key, build))

    def retrieve(self, request, pk):
        stamp = course_cache.course_stamp(course_id=pk)
        if stamp is None or not selectors.course_is_visible(user=request.user, course=stamp):
            raise Http404(_("No such course."))

        def build():
            course = selectors.course_get_for_viewer(user=request.user, course_id=pk)
            return CourseDetailSerializer(course, context={"request": request}).data

        key = course_cache.course_key(stamp, "api", _url_key(request))
        return Response(course_cache.read_through(key, build))

    @extend_schema(
        responses=CourseContentsSerializer,
        description=(
            "The whole course: modules and their contents, one shape per kind. For the "
            "course's students and instructor."
        ),
    )
    @action(detail=True, methods=["get"])
    def contents(self, request, pk):
        course = course_get_for_member(user=request.user, course_id=pk)

        def build():
            modules = list(selectors.module_list_for_course(course=course))
            by_module = {module.pk: [] for module in modules}
            contents = selectors.quiz_questions_attach(
                list(selectors.content_list_for_course(course=course))
            )
            for content in contents:
                by_module[content.module_id].append(content)
            course.modules_in_order = modules
            context = {"request": request, "contents_by_module": by_module}
            return CourseContentsSerializer(course, context=context).data

        key = course_cache.course_key(course, "api-contents", _url_key(request))
        return Response(course_cache.read_through(key, build))

    # --- the instructor's writes

    def create(self, request):
        serializer = CourseWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        course = services.course_create(owner=request.user, **serializer.validated_data)
        return self._owned(course, status.HTTP_201_CREATED)

    def update(self, request, pk, partial=False):
        course = selectors.course_get_for_owner(owner=request.user, course_id=pk)
        serializer = CourseWriteSerializer(course, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        fields = {
            "subject": course.subject,
            "title": course.title,
            "overview": course.overview,
            "slug": course.slug if partial else "",
            **serializer.validated_data,
        }
        services.course_update(course=course, **fields)
        return self._owned(course)

    def partial_update(self, request, pk):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk):
        course = selectors.course_get_for_owner(owner=request.user, course_id=pk)
        services.course_delete(course=course)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=CourseOwnedSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk):
        course = selectors.course_get_for_owner(owner=request.user, course_id=pk)
        services.course_publish(course=course)
        return self._owned(course)

    @extend_schema(request=None, responses=CourseOwnedSerializer)
    @action(detail=True, methods=["post"])
    def unpublish(self, request, pk):
        course = selectors.course_get_for_owner(owner=request.user, course_id=pk)
        services.course_unpublish(course=course)
        return self._owned(course)

    @extend_schema(
        request=ModuleWriteSerializer,
        responses={201: ModuleOwnedSerializer},
        description="A new module after the course's last one.",
    )
    @action(detail=True, methods=["post"])
    def modules(self, request, pk):
        course = selectors.course_get_for_owner(owner=request.user, course_id=pk)
        serializer = ModuleWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        module = services.module_create(course=course, **serializer.validated_data)
        return Response(ModuleOwnedSerializer(module).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=OrderSerializer,
        responses=ModuleOwnedSerializer(many=True),
        description="Reorder the course's modules; answers with all of them in the new order.",
    )
    @action(detail=True, methods=["post"], url_path="modules/order", pagination_class=None)
    def modules_order(self, request, pk):
        course = selectors.course_get_for_owner(owner=request.user, course_id=pk)
        serializer = OrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = serializer.validated_data["ids"]
        modules = selectors.module_list_for_course(course=course)
        if not set(ids) <= {module.pk for module in modules}:
            raise serializers.ValidationError({"ids": [ORDER_NOT_HERE_MODULES]})
        services.module_reorder(owner=request.user, orders=_order_map(ids))
        modules = selectors.module_list_for_course(course=course)
        return Response(ModuleOwnedSerializer(modules, many=True).data)

    def _owned(self, course: Course, status_code=status.HTTP_200_OK):
        course = selectors.course_get_for_viewer(user=self.request.user, course_id=course.pk)
        data = CourseOwnedSerializer(course, context={"request": self.request}).data
        return Response(data, status=status_code)


# --- modules ----------------------------------------------------------------------------------


@extend_schema_view(
    retrieve=extend_schema(responses=ModuleOwnedSerializer),
    update=extend_schema(request=ModuleWriteSerializer, responses=ModuleOwnedSerializer),
    partial_update=extend_schema(request=ModuleWriteSerializer, responses=ModuleOwnedSerializer),
    destroy=extend_schema(
        responses={204: OpenApiResponse(description="Deleted with its contents.")}
    ),
)
class ModuleViewSet(ViewSet):
    """The instructor's modules."""

    permission_classes = INSTRUCTOR
    instructor_permissions = {
        "retrieve": "courses.view_module",
        "update": "courses.change_module",
        "partial_update": "courses.change_module",
        "destroy": "courses.delete_module",
        "contents": "courses.add_content",
        "contents_order": "courses.change_content",
    }

    def _module(self, pk):
        return selectors.module_get_for_owner(owner=self.request.user, module_id=pk)

    def retrieve(self, request, pk):
        return Response(ModuleOwnedSerializer(self._module(pk)).data)

    def update(self, request, pk, partial=False):
        module = self._module(pk)
        serializer = ModuleWriteSerializer(module, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        fields = {"title": module.title, "description": module.description}
        services.module_update(module=module, **{**fields, **serializer.validated_data})
        return Response(ModuleOwnedSerializer(module).data)

    def partial_update(self, request, pk):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk):
        services.module_delete(module=self._module(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request={
            "application/json": ContentWriteSerializer,
            "multipart/form-data": ContentWriteSerializer,
        },
        responses={201: ContentSchema},
        description=(
            "A new content at the end of the module. `kind` says which fields apply: text "
            "(`title`, `content` in Markdown), video (`title`, `url`), image and file (`title`, "
            "`file`, sent as multipart), quiz (`title`, its settings, `questions`). Uploads are "
            "checked as in the CMS."
        ),
    )
    @action(detail=True, methods=["post"])
    def contents(self, request, pk):
        module = self._module(pk)
        kind_serializer = ContentWriteSerializer(data=request.data)
        kind_serializer.is_valid(raise_exception=True)
        item_serializer = ITEM_SERIALIZERS[kind_serializer.validated_data["kind"]](
            data=request.data
        )
        item_serializer.is_valid(raise_exception=True)
        fields = dict(item_serializer.validated_data)
        questions = fields.pop("questions", None)
        item = item_serializer.Meta.model(**fields)
        if kind_serializer.validated_data["kind"] == "quiz":
            content = services.quiz_save_with_questions(
                module=module, content=None, quiz=item, questions=questions or []
            )
        else:
            content = services.content_create(module=module, item=item)
        data = content_data(content, request, full=True)
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=OrderSerializer,
        responses=ContentListSchema,
        description="Reorder the module's contents; answers with all of them in the new order.",
    )
    @action(detail=True, methods=["post"], url_path="contents/order", pagination_class=None)
    def contents_order(self, request, pk):
        module = self._module(pk)
        serializer = OrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = serializer.validated_data["ids"]
        if not set(ids) <= selectors.content_ids_for_module(module=module):
            raise serializers.ValidationError({"ids": [ORDER_NOT_HERE_CONTENTS]})
        services.content_reorder(owner=request.user, orders=_order_map(ids))
        contents = selectors.content_list_for_module(module=module)
        return Response([content_data(content, request, full=True) for content in contents])


# --- contents ---------------------------------------------------------------------------------

_CONTENT_UPDATE_BODY = {
    "application/json": ContentUpdateSerializer,
    "multipart/form-data": ContentUpdateSerializer,
}


@extend_schema_view(
    retrieve=extend_schema(responses=ContentSchema),
    update=extend_schema(request=_CONTENT_UPDATE_BODY, responses=ContentSchema),
    partial_update=extend_schema(request=_CONTENT_UPDATE_BODY, responses=ContentSchema),
    destroy=extend_schema(
        responses={204: OpenApiResponse(description="Deleted with its item and file.")}
    ),
)
class ContentViewSet(ViewSet):
    """The instructor's contents; the fields that apply depend on the content's kind."""

    permission_classes = INSTRUCTOR
    instructor_permissions = {
        "retrieve": "courses.view_content",
        "update": "courses.change_content",
        "partial_update": "courses.change_content",
        "destroy": "courses.delete_content",
    }

    def _content(self, pk):
        return selectors.content_get_for_owner(owner=self.request.user, content_id=pk)

    def retrieve(self, request, pk):
        return Response(content_data(self._content(pk), request, full=True))

    def update(self, request, pk, partial=False):
        content = self._content(pk)
        kind_serializer = ContentUpdateSerializer(data=request.data, partial=True)
        kind_serializer.is_valid(raise_exception=True)
        kind = kind_serializer.validated_data.get("kind", content.kind)
        if kind != content.kind:
            raise serializers.ValidationError({"kind": [KIND_MISMATCH % {"kind": content.kind}]})
        item = content.item
        item_serializer = ITEM_SERIALIZERS[kind](item, data=request.data, partial=partial)
        item_serializer.is_valid(raise_exception=True)
        fields = dict(item_serializer.validated_data)
        questions = fields.pop("questions", None)
        for field, value in fields.items():
            setattr(item, field, value)
        if kind == "quiz":
            content = services.quiz_save_with_questions(
                module=content.module, content=content, quiz=item, questions=questions
            )
        else:
            content = services.content_update(content=content, item=item)
        return Response(content_data(content, request, full=True))

    def partial_update(self, request, pk):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk):
        services.content_delete(content=self._content(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
