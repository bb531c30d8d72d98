"""Kubernetes quantities: parsing to millicores and bytes, errors, canonical printing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cluster.scheduling.quantity import (
    QUANTITY_FORMAT_ERROR,
    QUANTITY_SUFFIX_ERROR,
    QuantityError,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
    parse_quantity,
)

CPU_CASES = [
    ("100m", 100),
    ("0.5", 500),
    ("2", 2000),
    (1, 1000),
    ("1.5", 1500),
    (1.5, 1500),
    (0.25, 250),
    ("250m", 250),
    ("0", 0),
    (".5", 500),
    ("1.", 1000),
    ("+2", 2000),
    ("2k", 2_000_000),
    ("1e-3", 1),
    ("1E2", 100_000),
    ("500000u", 500),
    ("0.0001", 1),  # MilliValue rounds up
    ("1n", 1),
    (" 250m ", 250),
    ("-100m", -100),  # the API type allows it; callers reject negatives
]


@pytest.mark.parametrize(("value", "millis"), CPU_CASES, ids=[repr(v) for v, _ in CPU_CASES])
def test_parse_cpu(value: str | int | float, millis: int) -> None:
    """CPU quantities become millicores, rounding sub-millicore amounts up."""
    assert parse_cpu(value) == millis


MEMORY_CASES = [
    ("128Mi", 128 * 2**20),
    ("1Gi", 2**30),
    ("1.5Gi", 1536 * 2**20),
    ("500M", 500_000_000),
    ("1e3", 1000),
    ("1E3", 1000),
    ("1024", 1024),
    (1024, 1024),
    ("64Ki", 65536),
    ("2Ti", 2 * 2**40),
    ("1Pi", 2**50),
    ("1Ei", 2**60),
    ("1k", 1000),
    ("1G", 10**9),
    ("1T", 10**12),
    ("1P", 10**15),
    ("1E", 10**18),
    ("100m", 1),  # 0.1 byte rounds up to 1
    ("1500m", 2),
    ("1e+3", 1000),
    ("12e-1", 2),
    ("0.5Ki", 512),
]


@pytest.mark.parametrize(("value", "size"), MEMORY_CASES, ids=[v for v, _ in MEMORY_CASES])
def test_parse_memory(value: str | int, size: int) -> None:
    """Memory quantities become bytes with binary, decimal, milli and exponent suffixes."""
    assert parse_memory(value) == size


GENERAL_CASES = [
    ("1n", Decimal("1e-9")),
    ("1u", Decimal("1e-6")),
    ("1.5", Decimal("1.5")),
    ("1e-12", Decimal("1e-9")),  # non-zero rounds up to the nanounit
    ("1.0000000001", Decimal("1.000000001")),
    ("-1.0000000001", Decimal("-1.000000001")),  # away from zero
    ("1e999", Decimal(2**63 - 1)),  # capped at the largest int64
    ("0.000", Decimal(0)),
]


@pytest.mark.parametrize(("value", "amount"), GENERAL_CASES, ids=[v for v, _ in GENERAL_CASES])
def test_parse_quantity(value: str, amount: Decimal) -> None:
    """The general parser keeps exact decimals, rounds up to 1n, and caps huge values."""
    assert parse_quantity(value) == amount


MALFORMED = ["", "   ", "abc", "1x", "1.5.5", "--1", "+", ".", "1 m", "1Mb", "m", "Gi", "1e3.5"]


@pytest.mark.parametrize("value", MALFORMED, ids=[repr(v) for v in MALFORMED])
def test_malformed_quantity_has_api_server_message(value: str) -> None:
    """Unreadable strings are rejected with the API server's regular-expression message."""
    with pytest.raises(QuantityError) as excinfo:
        parse_quantity(value)
    assert str(excinfo.value) == QUANTITY_FORMAT_ERROR
    assert QUANTITY_FORMAT_ERROR == (
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )


BAD_SUFFIX = ["1K", "1ki", "2mi", "1e", "1Mii", "3Gii", "1m3"]


@pytest.mark.parametrize("value", BAD_SUFFIX, ids=BAD_SUFFIX)
def test_unknown_suffix_is_rejected(value: str) -> None:
    """A string that scans but names no suffix (``1K`` is not ``1k``) is ErrSuffix."""
    with pytest.raises(QuantityError) as excinfo:
        parse_quantity(value)
    assert str(excinfo.value) == QUANTITY_SUFFIX_ERROR


NOT_QUANTITIES = [True, None, float("inf"), float("nan"), ["1"]]


@pytest.mark.parametrize("value", NOT_QUANTITIES, ids=[repr(v) for v in NOT_QUANTITIES])
def test_non_quantity_values_are_rejected(value: object) -> None:
    """Booleans, null, infinities and lists are not quantities; QuantityError is a ValueError."""
    with pytest.raises(ValueError, match="quantities must match"):
        parse_quantity(value)  # type: ignore[arg-type]


FORMAT_CPU = [(100, "100m"), (2000, "2"), (1500, "1500m"), (0, "0"), (1, "1m"), (-250, "-250m")]


@pytest.mark.parametrize(("millis", "text"), FORMAT_CPU, ids=[t for _, t in FORMAT_CPU])
def test_format_cpu(millis: int, text: str) -> None:
    """Whole cores print bare, anything else in millicores."""
    assert format_cpu(millis) == text
    assert parse_cpu(text) == millis


FORMAT_MEMORY = [
    (134217728, "128Mi"),
    (2**30, "1Gi"),
    (1536 * 2**20, "1536Mi"),
    (1536, "1536"),  # 1.5Ki is not whole: plain bytes
    (1024, "1Ki"),
    (3072, "3Ki"),
    (512, "512"),
    (0, "0"),
    (500_000_000, "500000000"),
    (2**60, "1Ei"),
]


@pytest.mark.parametrize(("size", "text"), FORMAT_MEMORY, ids=[t for _, t in FORMAT_MEMORY])
def test_format_memory(size: int, text: str) -> None:
    """Memory prints with the largest binary suffix that divides exactly, and round-trips."""
    assert format_memory(size) == text
    assert parse_memory(text) == size
