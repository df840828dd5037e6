"""Two languages: English and Spanish, chosen by the browser, a footer link or the profile."""

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from courses.cache import PAGE_CACHE_HEADER
from students.models import Profile
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es-ES,es;q=0.9,en;q=0.5"}


def switch_url(code: str, next_url: str = "") -> str:
    url = reverse("language_switch", args=[code])
    return f"{url}?next={next_url}" if next_url else url


# --- the language of a page ---------------------------------------------------------------------


def test_a_page_follows_accept_language(client):
    response = client.get("/", **SPANISH)

    assert response["Content-Language"] == "es"
    assert '<html lang="es">' in response.content.decode()


def test_a_page_without_accept_language_is_english(client):
    response = client.get("/")

    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in response.content.decode()


def test_the_language_cookie_wins_over_accept_language(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/", **SPANISH)

    assert response["Content-Language"] == "en"


@pytest.mark.parametrize("url", ["/", "/accounts/login/"])
def test_pages_vary_on_accept_language_and_cookie(client, url):
    response = client.get(url)

    vary = {part.strip() for part in response["Vary"].split(",")}
    assert {"Accept-Language", "Cookie"} <= vary


def test_the_catalogue_in_spanish(client):
    CourseFactory(title="Armonía")

    page = client.get("/", **SPANISH).content.decode()

    assert "<h1>Todos los cursos</h1>" in page
    assert "Buscar cursos" in page and "1 módulo" not in page
    assert ">Catálogo</a>" in page and ">Iniciar sesión</a>" in page


def test_the_log_in_page_in_spanish_with_djangos_own_labels(client):
    page = client.get(reverse("login"), **SPANISH).content.decode()

    assert "<title>Iniciar sesión · Educa</title>" in page
    assert "Nombre de usuario" in page  # Django's own catalogue
    assert "¿Has olvidado tu contraseña?" in page


def test_the_chat_room_in_spanish(client):
    enrollment = EnrollmentFactory()
    client.force_login(enrollment.student)

    page = client.get(reverse("chat_room", args=[enrollment.course.pk]), **SPANISH)

    text = page.content.decode()
    assert 'placeholder="Escribe un mensaje…"' in text
    assert "Todavía no hay mensajes. ¡Saluda!" in text
    assert ">Enviar</button>" in text


def test_a_form_error_in_spanish(client):
    user = UserFactory()
    client.force_login(user)
    data = {"first_name": "", "last_name": "", "email": "not-an-address"}

    response = client.post(reverse("profile"), data, **SPANISH)

    assert response.status_code == 400
    assert "Introduzca una dirección de correo electrónico válida." in response.content.decode()


def test_an_error_page_in_spanish(client):
    response = client.get("/no-such-page/", **SPANISH)

    assert response.status_code == 404
    assert "No hemos encontrado esta página" in response.content.decode()


def test_a_flash_message_in_spanish(client):
    user = UserFactory()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    data = {"first_name": "Ada", "last_name": "L", "email": user.email}

    page = client.post(reverse("profile"), data, follow=True).content.decode()

    assert "Se ha guardado tu perfil." in page


def test_the_registration_email_is_in_the_language_of_the_page(
    client, django_capture_on_commit_callbacks
):
    data = {
        "username": "ana",
        "email": "ana@example.com",
        "password1": "una-contraseña-larga-1",
        "password2": "una-contraseña-larga-1",
    }

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("student_registration"), data, **SPANISH)

    [message] = mail.outbox
    assert message.subject == "Confirma tu cuenta de Educa"
    assert "Para abrir tu nueva cuenta de Educa, sigue este enlace:" in message.body
    html = message.alternatives[0][0]
    assert '<html lang="es">' in html and "El equipo de Educa" in html


def test_the_reminder_is_in_the_language_the_user_saved(django_capture_on_commit_callbacks):
    user = UserFactory(first_name="Ana", date_joined=timezone.now() - timedelta(days=10))
    Profile.objects.create(user=user, language="es")

    with django_capture_on_commit_callbacks(execute=True):
        call_command("enroll_reminder", "--days", "7", stdout=open("/dev/null", "w"))  # noqa: SIM115

    [message] = mail.outbox
    assert message.subject == "Tus cursos de Educa te esperan"
    assert message.body.startswith("Hola, Ana:")


def test_an_api_error_in_spanish_keeps_its_english_code(client):
    response = client.get("/api/courses/999999/", **SPANISH)

    assert response.status_code == 404
    assert response.json() == {"message": "Ese curso no existe.", "code": "not_found"}


def test_an_unknown_api_endpoint_answers_in_spanish(client):
    response = client.get("/api/no-such-endpoint/", **SPANISH)

    assert response.status_code == 404
    assert response.json() == {"message": "Ese endpoint no existe.", "code": "not_found"}


def test_the_password_reset_subject_is_in_the_language_of_the_page(client):
    user = UserFactory(email="ana@example.com")

    client.post(reverse("password_reset"), {"email": user.email}, **SPANISH)

    [message] = mail.outbox
    assert message.subject == "Restablece tu contraseña de Educa"


# --- the footer's links -------------------------------------------------------------------------


def test_every_page_links_to_the_other_language_in_that_language(client):
    page = client.get("/accounts/login/").content.decode()

    assert f'href="{switch_url("es", "/accounts/login/")}"' in page
    assert ">Español</a>" in page


def test_the_switch_sets_the_cookie_and_goes_back(client):
    response = client.get(switch_url("es", "/accounts/login/"))

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    assert client.get("/accounts/login/")["Content-Language"] == "es"


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_the_switch_never_leaves_the_site(client, next_url):
    response = client.get(switch_url("es", next_url))

    assert response.status_code == 302
    assert response["Location"] == reverse("course_list")


def test_the_switch_refuses_a_language_the_site_does_not_speak(client):
    response = client.get(switch_url("fr", "/"))

    assert response.status_code == 404
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_the_switch_saves_the_language_of_a_logged_in_user(client):
    user = UserFactory()
    client.force_login(user)

    client.get(switch_url("es", "/"))

    assert Profile.objects.get(user=user).language == "es"


# --- a user's saved language ---------------------------------------------------------------------


def test_the_saved_language_applies_after_logging_in_on_another_browser():
    user = UserFactory()
    Profile.objects.create(user=user, language="es")
    browser = Client()

    browser.post(reverse("login"), {"username": user.username, "password": "pass-word-123"})
    response = browser.get(reverse("profile"), HTTP_ACCEPT_LANGUAGE="en")

    assert response["Content-Language"] == "es"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"


def test_the_profile_page_changes_the_language(client):
    user = UserFactory()
    client.force_login(user)
    data = {"first_name": "Ada", "last_name": "L", "email": user.email, "language": "es"}

    response = client.post(reverse("profile"), data)

    assert response.status_code == 302
    assert Profile.objects.get(user=user).language == "es"
    assert client.get(reverse("profile"))["Content-Language"] == "es"


def test_the_profile_page_refuses_an_unknown_language(client):
    user = UserFactory()
    client.force_login(user)
    data = {"first_name": "Ada", "last_name": "L", "email": user.email, "language": "xx"}

    response = client.post(reverse("profile"), data)

    assert response.status_code == 400
    assert not Profile.objects.filter(user=user).exists()


# --- the anonymous page cache --------------------------------------------------------------------


@pytest.fixture
def _memcached(memcached_cache):
    return memcached_cache


@pytest.mark.usefixtures("_memcached")
def test_cached_anonymous_pages_are_kept_per_language():
    course = CourseFactory()
    url = course.get_absolute_url()
    english, spanish = Client(), Client(**SPANISH)

    english.get(url)
    spanish_first = spanish.get(url)
    spanish_second = spanish.get(url)
    english_second = english.get(url)

    assert spanish_first[PAGE_CACHE_HEADER] == "miss"
    assert (spanish_second[PAGE_CACHE_HEADER], english_second[PAGE_CACHE_HEADER]) == ("hit", "hit")
    assert spanish_second["Content-Language"] == "es"
    assert english_second["Content-Language"] == "en"
    assert "Accept-Language" in spanish_second["Vary"]


@pytest.mark.usefixtures("_memcached")
def test_a_cached_anonymous_page_in_spanish_costs_one_query(django_assert_num_queries):
    url = CourseFactory().get_absolute_url()
    spanish = Client(**SPANISH)
    spanish.get(url)

    with django_assert_num_queries(1):
        assert spanish.get(url)[PAGE_CACHE_HEADER] == "hit"


# --- the JavaScript catalogue --------------------------------------------------------------------


def test_pages_load_the_javascript_catalogue_of_their_language(client):
    page = client.get("/", **SPANISH).content.decode()

    assert f'<script src="{reverse("javascript_catalog")}?l=es" defer></script>' in page


def test_the_javascript_catalogue_is_a_cacheable_script(client):
    response = client.get(reverse("javascript_catalog"), **SPANISH)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "max-age" in response["Cache-Control"]


def test_the_javascript_catalogue_holds_the_spanish_of_static_js(client):
    response = client.get(reverse("javascript_catalog"), **SPANISH)

    assert '"Reconnecting\\u2026": "Reconectando\\u2026"' in response.content.decode()


# --- the translations are complete ---------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent.parent
LOCALE = ROOT / "locale"
# What makemessages reads: the apps, templates and static/js, as the README's command says.
SOURCES = ["chat", "courses", "educa", "quizzes", "students", "templates", "static"]
DOMAINS = ["django", "djangojs"]


def missing_translations(po: Path) -> str:
    """The untranslated and fuzzy entries of a .po file, as msgattrib prints them ("" if none)."""
    untranslated = subprocess.run(
        ["msgattrib", "--untranslated", "--no-obsolete", str(po)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fuzzy = subprocess.run(
        ["msgattrib", "--only-fuzzy", "--no-obsolete", str(po)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return untranslated + fuzzy  # fmt: skip


requires_gettext = pytest.mark.skipif(
    shutil.which("msgattrib") is None, reason="Debian's gettext is not installed"
)


@requires_gettext
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_entry_of_the_spanish_catalogue_is_translated(domain):
    assert missing_translations(LOCALE / "es" / "LC_MESSAGES" / f"{domain}.po") == ""


@requires_gettext
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_marked_string_is_in_the_spanish_catalogue(domain, tmp_path, settings, monkeypatch):
    """makemessages run on a copy of the sources and of the .po: what it adds is new."""
    for source in SOURCES:
        shutil.copytree(
            ROOT / source, tmp_path / source, ignore=shutil.ignore_patterns("__pycache__")
        )
    copy = tmp_path / "locale" / "es" / "LC_MESSAGES"
    copy.mkdir(parents=True)
    shutil.copy(LOCALE / "es" / "LC_MESSAGES" / f"{domain}.po", copy)
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)

    call_command("makemessages", locale=["es"], domain=domain, no_location=True, verbosity=0)

    assert missing_translations(copy / f"{domain}.po") == ""
