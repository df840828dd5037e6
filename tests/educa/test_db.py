"""The database helpers of the chat writer's hot path (educa/db.py), on PostgreSQL; SQLite's
branch is exercised by tests/educa/test_sqlite_migrations.py."""

from courses.models import Subject
from educa.db import ids_matching, rows_insert


def test_rows_insert_stores_the_rows_and_gives_their_ids_in_order(db):
    ids = rows_insert(Subject, ["title", "slug"], [("Maths", "maths"), ("Art", "art")])

    stored = dict(Subject.objects.values_list("pk", "slug"))
    assert [stored[pk] for pk in ids] == ["maths", "art"]


def test_rows_insert_stores_texts_that_mean_something_in_sql_or_in_an_array_as_they_are(db):
    # Each column travels as one array: its elements must not be read as NULL, nested arrays,
    # separators or quotes.
    titles = ["NULL", "{a,b}", 'say "hi"', "back\\slash", "it's", "a, b", "line\nbreak", "👍", ""]
    rows_insert(Subject, ["title", "slug"], [(title, f"s-{n}") for n, title in enumerate(titles)])

    assert list(Subject.objects.order_by("slug").values_list("title", flat=True)) == titles


def test_rows_insert_of_no_rows_stores_nothing(db):
    assert rows_insert(Subject, ["title", "slug"], []) == []
    assert not Subject.objects.exists()


def test_ids_matching_finds_the_rows_equal_to_a_whole_key_not_to_a_mix_of_keys(db):
    maths, art = rows_insert(Subject, ["title", "slug"], [("Maths", "maths"), ("Art", "art")])

    # ("Maths", "art") mixes the two rows: `title__in` and `slug__in` filters would match both.
    found = ids_matching(Subject, ["title", "slug"], [("Maths", "art"), ("Art", "art")])

    assert found == [art]


def test_ids_matching_no_keys_is_no_ids(db):
    assert ids_matching(Subject, ["title", "slug"], []) == []
