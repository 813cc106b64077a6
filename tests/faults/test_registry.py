"""The fault registry: every module is registered, every kind is used by the library."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest

import harness.faults as faults_pkg
from harness.faults import KINDS, PHASES, SpecError, fault_from_spec
from harness.scenario import library_names, load_scenario


def _fault_modules() -> list[str]:
    return [m.name for m in pkgutil.iter_modules(faults_pkg.__path__) if not m.name.startswith("_")]


def test_every_fault_module_is_registered_under_its_own_name() -> None:
    modules = _fault_modules()
    assert sorted(modules) == sorted(KINDS)
    for name in modules:
        module = importlib.import_module(f"harness.faults.{name}")
        assert module.FAULT is KINDS[name]
        assert module.FAULT.kind == name
        assert module.__doc__ and module.FAULT.__doc__, name


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_is_a_frozen_record_with_phases(kind: str) -> None:
    cls = KINDS[kind]
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen
    assert cls.phases and set(cls.phases) <= set(PHASES)


def test_every_registered_kind_has_a_library_scenario_using_it() -> None:
    used: dict[str, list[str]] = {}
    for name in library_names():
        for kind in load_scenario(name).kinds():
            used.setdefault(kind, []).append(name)
    assert set(KINDS) - set(used) == set()


def test_library_parameters_round_trip_through_from_spec() -> None:
    for name in library_names():
        scenario = load_scenario(name)
        specs = [s for _, s in scenario.faults] + [r.fault for r in scenario.rules if r.fault]
        for spec in specs:
            again = fault_from_spec({"kind": spec.kind, **spec.fault.params()})
            assert again == spec.fault, (name, spec.kind)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "kind: missing"),
        ({"kind": "explode"}, "kind: unknown fault kind 'explode'"),
        ({"kind": 3}, "kind: expected a fault kind name, got int 3"),
        ({"kind": "close", "extra": 1}, "extra: is not a parameter of close (it takes none)"),
        ({"kind": "delay", "delay_ms": 5, "min_ms": 1}, "min_ms: is not a parameter of delay"),
    ],
)
def test_bad_fault_specs(spec: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError) as exc:
        fault_from_spec(spec)
    assert str(exc.value).startswith(message)
    assert isinstance(exc.value, ValueError)


def test_a_fault_must_be_a_mapping() -> None:
    with pytest.raises(SpecError, match="fault: expected a mapping with a kind, got a list"):
        fault_from_spec(["close"])  # type: ignore[arg-type]
