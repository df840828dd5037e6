"""Catalogue pages, the instructor CMS and the guarded course-file view.

Views parse, check, call one service or selector and render; the rules live in services.py and
selectors.py.
"""

from pathlib import PurePosixPath

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, FormView, ListView, RedirectView, TemplateView

from chat.selectors import (
    course_list_for_chat,
    open_questions_by_content,
    open_questions_by_course,
)
from educa.protected_media import protected_file_response
from educa.views import InvalidSubmissionMixin
from students.selectors import content_get_for_member, course_is_member, course_list_for_instructor

from . import cache as course_cache
from . import selectors, services
from .analytics import course_analytics
from .cache import AnonymousPageCacheMixin
from .forms import (
    CONTENT_FORMS,
    CourseForm,
    ModuleFormSet,
    QuestionFormSet,
    QuizForm,
    order_payload_parse,
)
from .models import CONTENT_MODELS, Quiz
from .validators import RASTER_CONTENT_TYPES

# --- public catalogue -------------------------------------------------------------------------


class CourseListView(AnonymousPageCacheMixin, ListView):
    """Published courses, all subjects or one (`subject` slug), optionally searched with ?q=.

    Cached under the catalogue version: whole pages for anonymous visitors, the subject list
    and the course list as fragments for everyone else.
    """

    template_name = "courses/course/list.html"
    context_object_name = "courses"
    paginate_by = 12

    def page_cache_key(self):
        page, query = self.request.GET.get("page", ""), self._query()
        return course_cache.cache_key(
            "catalogue", self._catalogue_version(), "response",
            course_cache.text_digest(self.kwargs.get("subject", "")),
            course_cache.text_digest(f"{page}\x00{query}"),
        )  # fmt: skip

    def get_queryset(self):
        slug = self.kwargs.get("subject")
        self.subject = selectors.subject_get(slug=slug) if slug else None
        self.query = self._query()
        return selectors.course_list_published(subject=self.subject, query=self.query)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            subject=self.subject,
            query=self.query,
            query_digest=course_cache.text_digest(self.query),
            subjects=selectors.subject_list_with_course_counts(),
            catalogue_version=self._catalogue_version(),
            cache_timeout=settings.CACHE_TIMEOUT,
            **kwargs,
        )

    def _query(self) -> str:
        return self.request.GET.get("q", "")[:200]

    def _catalogue_version(self) -> int:
        if not hasattr(self, "catalogue_version"):
            self.catalogue_version = course_cache.catalogue_version()
        return self.catalogue_version


class CourseDetailView(AnonymousPageCacheMixin, DetailView):
    """A course page; its outline is cached under the course's version (the whole page for
    anonymous visitors)."""

    template_name = "courses/course/detail.html"
    context_object_name = "course"

    def page_cache_key(self):
        stamp = course_cache.course_stamp(slug=self.kwargs["slug"])
        if stamp is None or not selectors.course_is_visible(user=AnonymousUser(), course=stamp):
            return None
        return course_cache.course_key(stamp, "response")

    def get_object(self, queryset=None):
        return selectors.course_get_for_viewer(user=self.request.user, slug=self.kwargs["slug"])

    @cached_property
    def course_summary(self) -> selectors.CourseSummary:
        # Read by the template inside its cached fragments only: a cached page never asks.
        return selectors.course_summary(course=self.object)

    def get_context_data(self, **kwargs):
        course = self.object
        return super().get_context_data(
            is_member=course_is_member(user=self.request.user, course=course),
            is_owner=course.owner_id == self.request.user.pk,
            cache_timeout=settings.CACHE_TIMEOUT,
            **kwargs,
        )


class ContentFileView(LoginRequiredMixin, View):
    """A course file or image for the owner and enrolled students only.

    With settings.MEDIA_ACCEL_REDIRECT_PREFIX set, Nginx sends the bytes (X-Accel-Redirect).
    """

    http_method_names = ["get", "head"]

    def get(self, request, id):
        content = content_get_for_member(user=request.user, content_id=id)
        item = content.item
        if content.kind not in ("file", "image") or item is None or not item.file:
            raise Http404(_("This content has no file."))
        name = item.file.name
        suffix = PurePosixPath(name).suffix
        # An <img> still shows an attachment; opened directly, it downloads instead of rendering.
        is_raster_image = content.kind == "image" and suffix in RASTER_CONTENT_TYPES
        content_type = (
            RASTER_CONTENT_TYPES[suffix] if is_raster_image else "application/octet-stream"
        )
        download_name = f"{slugify(item.title) or content.kind}{suffix}"
        return protected_file_response(
            item.file, content_type=content_type, download_name=download_name
        )


# --- CMS: access --------------------------------------------------------------------------------


class InstructorRequiredMixin(PermissionRequiredMixin):
    """The CMS gate: anonymous users go to the log-in page, users without the permission get 403.

    Only then does `load_owned(**url_kwargs)` fetch the objects named by the URL, through the
    selectors' `*_get_for_owner`: anything not the user's own is a 404.
    """

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated or not self.has_permission():
            return self.handle_no_permission()
        self.load_owned(**kwargs)
        return super().dispatch(request, *args, **kwargs)

    def load_owned(self, **url_kwargs):
        pass


def _add_service_errors(form, error: ValidationError):
    # Rules checked again under the lock (a slug taken meanwhile) come back on the form.
    form.add_error(None, error)


# --- CMS: courses -------------------------------------------------------------------------------


class InstructorHomeView(InstructorRequiredMixin, TemplateView):
    """Where an instructor lands: each course's state, students, completion, unread chat and
    unanswered questions."""

    permission_required = "courses.view_course"
    template_name = "courses/manage/home.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        courses = list(course_list_for_instructor(owner=user))
        unread = {room.pk: room.unread for room in course_list_for_chat(user=user)}
        questions = open_questions_by_course(course_ids=[course.pk for course in courses])
        for course in courses:
            course.unread = unread.get(course.pk, 0)
            course.open_questions = questions.get(course.pk)
        return super().get_context_data(courses=courses, **kwargs)


class CourseListMovedView(RedirectView):
    """The instructor's course list became the instructor home: old links and bookmarks follow."""

    pattern_name = "instructor_home"
    permanent = True
    http_method_names = ["get", "head"]


class CourseCreateView(InstructorRequiredMixin, InvalidSubmissionMixin, FormView):
    permission_required = "courses.add_course"
    template_name = "courses/manage/course/form.html"
    form_class = CourseForm

    def form_valid(self, form):
        try:
            course = services.course_create(owner=self.request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("“%(title)s” created as a draft. Add its modules.") % {"title": course.title},
        )
        return redirect("course_module_update", pk=course.pk)


class OwnedCourseMixin(InstructorRequiredMixin):
    """Sets self.course, the user's course from the URL's pk (404 for anyone else's)."""

    def load_owned(self, *, pk, **url_kwargs):
        self.course = selectors.course_get_for_owner(owner=self.request.user, course_id=pk)

    def get_context_data(self, **kwargs):
        return super().get_context_data(course=self.course, **kwargs)


class CourseUpdateView(OwnedCourseMixin, InvalidSubmissionMixin, FormView):
    permission_required = "courses.change_course"
    template_name = "courses/manage/course/form.html"
    form_class = CourseForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.course}

    def form_valid(self, form):
        try:
            services.course_update(course=self.course, **form.cleaned_data)
        except ValidationError as error:
            _add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Course saved."))
        return redirect("instructor_home")


class CourseDeleteView(OwnedCourseMixin, TemplateView):
    permission_required = "courses.delete_course"
    template_name = "courses/manage/course/delete.html"

    def post(self, request, pk):
        title = self.course.title
        services.course_delete(course=self.course)
        messages.success(request, _("“%(title)s” deleted.") % {"title": title})
        return redirect("instructor_home")


class CoursePublishView(OwnedCourseMixin, View):
    permission_required = "courses.change_course"
    http_method_names = ["post"]

    def post(self, request, pk):
        services.course_publish(course=self.course)
        messages.success(request, _("“%(title)s” is published.") % {"title": self.course.title})
        return redirect("instructor_home")


class CourseUnpublishView(OwnedCourseMixin, View):
    permission_required = "courses.change_course"
    http_method_names = ["post"]

    def post(self, request, pk):
        services.course_unpublish(course=self.course)
        messages.success(request, _("“%(title)s” is back to draft.") % {"title": self.course.title})
        return redirect("instructor_home")


class CourseAnalyticsView(InstructorRequiredMixin, TemplateView):
    """How a course is followed, in charts: for its owner, and for staff whichever course."""

    template_name = "courses/manage/course/analytics.html"

    def has_permission(self):
        return selectors.analytics_is_allowed(user=self.request.user)

    def load_owned(self, *, pk):
        self.course = selectors.course_get_for_analytics(user=self.request.user, course_id=pk)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            course=self.course,
            analytics=course_analytics(course=self.course),
            refresh_minutes=max(1, round(settings.ANALYTICS_CACHE_SECONDS / 60)),
            **kwargs,
        )


# --- CMS: modules and contents ------------------------------------------------------------------


class CourseModuleUpdateView(OwnedCourseMixin, InvalidSubmissionMixin, TemplateView):
    permission_required = "courses.change_course"
    template_name = "courses/manage/module/formset.html"

    def get(self, request, pk):
        return self.render_to_response(self.get_context_data(formset=self._formset()))

    def post(self, request, pk):
        formset = self._formset(data=request.POST)
        if not formset.is_valid():
            return self.render_invalid(formset=formset)
        services.module_formset_save(course=self.course, formset=formset)
        messages.success(request, _("Modules saved."))
        return redirect("course_module_update", pk=self.course.pk)

    def _formset(self, data=None):
        return ModuleFormSet(data=data, instance=self.course)


class ModuleContentListView(InstructorRequiredMixin, TemplateView):
    permission_required = "courses.view_content"
    template_name = "courses/manage/module/content_list.html"

    def load_owned(self, *, module_id):
        self.module = selectors.module_get_for_owner(owner=self.request.user, module_id=module_id)

    def get_context_data(self, **kwargs):
        module = self.module
        return super().get_context_data(
            module=module,
            course=module.course,
            modules=selectors.module_list_for_course(course=module.course),
            contents=selectors.content_list_for_module(module=module),
            open_questions=open_questions_by_content(module_id=module.pk),
            kinds=CONTENT_MODELS,
            **kwargs,
        )


class ContentFormMixin(InstructorRequiredMixin):
    """A content's form page: a new content (no `id` in the URL) goes into the module, an edit
    loads the content of that kind by its item's id; either must be the user's own (404)."""

    def get_permission_required(self):
        return ["courses.change_content" if "id" in self.kwargs else "courses.add_content"]

    def load_content(self, *, module_id, kind, id=None):
        self.kind = kind
        user = self.request.user
        if id is None:
            self.content = None
            self.module = selectors.module_get_for_owner(owner=user, module_id=module_id)
        else:
            self.content = selectors.content_get_for_owner_by_item(
                owner=user, module_id=module_id, kind=kind, item_id=id
            )
            self.module = self.content.module

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            kind=self.kind, module=self.module, course=self.module.course, content=self.content,
            **kwargs,
        )  # fmt: skip

    def saved(self, item):
        """Where a content's form goes once the item is stored."""
        messages.success(self.request, _("“%(title)s” saved.") % {"title": item.title})
        return redirect("module_content_list", module_id=self.module.pk)


class ContentCreateUpdateView(ContentFormMixin, InvalidSubmissionMixin, TemplateView):
    """Create (no `id`) or edit (`id` is the item's id) one content of the given kind."""

    template_name = "courses/manage/content/form.html"

    def load_owned(self, *, module_id, model_name, id=None):
        if model_name not in CONTENT_FORMS:
            raise Http404(_("No such kind of content."))
        self.form_class = CONTENT_FORMS[model_name]
        self.load_content(module_id=module_id, kind=model_name, id=id)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self._form()))

    def post(self, request, *args, **kwargs):
        form = self._form(data=request.POST, files=request.FILES)
        if form.is_valid():
            item = form.save(commit=False)
            try:
                if self.content is None:
                    services.content_create(module=self.module, item=item)
                else:
                    services.content_update(content=self.content, item=item)
            except ValidationError as error:
                _add_service_errors(form, error)
            else:
                return self.saved(item)
        return self.render_invalid(form=form)

    def _form(self, data=None, files=None):
        instance = self.content.item if self.content is not None else None
        return self.form_class(data=data, files=files, instance=instance)


class QuizCreateUpdateView(ContentFormMixin, InvalidSubmissionMixin, TemplateView):
    """Create (no `id`) or edit a quiz, its settings and its questions on one page."""

    template_name = "courses/manage/content/quiz_form.html"

    def load_owned(self, *, module_id, id=None):
        self.load_content(module_id=module_id, kind="quiz", id=id)

    def get(self, request, *args, **kwargs):
        form, formset = self._forms()
        return self.render_to_response(self.get_context_data(form=form, formset=formset))

    def post(self, request, *args, **kwargs):
        form, formset = self._forms(data=request.POST)
        if form.is_valid() and formset.is_valid():
            quiz = form.save(commit=False)
            try:
                services.quiz_save(
                    module=self.module, content=self.content, quiz=quiz, question_formset=formset
                )
            except ValidationError as error:
                _add_service_errors(form, error)
            else:
                return self.saved(quiz)
        return self.render_invalid(form=form, formset=formset)

    def _forms(self, data=None):
        quiz = self.content.item if self.content is not None else Quiz()
        form = QuizForm(data=data, instance=quiz)
        formset = QuestionFormSet(data=data, instance=quiz, prefix="questions")
        return form, formset


class ContentDeleteView(InstructorRequiredMixin, View):
    permission_required = "courses.delete_content"
    http_method_names = ["post"]

    def load_owned(self, *, id):
        self.content = selectors.content_get_for_owner(owner=self.request.user, content_id=id)

    def post(self, request, id):
        services.content_delete(content=self.content)
        messages.success(request, _("Content deleted."))
        return redirect("module_content_list", module_id=self.content.module_id)


# --- CMS: ordering (JSON) -----------------------------------------------------------------------


class OrderView(InstructorRequiredMixin, View):
    """POST {"<id>": <position>, ...}; CSRF-protected like every other POST of the site."""

    http_method_names = ["post"]
    reorder = None  # a services.*_reorder function

    def post(self, request):
        try:
            orders = order_payload_parse(request.body)
        except ValueError as error:
            return JsonResponse({"error": str(error)}, status=400)
        try:
            self.reorder(owner=request.user, orders=orders)
        except Http404 as error:
            return JsonResponse({"error": str(error)}, status=404)
        return JsonResponse({"saved": True})


class ModuleOrderView(OrderView):
    permission_required = "courses.change_module"
    reorder = staticmethod(services.module_reorder)


class ContentOrderView(OrderView):
    permission_required = "courses.change_content"
    reorder = staticmethod(services.content_reorder)
