"""Counts as they read: one warning, two warnings."""

import pytest

from transforms.wording import count, plural


@pytest.mark.parametrize(("n", "noun", "said"), [
    (0, "warning", "0 warnings"), (1, "warning", "1 warning"), (2, "row", "2 rows"),
    (1, "company", "1 company"), (3, "company", "3 companies"), (2, "person", "2 persons"),
    (2, "list item", "2 list items"), (2, "entry", "2 entries"), (2, "key", "2 keys"),
    (2, "box", "2 boxes"), (2, "more warning", "2 more warnings"),
])
def test_count(n, noun, said):
    assert count(n, noun) == said


def test_verbs_agree():
    assert plural(1, "was") == "was" and plural(2, "was") == "were"
