import pytest

from tests.factories import CourseFactory, InstructorFactory, ModuleFactory, UserFactory


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploads go to a fresh folder, so a test can list exactly what is on disk."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def instructor(db):
    return InstructorFactory()


@pytest.fixture
def student(db):
    return UserFactory()


@pytest.fixture
def course(instructor):
    return CourseFactory(owner=instructor)


@pytest.fixture
def module(course):
    return ModuleFactory(course=course)


@pytest.fixture
def instructor_client(client, instructor):
    client.force_login(instructor)
    return client
