import csv
from itertools import chain

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.generic import FormView, ListView, TemplateView, View

from chat.selectors import question_list_for_module, questions_version
from courses.cache import text_digest
from courses.selectors import course_get_for_owner
from educa.client_ip import client_ip_address
from educa.site import site_url
from educa.views import InvalidSubmissionMixin
from quizzes.selectors import (
    attempt_list_for_module,
    attempts_version,
    quiz_grades_for_student,
    quiz_panel,
    quiz_progress_for_module,
)

from .activation import user_get_for_activation
from .certificate_pdf import certificate_pdf, certificate_verification_url
from .email_preferences import (
    MENTION_EMAILS_LINK_INVALID,
    mention_emails_set,
    mention_emails_wanted,
    user_get_for_mention_emails_off,
)
from .forms import (
    AccountDeleteForm,
    CertificateNameForm,
    CourseIdForm,
    LoginForm,
    ProfileForm,
    StudentRegistrationForm,
)
from .language import SESSION_LANGUAGE_KEY, language_cookie_set, language_supported
from .selectors import (
    certificate_get_for_owner,
    certificate_get_public,
    content_done_ids_by_module,
    content_get_for_member,
    content_list_for_study,
    course_get_for_study,
    course_progress_from_modules,
    enrollment_list_for_student,
    gradebook_columns,
    gradebook_csv_cell,
    gradebook_rows,
    gradebook_sort_parse,
    module_list_for_study,
    module_pick_for_study,
    profile_language_for_user,
)
from .services import (
    ACTIVATION_LINK_INVALID,
    certificate_revoke,
    content_completion_create,
    content_completion_delete,
    email_throttle_check,
    enrollment_create,
    enrollment_delete,
    enrollment_visit_module,
    profile_language_set,
    student_has_full_name,
    student_name_set,
    user_activate,
    user_delete,
    user_profile_update,
    user_register,
)

# The study page's main part, cached per user, course version, progress and CSRF secret.
STUDY_FRAGMENT_TIMEOUT = 600

# Several authentication backends are configured (django-axes first); a user who has just
# confirmed a registration was checked by none of them, so login() must be told which one applies.
REGISTRATION_BACKEND = "django.contrib.auth.backends.ModelBackend"


def bad_request(request, errors) -> HttpResponse:
    """A 400 page saying what was wrong with the submitted form."""
    return render(request, "students/bad_request.html", {"errors": errors}, status=400)


class PostActionMixin(LoginRequiredMixin):
    """A POST-only action for logged-in users.

    The method is checked before the log-in, so that a GET is a 405 for everyone rather than a
    redirect to a log-in page that would bring the user back to a GET.
    """

    http_method_names = ["post"]
    login_next_url = reverse_lazy("student_course_list")

    def dispatch(self, request, *args, **kwargs):
        if request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def get_login_next_url(self) -> str:
        return str(self.login_next_url)

    def handle_no_permission(self):
        # Coming back after the log-in is a GET: send the user somewhere a GET makes sense.
        return redirect_to_login(self.get_login_next_url(), self.get_login_url())


# --- accounts ---------------------------------------------------------------------------------


class StudentRegistrationView(InvalidSubmissionMixin, FormView):
    template_name = "students/student/registration.html"
    form_class = StudentRegistrationForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("student_course_list")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            email_throttle_check(
                action="registration",
                email=form.cleaned_data["email"],
                client_ip=client_ip_address(self.request),
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        try:
            user_register(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        # The same answer whether the address was new or in use (account enumeration).
        return redirect("student_registration_done")


class StudentRegistrationDoneView(TemplateView):
    template_name = "students/student/registration_done.html"


class EmailLinkView(TemplateView):
    """A link sent by e-mail that acts for the account it names, no log-in needed.

    GET only shows a button and POST acts: mail scanners that fetch links must neither spend
    them nor change anything. A link that names no account is a 400 with `link_invalid`.
    """

    link_invalid = None

    def account_for_link(self, **url_kwargs):
        """The account the link's URL names, or None."""
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        self.account = self.account_for_link(**kwargs)
        if self.account is None:
            return bad_request(request, [self.link_invalid])
        return super().dispatch(request, *args)

    def get_context_data(self, **kwargs):
        return super().get_context_data(account=self.account, **kwargs)


class AccountActivateView(EmailLinkView):
    """The link of the registration e-mail: a button that opens the account and logs in."""

    template_name = "students/student/activate.html"
    link_invalid = ACTIVATION_LINK_INVALID

    def account_for_link(self, *, uidb64, token):
        return user_get_for_activation(uidb64=uidb64, token=token)

    def post(self, request):
        user = user_activate(user=self.account)
        login(request, user, backend=REGISTRATION_BACKEND)
        messages.success(request, _("Welcome, %(username)s!") % {"username": user.get_username()})
        return redirect("student_course_list")


class MentionEmailsOffView(EmailLinkView):
    """The link in every mention e-mail: a button that turns those e-mails off."""

    template_name = "students/account/mention_emails_off.html"
    link_invalid = MENTION_EMAILS_LINK_INVALID

    def account_for_link(self, *, token):
        return user_get_for_mention_emails_off(token=token)

    def post(self, request):
        mention_emails_set(user=self.account, enabled=False)
        return self.render_to_response(self.get_context_data(done=True))


# Django's account views, with an invalid submission answered 400 like every form of the site.


class LoginView(InvalidSubmissionMixin, auth_views.LoginView):
    """A failed log-in is a 400 until django-axes' middleware swaps it for its lock-out page."""

    authentication_form = LoginForm

    def get_default_redirect_url(self):
        # Instructors land on their courses, students (LOGIN_REDIRECT_URL) on what they study.
        if self.request.user.has_perm("courses.view_course"):
            return reverse("instructor_home")
        return super().get_default_redirect_url()


class PasswordChangeView(InvalidSubmissionMixin, auth_views.PasswordChangeView):
    """Django's password change."""


class PasswordResetConfirmView(InvalidSubmissionMixin, auth_views.PasswordResetConfirmView):
    """Django's new password from a reset link."""


class PasswordResetView(InvalidSubmissionMixin, auth_views.PasswordResetView):
    """Django's password reset, with the e-mails throttled per address and per client."""

    html_email_template_name = "registration/password_reset_email_html.html"

    @property
    def extra_email_context(self):
        # Links start with SITE_URL, as in every e-mail, not with the request's Host.
        return {"site_url": site_url()}

    def form_valid(self, form):
        try:
            email_throttle_check(
                action="password_reset",
                email=form.cleaned_data["email"],
                client_ip=client_ip_address(self.request),
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


class ProfileView(LoginRequiredMixin, InvalidSubmissionMixin, FormView):
    template_name = "students/account/profile.html"
    form_class = ProfileForm

    def get_form_kwargs(self):
        user = self.request.user
        language = profile_language_for_user(user=user) or translation.get_language()
        return {**super().get_form_kwargs(), "user": user, "language": language}

    def get_initial(self):
        return {"mention_emails": mention_emails_wanted(user=self.request.user)}

    def form_valid(self, form):
        fields = dict(form.cleaned_data)
        mention_emails = fields.pop("mention_emails")
        try:
            user_profile_update(user=self.request.user, **fields)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        mention_emails_set(user=self.request.user, enabled=mention_emails)
        language = form.cleaned_data["language"]
        if language is not None:
            self.request.session[SESSION_LANGUAGE_KEY] = language
        # The message is read on the next page, which is in the new language.
        with translation.override(language or translation.get_language()):
            messages.success(self.request, _("Your profile has been saved."))
        return redirect("profile")


class AccountDeleteView(LoginRequiredMixin, InvalidSubmissionMixin, FormView):
    template_name = "students/account/delete.html"
    form_class = AccountDeleteForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        try:
            user_delete(user=self.request.user)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        logout(self.request)
        messages.success(self.request, _("Your account has been deleted."))
        return redirect("course_list")


class LanguageSwitchView(View):
    """A footer link: speak `code` from now on (cookie, and the profile when logged in), then
    go back to `next` when it is on this site.

    A plain GET, so that no page needs a form and a CSRF token for it; what it changes is only
    the language of the pages this browser gets.
    """

    def get(self, request, code):
        language = language_supported(code)
        if language is None:
            raise Http404(_("This language is not available."))
        if request.user.is_authenticated:
            profile_language_set(user=request.user, language=language)
            request.session[SESSION_LANGUAGE_KEY] = language
        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = reverse("course_list")
        response = HttpResponseRedirect(next_url)
        language_cookie_set(response, language)
        return response


# --- enrollment -------------------------------------------------------------------------------


class EnrollmentCreateView(PostActionMixin, View):
    def get_login_next_url(self):
        # Back to the course page the Enroll button was on, when the id names one.
        form = CourseIdForm(self.request.POST)
        if form.is_valid():
            return form.course.get_absolute_url()
        return super().get_login_next_url()

    def post(self, request):
        form = CourseIdForm(request.POST)
        if not form.is_valid():
            return bad_request(request, form.errors["course_id"])
        try:
            enrollment_create(student=request.user, course=form.course)
        except ValidationError as error:
            return bad_request(request, error.messages)
        messages.success(
            request, _("You are enrolled in %(title)s.") % {"title": form.course.title}
        )
        return redirect("student_course_detail", pk=form.course.pk)


class EnrollmentDeleteView(PostActionMixin, View):
    def post(self, request):
        form = CourseIdForm(request.POST)
        if not form.is_valid():
            return bad_request(request, form.errors["course_id"])
        try:
            enrollment_delete(student=request.user, course=form.course)
        except ValidationError as error:
            return bad_request(request, error.messages)
        messages.success(request, _("You have left %(title)s.") % {"title": form.course.title})
        return redirect("student_course_list")


# --- studying ---------------------------------------------------------------------------------


class StudentCourseListView(LoginRequiredMixin, ListView):
    template_name = "students/course/list.html"
    context_object_name = "enrollments"
    paginate_by = 20

    def get_queryset(self):
        return enrollment_list_for_student(student=self.request.user)

    def get_context_data(self, **kwargs):
        has_full_name = student_has_full_name(self.request.user)
        return super().get_context_data(has_full_name=has_full_name, **kwargs)


class StudentCourseDetailView(LoginRequiredMixin, TemplateView):
    """The study view: one module of a course, for its students and its owner."""

    template_name = "students/course/detail.html"

    def get_context_data(self, pk, module_id=None, **kwargs):
        user = self.request.user
        course, enrollment = course_get_for_study(user=user, course_id=pk)
        is_owner = course.owner_id == user.pk
        # The owner previews: no progress of theirs is shown.
        done_by_module = {} if is_owner else content_done_ids_by_module(student=user, course=course)
        modules = module_list_for_study(course=course, done_by_module=done_by_module)
        module = module_pick_for_study(modules=modules, module_id=module_id, enrollment=enrollment)
        if module is not None and enrollment is not None and enrollment.last_module_id != module.pk:
            enrollment_visit_module(student=user, module=module)

        # Quiz attempts change the page (result, form, attempts left, grades): the fragment key
        # has the student's attempts version, and they are read only to render it again.
        has_quizzes = not is_owner and any(item.quiz_count for item in modules)
        attempts_token = (
            attempts_version(student_id=user.pk, course_id=course.pk) if has_quizzes else ""
        )

        def grades():
            if not has_quizzes:
                return []
            return quiz_grades_for_student(student=user, course_ids=[course.pk])[course.pk]

        def contents():
            # Called by the template only when the page's cached fragment is missing.
            if module is None:
                return []
            done = done_by_module.get(module.pk, set())
            rendered = content_list_for_study(module=module, version=course.version, done_ids=done)
            panels = {}
            if not is_owner and any(content.kind == "quiz" for content, _ in rendered):
                quizzes = {content.id: content.quiz for content, _ in rendered if content.quiz}
                attempts = attempt_list_for_module(student=user, module=module)
                progress = quiz_progress_for_module(quizzes=quizzes, attempts=attempts)
                panels = {pk: quiz_panel(state) for pk, state in progress.items()}
            return [(content, is_done, panels.get(content.id)) for content, is_done in rendered]

        def content_questions():
            # Read (one query for the whole module) only when the cached fragment is missing.
            return question_list_for_module(module_id=module.pk) if module is not None else {}

        progress = course_progress_from_modules(modules)
        index = modules.index(module) if module is not None else 0
        return super().get_context_data(
            course=course,
            modules=modules,
            module=module,
            previous_module=modules[index - 1] if index > 0 else None,
            next_module=modules[index + 1] if index + 1 < len(modules) else None,
            contents=contents,
            content_questions=SimpleLazyObject(content_questions),
            enrollment=enrollment,
            progress=progress,
            grades=SimpleLazyObject(grades),
            is_owner=is_owner,
            has_full_name=student_has_full_name(user),
            fragment_key=_study_fragment_key(
                self.request,
                course=course,
                module=module,
                done_by_module=done_by_module,
                enrollment=enrollment,
                attempts_token=attempts_token,
            ),
            fragment_timeout=STUDY_FRAGMENT_TIMEOUT,
            **kwargs,
        )


def _completion_state(enrollment, user) -> str:
    """What the study page says of the course's completion and certificate, as text for its
    cache key."""
    if enrollment is None or enrollment.completed_at is None:
        return ""
    return ":".join(
        str(value)
        for value in (
            enrollment.completed_at.timestamp(),
            enrollment.certificate_id or "",
            enrollment.certificate_revoked_at is not None,
            student_has_full_name(user),
        )
    )


def _study_fragment_key(
    request, *, course, module, done_by_module, enrollment, attempts_token=""
) -> str | None:
    """Everything the study page's main part shows depends on, or None not to cache it.

    The part holds the user's progress, quiz attempts and grades, completion and certificate, the
    course chat's questions about the contents, and forms whose CSRF token is valid for this
    browser's CSRF secret only: the key names the user, what they have done, their attempts
    version (quizzes.selectors.attempts_version), the completion's state, the course's questions
    version and a digest of the secret. Without a CSRF cookie the secret is new on every
    request, so nothing is cached.
    """
    secret = request.META.get("CSRF_COOKIE")
    if not secret:
        return None
    done = sorted(chain.from_iterable(done_by_module.values()))
    return ":".join(
        [
            str(request.user.pk),
            str(course.pk),
            str(course.version),
            str(module.pk if module is not None else ""),
            text_digest(",".join(map(str, done))),
            text_digest(_completion_state(enrollment, request.user)),
            attempts_token,
            text_digest(secret),
            questions_version(course_id=course.pk),
        ]
    )


class ContentCompletionCreateView(PostActionMixin, View):
    def post(self, request, content_id):
        content = content_get_for_member(user=request.user, content_id=content_id)
        try:
            content_completion_create(student=request.user, content=content)
        except ValidationError as error:
            return bad_request(request, error.messages)
        return redirect(_study_url(content))


class ContentCompletionDeleteView(PostActionMixin, View):
    def post(self, request, content_id):
        content = content_get_for_member(user=request.user, content_id=content_id)
        try:
            content_completion_delete(student=request.user, content=content)
        except ValidationError as error:
            return bad_request(request, error.messages)
        return redirect(_study_url(content))


def _study_url(content) -> str:
    module = content.module
    url = reverse("student_course_detail_module", args=[module.course_id, module.pk])
    return f"{url}#content-{content.pk}"


# --- instructors ------------------------------------------------------------------------------


class CourseGradebookView(PermissionRequiredMixin, ListView):
    """The gradebook of one of the instructor's courses: who is enrolled, since when, how far
    they are, when they completed it, their certificate and their grade at each quiz; sorted by
    `?sort=`, as a CSV file with `?format=csv`."""

    permission_required = "courses.change_course"
    template_name = "students/course/grades.html"
    context_object_name = "enrollments"
    paginate_by = 50

    def get(self, request, *args, **kwargs):
        self.course = course_get_for_owner(owner=request.user, course_id=self.kwargs["pk"])
        self.columns = gradebook_columns(course=self.course)
        try:
            self.sort = gradebook_sort_parse(columns=self.columns, sort=request.GET.get("sort"))
        except ValidationError as error:
            return bad_request(request, error.messages)
        output = request.GET.get("format", "html")
        if output == "csv":
            return self.csv_response()
        if output != "html":
            return bad_request(request, [_("The gradebook comes as html or csv only.")])
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return gradebook_rows(course=self.course, columns=self.columns, sort=self.sort)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(course=self.course, **kwargs)
        context["headers"] = [
            {
                "column": column,
                "sort": self._next_sort(column) if column.order_by else None,
                "sorted": self._sorted(column),
            }
            for column in self.columns
        ]
        context["rows"] = [
            (enrollment, [(column.key, column.value(enrollment)) for column in self.columns])
            for enrollment in context["enrollments"]
        ]
        context["sort"] = self.sort
        context["pagination_query"] = urlencode({"sort": self.sort})
        context["has_quizzes"] = any(column.key.startswith("quiz-") for column in self.columns)
        return context

    def _sorted(self, column) -> str | None:
        if self.sort.removeprefix("-") != column.key:
            return None
        return "descending" if self.sort.startswith("-") else "ascending"

    def _next_sort(self, column) -> str:
        # A second click on the sorted column turns its order round.
        return f"-{column.key}" if self._sorted(column) == "ascending" else column.key

    def csv_response(self) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        filename = f"grades-{self.course.slug}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        writer = csv.writer(response)
        parts = [part for column in self.columns for part in column.csv_parts]
        writer.writerow([gradebook_csv_cell(str(label)) for label, _value in parts])
        for enrollment in self.get_queryset():
            writer.writerow([gradebook_csv_cell(value(enrollment)) for _label, value in parts])
        return response


# --- certificates -----------------------------------------------------------------------------


class CertificateDetailView(TemplateView):
    """A certificate's public page: anyone with its address can check what it certifies."""

    template_name = "students/certificate/detail.html"

    def get_context_data(self, certificate_id, **kwargs):
        certificate = certificate_get_public(certificate_id=certificate_id)
        return super().get_context_data(
            certificate=certificate,
            verification_url=certificate_verification_url(certificate),
            **kwargs,
        )


class CertificatePdfView(View):
    """A certificate as a PDF to print or keep; a revoked one is gone (410)."""

    def get(self, request, certificate_id):
        certificate = certificate_get_public(certificate_id=certificate_id)
        if certificate.is_revoked:
            context = {
                "certificate": certificate,
                "verification_url": certificate_verification_url(certificate),
            }
            return render(request, "students/certificate/detail.html", context, status=410)
        response = HttpResponse(certificate_pdf(certificate), content_type="application/pdf")
        filename = f"certificate-{certificate.pk}.pdf"
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        return response


class CertificateRevokeView(PermissionRequiredMixin, View):
    """The course's owner revokes one of its certificates."""

    permission_required = "courses.change_course"
    http_method_names = ["post"]

    def post(self, request, certificate_id):
        certificate = certificate_get_for_owner(owner=request.user, certificate_id=certificate_id)
        certificate_revoke(certificate=certificate)
        messages.success(
            request,
            _("The certificate of %(name)s is revoked.") % {"name": certificate.student_name},
        )
        return redirect("course_grades", pk=certificate.course_id)


class CertificateNameView(LoginRequiredMixin, InvalidSubmissionMixin, FormView):
    """The full name a student's certificates print, asked before they are issued."""

    template_name = "students/certificate/name.html"
    form_class = CertificateNameForm

    def get_initial(self):
        user = self.request.user
        return {"first_name": user.first_name, "last_name": user.last_name}

    def form_valid(self, form):
        try:
            issued = student_name_set(student=self.request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        if issued:
            messages.success(self.request, _("Your certificates are ready."))
        else:
            messages.success(self.request, _("Your name has been saved."))
        return redirect("student_course_list")
