"""Fit summary rows stay within the terminal budget: a long meaning tag moves to its own line."""

from jaxsot.fit._driver import report_lines


def test_a_short_tag_stays_on_its_row():
    assert report_lines("  j_ex tau = 9.4", "J tau") == ["  j_ex tau = 9.4  [J tau]"]


def test_a_long_tag_moves_below_the_row_and_every_line_fits():
    row = "  " + "alpha^2.46 j_ex^-1.00 tau^0.10".ljust(34) + " = 0.0007923   relative error   0.00124  determined"
    tag = "eta = m alpha^2/(hbar^2 J), " + "the determined combination of the band regime " * 3 + "(end)"
    lines = report_lines(row, tag)
    assert lines[0] == row and len(lines) >= 3
    assert all(len(line) <= 100 for line in lines)
    assert " ".join(line.strip() for line in lines[1:]) == f"[{tag}]"


def test_no_tag_is_the_row_itself():
    assert report_lines("row") == ["row"]
