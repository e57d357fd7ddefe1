"""The layout is the architecture: every SQL statement lives in crm_scoring/warehouse/.

Read from the source (AST), not from imports at run time: a module outside the warehouse may
neither import sqlalchemy's ``text`` nor hold a string that reads as a SQL statement (plain or
f-string, however it is then executed: ``text``, a psycopg2 cursor, ``pd.read_sql``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "crm_scoring"
HOME = PACKAGE / "warehouse"

# What still holds SQL outside the warehouse, each to move there in its own change:
ALLOWED = {
    # devtools: the benchmark's hand-written queries and the generators' bulk loads
    "devtools",
}

# A statement's opening words, as they start a string: keywords alone ("select a tenant",
# a "COPY " prefix in an error's context) are prose, not statements.
_STATEMENT = re.compile(
    r"""^\s*(
        select\s.+?\sfrom\s
      | insert\s+into\s
      | update\s+\S+\s+(as\s+\w+\s+)?set\s
      | delete\s+from\s
      | (create|drop|alter)\s+(temporary\s+)?(table|index|schema|view|role|database)\s
      | copy\s+(\(|\S+\s+(\(|from\s|to\s))
      | truncate\s
      | analyze\s+\S+\s*$
    )""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)


def sql_in_source(source: str) -> list[str]:
    """'line N: ...' for each import of sqlalchemy's text and each SQL statement in a string."""
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    fstring_parts = {
        id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found += [
                (node.lineno, f"imports text from {node.module}") for a in node.names if a.name == "text"
            ]
        elif isinstance(node, ast.Attribute) and node.attr == "text":
            if isinstance(node.value, ast.Name) and node.value.id in {"sqlalchemy", "sa"}:
                found.append((node.lineno, f"{node.value.id}.text"))
        elif isinstance(node, ast.JoinedStr | ast.Constant) and id(node) not in fstring_parts:
            string = _string_of(node)
            if string is not None and _STATEMENT.match(string):
                found.append((node.lineno, repr(string[:60])))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def _string_of(node: ast.JoinedStr | ast.Constant) -> str | None:
    """The text of a string literal; an f-string's placeholders become "{}"."""
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
    return node.value if isinstance(node.value, str) else None


def _allowed(path: Path) -> bool:
    relative = path.relative_to(PACKAGE)
    return relative.is_relative_to(HOME.relative_to(PACKAGE)) or any(
        relative == Path(entry) or relative.is_relative_to(entry) for entry in ALLOWED
    )


def test_no_sql_outside_the_warehouse() -> None:
    offences = {
        str(path.relative_to(PACKAGE)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if not _allowed(path) and (found := sql_in_source(path.read_text(encoding="utf-8")))
    }
    assert offences == {}, "SQL belongs in crm_scoring/warehouse/: " + repr(offences)


def test_the_allow_list_names_what_exists() -> None:
    # an entry left behind after its module moved would silently allow the next one of that name
    assert [entry for entry in sorted(ALLOWED) if not (PACKAGE / entry).exists()] == []


def test_the_check_sees_sql_however_it_is_written() -> None:
    source = """
from sqlalchemy import Engine, text
import sqlalchemy as sa
q = sa.text("x")
a = f"select tenant_id from {schema}.churn_alerts where as_of_date = :day"
b = "insert into t (a) values (1)"
c = f"update {table} as p set score = 1"
d = "delete from " + table
e = f"copy ({query}) to stdout"
f = f"create table if not exists {schema}.t (id text)"
g = f"analyze {schema}.{table}"
"""
    assert [line.split(":")[0] for line in sql_in_source(source)] == [
        "line 2",
        "line 4",
        "line 5",
        "line 6",
        "line 7",
        "line 8",
        "line 9",
        "line 10",
        "line 11",
    ]


def test_the_check_leaves_prose_alone() -> None:
    source = """
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
help = "select the tenants to score (all by default)"
lines = [line for line in context if line.startswith("COPY ")]
doc = "Update the scores; delete nothing. Create a table of contents."
path.read_text()
"""
    assert sql_in_source(source) == []
