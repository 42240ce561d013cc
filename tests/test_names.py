import pytest

from bot.names import fold, split_name


@pytest.mark.parametrize(
    ("display", "given", "family"),
    [
        ("Yongqiang Zhou", "Yongqiang", "Zhou"),
        ("C. Frank Bennett", "C. Frank", "Bennett"),
        ("Jan van Gulik", "Jan", "van Gulik"),
        ("Giambattista della Porta", "Giambattista", "della Porta"),
        ("Ludwig van der Waals", "Ludwig", "van der Waals"),
        ("Geary, Richard S.", "Richard S.", "Geary"),
        ("Martin Luther King Jr.", "Martin Luther", "King"),
        ("宮地 元彦", "元彦", "宮地"),
        ("Ioannis Xénarios", "Ioannis", "Xénarios"),
        ("Madonna", None, "Madonna"),
    ],
)
def test_split_name(display, given, family):
    assert split_name(display) == (given, family)


def test_fold_ignores_case_and_accents():
    assert fold("Müller") == fold("MULLER") == "muller"
