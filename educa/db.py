"""Facts about the database that several apps rely on."""

from collections.abc import Iterator, Sequence

from django.db import connection
from django.db.models import Field, Model, QuerySet
from django.http import Http404

# The largest value of a PostgreSQL bigint: every id (BigAutoField) and every chat seq. A
# number above it is no row's, and must be refused before it reaches a query.
BIGINT_MAX = 2**63 - 1


def first_or_404(queryset: QuerySet, message: str):
    """The query's first row, or Http404 with `message` when there is none.

    Unlike get_object_or_404, the 404 names the thing in the user's language ("No such
    course."), and the caller's filters (an owner, a student) make anyone else's row a 404 too.
    """
    row = queryset.first()
    if row is None:
        raise Http404(message)
    return row


def value_for_db(model: type[Model], field_name: str, value):
    """`value` as the field stores it (a datetime adapted, a JSON value encoded): for rows_insert,
    computed once for a value that many rows share."""
    return model._meta.get_field(field_name).get_db_prep_save(value, connection)


def _row_sets(model_fields: list[Field], rows: Sequence[Sequence]) -> Iterator[tuple[str, list]]:
    """The rows as SQL row sets, (SQL, parameters) each. On PostgreSQL one set of one array per
    column, its text the same whatever the number of rows (a parameter per value costs as much
    again to build and send); elsewhere a VALUES list per chunk the database accepts."""
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in model_fields)
        columns = [list(column) for column in zip(*rows, strict=True)]
        yield f"SELECT * FROM unnest({arrays})", columns  # noqa: S608 - types from the fields
        return
    row_sql = "(" + ", ".join(["%s"] * len(model_fields)) + ")"
    per_set = (connection.features.max_query_params or 65535) // len(model_fields)
    for start in range(0, len(rows), per_set):
        chunk = rows[start : start + per_set]
        yield f"VALUES {', '.join([row_sql] * len(chunk))}", [v for row in chunk for v in row]


def rows_insert(model: type[Model], fields: Sequence[str], rows: Sequence[Sequence]) -> list[int]:
    """Insert rows of the model's `fields` into its table; their ids, in order.

    bulk_create without its preparation of every value through its field, which costs most of
    the chat writer's CPU for a batch of messages: each value must already be as the database
    stores it (a foreign key as an id; datetimes and JSON through value_for_db).
    """
    quote = connection.ops.quote_name
    model_fields = [model._meta.get_field(name) for name in fields]
    # Identifiers from the model's meta, every value a parameter.
    insert = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(field.column) for field in model_fields)}) "
    )
    returning = f" RETURNING {quote(model._meta.pk.column)}"
    ids = []
    with connection.cursor() as cursor:
        for row_set, params in _row_sets(model_fields, rows) if rows else ():
            cursor.execute(insert + row_set + returning, params)
            ids.extend(pk for (pk,) in cursor.fetchall())
    return ids


def ids_matching(model: type[Model], fields: Sequence[str], keys: Sequence[Sequence]) -> list[int]:
    """The ids of the model's rows whose `fields` equal one of the keys (tuples of values as
    the database stores them), found key by key through an index on those fields.

    `field__in` filters for each field apart would match any combination of the values: the
    planner then reads the whole table rather than probe the index for every combination.
    """
    quote = connection.ops.quote_name
    model_fields = [model._meta.get_field(name) for name in fields]
    # Identifiers from the model's meta, every value a parameter.
    select = (
        f"SELECT {quote(model._meta.pk.column)} FROM {quote(model._meta.db_table)} "  # noqa: S608
        f"WHERE ({', '.join(quote(field.column) for field in model_fields)}) IN "
    )
    ids = []
    with connection.cursor() as cursor:
        for row_set, params in _row_sets(model_fields, keys) if keys else ():
            cursor.execute(f"{select}({row_set})", params)
            ids.extend(pk for (pk,) in cursor.fetchall())
    return ids
