import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor

from students.models import UsernameSkeleton
from students.usernames import username_clash_exists, username_skeleton
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "lookalike"),
    [
        ("admin", "ädmin"),  # a combining mark
        ("admin", "Admin"),  # case
        ("admin", "\u0430dmin"),  # Cyrillic а
        ("fullwidth", "ｆｕｌｌｗｉｄｔｈ"),  # compatibility forms
        ("admin", "adrnin"),  # TR39 confusables: rn for m
        ("user1", "userl"),
        ("bob0", "BOBO"),  # a confusable whose prototype is a capital
    ],
)
def test_look_alike_names_share_a_skeleton(name, lookalike):
    assert username_skeleton(name) == username_skeleton(lookalike)


@pytest.mark.parametrize(("name", "other"), [("admin", "admins"), ("ada", "eda"), ("a.b", "a_b")])
def test_different_names_have_different_skeletons(name, other):
    assert username_skeleton(name) != username_skeleton(other)


def test_a_new_user_gets_a_skeleton():
    user = UserFactory(username="ada")

    assert username_clash_exists(username="ADA")
    assert not username_clash_exists(username="ADA", user=user)


def test_renaming_a_user_moves_their_skeleton():
    user = UserFactory(username="ada")

    user.username = "grace"
    user.save()

    assert (username_clash_exists(username="Ada"), username_clash_exists(username="Grace")) == (
        False,
        True,
    )


def test_the_database_refuses_a_look_alike_name_that_skipped_the_checks():
    UserFactory(username="admin")

    with pytest.raises(IntegrityError):
        User.objects.create_user("\u0430dmin")


# --- the migration that gave existing users their skeletons -----------------------------------

BEFORE = [("students", "0004_delete_throttle_window")]
AFTER = [("students", "0005_username_skeleton")]


@pytest.fixture
def migrate_to():
    def migrate(targets):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    yield migrate
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_look_alike_names_are_kept_and_still_refuse_new_ones(migrate_to):
    old_apps = migrate_to(BEFORE)
    OldUser = old_apps.get_model("auth", "User")
    first = OldUser.objects.create(username="admin")
    second = OldUser.objects.create(username="Admin")
    other = OldUser.objects.create(username="grace")

    new_apps = migrate_to(AFTER)

    rows = dict(UsernameSkeleton.objects.values_list("user_id", "predates_check"))
    assert rows == {first.pk: False, second.pk: True, other.pk: False}
    # The model of that state: today's User also deletes rows of tables made by later migrations.
    new_apps.get_model("auth", "User").objects.filter(pk=first.pk).delete()
    assert username_clash_exists(username="ädmin")


@pytest.mark.parametrize("name", ["instructor", "Instructor", "\u0456nstructor"])
def test_the_instructor_alias_and_its_look_alikes_are_reserved(name):
    assert username_clash_exists(username=name)
