"""A queryset compiled to SQL once and run again with other values: for the hottest reads.

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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from django.db import connections
from django.db.models import Expression, QuerySet


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
