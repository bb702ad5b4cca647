"""SQL written once and run again with other values: for the hottest reads and inserts.

On a small read the ORM costs several times what the database does: building and
compiling the stock list's page of 50 balances took about 0.6 ms of CPU, reading it
0.15 ms (docs/benchmarks.md). A read whose shape stays the same from one request to
the next - only its values change - is built once per thread with :class:`Placeholder`
values where the request's values go, compiled once, and then run as SQL with the
request's values. Its rows go through the converters the ORM would apply, so they are
exactly what ``.values_list()`` on the same queryset gives.

A placeholder takes a ``str`` or an ``int`` (or another value the database driver
adapts as the column expects); a ``None`` changes the SQL (``IS NULL``), so a caller
whose value may be ``None`` builds a different shape for it.

:class:`PreparedInsert` does the same for the INSERT of a few rows of one model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Expression, Model, QuerySet
from django.db.models.fields import AutoFieldMixin


class Placeholder(Expression):
    """Where a value given at run time goes: ``.filter(code=Placeholder("code"))``."""

    def __init__(self, name: str, output_field=None):
        super().__init__(output_field=output_field)
        self.name = name

    def __repr__(self) -> str:
        return f"Placeholder({self.name!r})"

    def as_sql(self, compiler, connection):
        return "%s", [_Slot(self.name)]


class _Slot:
    """A parameter of the compiled SQL to be filled with the value of ``name``."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class _Compiled:
    def __init__(self, queryset: QuerySet):
        compiler = queryset.query.get_compiler(queryset.db)
        self.alias = queryset.db
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slots = [(i, p.name) for i, p in enumerate(params) if isinstance(p, _Slot)]
        if compiler.query.is_sliced and compiler.query.high_mark is None:
            raise ValueError("an open-ended slice is not prepared")
        columns = [select[0] for select in compiler.select[: compiler.col_count]]
        self.converters = list(compiler.get_converters(columns).items())

    def run(self, values: Mapping[str, Any]) -> list[list]:
        params = list(self.params)
        for index, name in self.slots:
            params[index] = values[name]
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if not self.converters:
            return [list(row) for row in rows]
        converted = []
        for row in map(list, rows):
            for position, (converters, expression) in self.converters:
                value = row[position]
                for converter in converters:
                    value = converter(value, expression, connection)
                row[position] = value
            converted.append(row)
        return converted


class PreparedQueries:
    """Compiled forms of one read, one per shape (which filters it has), kept per thread.

    ``build(shape)`` returns the queryset of that shape with placeholders (a
    ``.values_list()``, sliced if it is a page); :meth:`rows` compiles it on first
    use in a thread (database connections are per thread) and runs it.
    """

    def __init__(self, build: Callable[[Hashable], QuerySet]):
        self._build = build
        self._local = threading.local()

    def rows(self, shape: Hashable, values: Mapping[str, Any]) -> list[list]:
        compiled = getattr(self._local, "compiled", None)
        if compiled is None:
            compiled = self._local.compiled = {}
        prepared = compiled.get(shape)
        if prepared is None:
            prepared = compiled[shape] = _Compiled(self._build(shape))
        return prepared.run(values)


class PreparedInsert:
    """Rows of one model inserted as ``bulk_create`` inserts them, with SQL written once.

    ``save()`` and ``bulk_create()`` build and compile their INSERT again on every
    call; for the one or two rows of a stock movement that cost the ORM more CPU
    than the database's insert. Here the statement is written once per database
    and row count. As with ``bulk_create``: every concrete field but the automatic
    primary key, ``pre_save`` applied (``auto_now_add``), no ``save()`` override and
    no signals; the rows get their primary keys (``RETURNING``, in the order
    inserted: PostgreSQL, SQLite 3.35+).
    """

    def __init__(self, model: type[Model]):
        meta = model._meta
        if not isinstance(meta.pk, AutoFieldMixin):
            raise ValueError(f"{model.__name__} has no automatic primary key")
        self._fields = [field for field in meta.concrete_fields if field is not meta.pk]
        self._table = meta.db_table
        self._pk_column = meta.pk.column
        self._sql: dict[tuple[str, int], str] = {}

    def insert(self, objs: list[Model], using: str = DEFAULT_DB_ALIAS) -> list[Model]:
        if not objs:
            return objs
        connection = connections[using]
        sql = self._sql.get((using, len(objs)))
        if sql is None:
            sql = self._sql[(using, len(objs))] = self._statement(connection, len(objs))
        params = [
            field.get_db_prep_save(field.pre_save(obj, True), connection)
            for obj in objs
            for field in self._fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            keys = cursor.fetchall()
        for obj, (pk,) in zip(objs, keys, strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = using
        return objs

    def _statement(self, connection, rows: int) -> str:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in self._fields)
        values = "(" + ", ".join(["%s"] * len(self._fields)) + ")"
        return (
            f"INSERT INTO {quote(self._table)} ({columns}) "
            f"VALUES {', '.join([values] * rows)} RETURNING {quote(self._pk_column)}"
        )
