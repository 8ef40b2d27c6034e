"""The access matrix as blocks: readable at any width, no name ever cut."""

from __future__ import annotations

from edulink_db.matrix.entries import Entry
from edulink_db.matrix.render import grid_fits, render_blocks

LONG = "t" * 63
ENTRIES = [
    Entry("alpha", "alpha_schema", None, "OWNER"),
    Entry("beta", "alpha_schema", None, "USAGE"),
    Entry("beta", "alpha_schema", LONG, "REFERENCES", ("id",)),
    Entry("beta", "alpha_schema", LONG, "SELECT", ("id", "email", "display_name")),
    Entry("beta", "beta_schema", None, "OWNER"),
]


def test_blocks_wrap_between_privileges_and_keep_names_whole() -> None:
    text = render_blocks(ENTRIES, "dev", width=60)
    assert text == (
        "Access matrix of stack dev: 2 services, 2 schemas\n"
        "\n"
        "alpha\n"
        "  alpha_schema: OWNER\n"
        "\n"
        "beta\n"
        "  alpha_schema: USAGE\n"
        f"    {LONG}:\n"
        "      REFERENCES(id), SELECT(id, email, display_name)\n"
        "  beta_schema: OWNER\n"
    )


def test_the_grid_fits_only_where_every_name_is_whole() -> None:
    assert grid_fits(ENTRIES, "dev", 200)
    assert not grid_fits(ENTRIES, "dev", 40)


def test_a_privilege_wider_than_the_line_breaks_between_its_columns() -> None:
    columns = tuple(f"column_{n}" for n in range(8))
    entries = [
        Entry("beta", "alpha_schema", None, "USAGE"),
        Entry("beta", "alpha_schema", "items", "SELECT", columns),
    ]
    lines = render_blocks(entries, "dev", width=40).splitlines()
    assert lines[-4:] == [
        "    items: SELECT(column_0, column_1,",
        "             column_2, column_3,",
        "             column_4, column_5,",
        "             column_6, column_7)",
    ]
    assert all(len(line) <= 40 for line in lines)
