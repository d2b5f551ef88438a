"""New rows of several tables written by one INSERT statement.

A new ticket is a ticket, its first message and the notifications it causes: three ORM
INSERTs, each compiled anew and each a round trip, were the largest part of an intake's
Python time (perf, issue 8). `rows_insert` writes such a group as one statement on
PostgreSQL: one data-modifying CTE per row (`WITH r0 AS (INSERT ... RETURNING id), ...`),
whose SQL is Django's own INSERT for that model, compiled once per shape of the group.
Values go through the same field methods as `Model.save` (`pre_save`, so `auto_now` is
filled in; `get_db_prep_save`), and one statement is atomic on its own. Foreign keys are
checked at the end of the statement (PostgreSQL's are), so rows may refer to rows of the
same group, whose ids must then be set first (`supporthub.db.next_ids`).

Elsewhere (SQLite for `make run`), or for a value that is an expression, each row is saved
with `save(force_insert=True)` in one transaction: the same rows, more statements.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, router, transaction
from django.db.models import Field, Model
from django.db.models.sql import InsertQuery

from supporthub.db import statement_cursor

# (model, pk given) per row → (SQL, each row's fields in parameter order)
_Shape = tuple[tuple[type[Model], bool], ...]
_compiled: dict[tuple[str, _Shape], tuple[str, list[list[Field]]]] = {}


def rows_insert(*objs: Model) -> None:
    """INSERT every (unsaved) instance of `objs`, in that order, and set its primary key.

    On PostgreSQL a row that refers to another of `objs` needs that one's primary key set
    beforehand. Raises what `save` raises: IntegrityError for a duplicate, ValueError for a
    reference to an unsaved instance. No signals are sent on PostgreSQL (none is connected
    to the models written this way).
    """
    if not objs:
        return
    using = router.db_for_write(type(objs[0]))
    connection = connections[using]
    if connection.vendor == "postgresql":
        for obj in objs:  # what save() checks first: no reference to an unsaved row
            obj._prepare_related_fields_for_save(operation_name="rows_insert")  # type: ignore[attr-defined]
        sql, fields = _statement(using, objs)
        values = [field.pre_save(obj, True) for obj, row in zip(objs, fields, strict=True) for field in row]
        if not any(hasattr(value, "resolve_expression") for value in values):
            params = [
                field.get_db_prep_save(value, connection)
                for field, value in zip((f for row in fields for f in row), values, strict=True)
            ]
            with statement_cursor(connection, sql) as cursor:
                cursor.execute(sql, params)
                ids = cursor.fetchone()
            for obj, pk in zip(objs, ids, strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = using
            return
    with transaction.atomic(using=using, savepoint=False):
        for obj in objs:
            obj.save(force_insert=True, using=using)


def _statement(using: str, objs: Sequence[Model]) -> tuple[str, list[list[Field]]]:
    shape = tuple((type(obj), obj.pk is not None) for obj in objs)
    try:
        return _compiled[using, shape]
    except KeyError:
        pass
    connection = connections[using]
    ctes, fields = [], []
    for index, (model, pk_given) in enumerate(shape):
        meta = model._meta
        row_fields = [f for f in meta.local_concrete_fields if pk_given or f is not meta.auto_field]
        query = InsertQuery(model)
        query.insert_values(row_fields, [model()])  # placeholders only: values are bound per call
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = [meta.pk]
        ((insert, sample),) = compiler.as_sql()
        if len(sample) != len(row_fields):  # a field with a placeholder of its own
            raise NotImplementedError(f"rows_insert cannot write {meta.label}")
        ctes.append(f"r{index} AS ({insert})")
        fields.append(row_fields)
    # Only the models' quoted column names are interpolated; every value is a parameter.
    pk_column = ", ".join(
        f"(SELECT {connection.ops.quote_name(str(model._meta.pk.column))} FROM r{index})"  # noqa: S608
        for index, (model, _) in enumerate(shape)
    )
    _compiled[using, shape] = statement = (f"WITH {', '.join(ctes)} SELECT {pk_column}", fields)
    return statement
