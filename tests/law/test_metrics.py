from __future__ import annotations

from decimal import Decimal

import pytest

from aiexport.law.metrics import (
    Die,
    IntegratedCircuit,
    ProcessingUnit,
    h100_equivalents,
    meets_density,
    memory_bandwidth_density,
    performance_density,
    to_micro,
)


def test_h100_tpp_is_15832_from_fp8_or_fp16():
    h100 = ProcessingUnit({"fp64": "67", "tf32": "494.5", "fp16": "989.5", "fp8": "1979", "int8": "1979"})
    assert h100.tpp() == Decimal("15832")
    assert h100_equivalents(h100.tpp()) == 1


def test_tpp_takes_highest_precision_including_fp64():
    mi210 = ProcessingUnit({"fp64": "45.3", "fp16": "181", "int8": "181"})
    assert mi210.tpp() == Decimal("2899.2")


def test_tf32_bit_length_is_a_choice():
    trainium = ProcessingUnit({"tf32": "190", "fp16": "190", "fp8": "380"})
    assert trainium.tpp() == Decimal("3610")  # 19-bit TF32
    assert trainium.tpp(tf32_bits=32) == Decimal("6080")
    with pytest.raises(ValueError):
        trainium.tpp(tf32_bits=24)


def test_tpp_sums_processing_units_and_pd_uses_non_planar_logic_dies_only():
    ic = IntegratedCircuit(
        units=[ProcessingUnit({"fp16": "100"}), ProcessingUnit({"int8": "100"})],
        dies=[Die("200"), Die("100"), Die("300", logic=False), Die("50", non_planar=False)],
    )
    assert ic.total_processing_performance() == Decimal("2400")
    assert ic.applicable_die_area() == Decimal("300")
    assert ic.performance_density() == Decimal("8")


def test_pd_undefined_without_non_planar_area():
    assert performance_density(Decimal(100), Decimal(0)) is None
    assert IntegratedCircuit([ProcessingUnit({"fp16": "1"})], [Die("10", non_planar=False)]).performance_density() is None


def test_density_comparison_is_exact_without_division():
    assert meets_density(Decimal("2960"), Decimal("500"), "5.92")
    assert not meets_density(Decimal("2960"), Decimal("500.000001"), "5.92")
    # 1600/270.27027027... is just above 5.92 when the area is rounded down
    assert meets_density(Decimal("1600"), Decimal("270.270270"), "5.92")
    assert not meets_density(Decimal("1600"), Decimal("270.270271"), "5.92")


def test_memory_bandwidth_density():
    assert memory_bandwidth_density(Decimal("1229"), Decimal("121")) > 10


def test_micro_units_are_exact_or_refused():
    assert to_micro("155.9") == 155_900_000
    with pytest.raises(ValueError):
        to_micro("0.0000001")
