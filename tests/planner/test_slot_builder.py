"""slot_builder: the fast constructors evaluate and plan use must build equal values."""

from __future__ import annotations

from dataclasses import dataclass, field

from fieldline.planning.evaluation import slot_builder
from fieldline.planning.intents import FieldIntent, Intent, MatchKey, Ref
from fieldline.planning.plans import Action, Decision, FieldChange, RecordPlan
from fieldline.spec.model import Mode, Nulls, OnMany, Strategy
from fieldline.values import MISSING


def test_builders_make_values_equal_to_the_constructors() -> None:
    samples = [
        (FieldIntent, ("F", MISSING, Strategy.IF_EMPTY, Nulls.CLEAR, "src", "note")),
        (FieldIntent, ("F", None)),
        (MatchKey, ("Email", "a@x.io", " A@x.io", ("trim", "lower"))),
        (Ref, ("parent", "d0[1]")),
        (Intent, ("r", "O", "k", "d", (), (), Mode.DISABLED, OnMany.FIRST, 2.0, "boom")),
        (FieldChange, ("F", MISSING, 1, Strategy.OVERRIDE, Decision.WRITE, "new record", "x")),
        (RecordPlan, ("r", "O", "k", Action.NOOP)),
    ]
    for cls, arguments in samples:
        built: object = slot_builder(cls)(*arguments)
        assert built == cls(*arguments)
        assert type(built) is cls
    assert slot_builder(RecordPlan)("r", "O", "k", Action.SKIP, reasons=("why",)) == RecordPlan(
        "r", "O", "k", Action.SKIP, reasons=("why",)
    )


def test_builders_fall_back_to_the_class_when_they_cannot_mirror_it() -> None:
    @dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    @dataclass(frozen=True, slots=True)
    class Factory:
        items: list[int] = field(default_factory=list)

    @dataclass(frozen=True)
    class Unslotted:
        value: int

    for cls in (Checked, Factory, Unslotted):
        assert slot_builder(cls) is cls
