"""Kubernetes resource quantities: parsing (``100m``, ``128Mi``, ``1.5``, ``1e3``) and printing.

Owns the one place the simulator turns quantity strings into numbers. CPU is handled in
millicores and memory in bytes, the units the scheduler and kubelet account in.

Mirrors ``k8s.io/apimachinery/pkg/api/resource`` (``quantity.go`` ``ParseQuantity`` and
``parseQuantityString``, ``suffix.go``):

- a number (optional sign, digits, optional ``.`` and digits; ``1.`` and ``.5`` are accepted),
  then a suffix: none, a decimal SI one (``n u m k M G T P E``), a binary one
  (``Ki Mi Gi Ti Pi Ei``) or a decimal exponent (``e3``, ``E-2``);
- a string the scanner cannot read is rejected with the API server's text
  :data:`QUANTITY_FORMAT_ERROR`; a well-formed but unknown suffix (``1K``, ``5ki``) with
  :data:`QUANTITY_SUFFIX_ERROR`, as Kubernetes' ``ErrSuffix`` does;
- non-zero values are rounded *up* (away from zero) to the nanounit, and ``MilliValue`` /
  ``Value`` round up too: "if you want some resources, you should get some resources".

Negative quantities parse (the API type allows them); validating them is the caller's job.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_UP, Context, Decimal, localcontext

#: ``ErrFormatWrong``'s text, as the API server returns it for a malformed quantity.
QUANTITY_FORMAT_ERROR = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
#: ``ErrSuffix``'s text: the string scans but its suffix means nothing (``1K``, ``2mi``).
QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix"

BINARY_SUFFIXES: dict[str, int] = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
#: Decimal SI suffix → power of ten.
DECIMAL_SUFFIXES: dict[str, int] = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}

_SUFFIX_LETTERS = frozenset("eEinumkKMGTP")
_EXPONENT_SUFFIX = re.compile(r"[eE][+-]?[0-9]+")
# Enough digits that no amount we keep (at most 19 integer digits and 9 decimals) is rounded;
# Decimal's default 28 would make quantize() fail near the cap.
_CONTEXT = Context(prec=64)
_DIGITS = frozenset("0123456789")
_NANO = Decimal("1e-9")
# Kubernetes caps BinarySI and DecimalSI amounts at the largest int64. We cap every form, so a
# hostile "1e999999999" cannot make Python build a billion-digit integer.
_MAX_AMOUNT = Decimal(2**63 - 1)
# Beyond these powers of ten a non-zero mantissa is certainly above the cap / below a nano.
_EXPONENT_CEILING = 40
_EXPONENT_FLOOR = -40


class QuantityError(ValueError):
    """A value the API server would reject as a quantity; ``str()`` is its message."""


def _scan(text: str) -> tuple[str, str]:
    """Split ``text`` into (signed number, suffix) like ``parseQuantityString``, or raise."""
    pos = 1 if text[:1] in ("+", "-") else 0
    start = pos
    while pos < len(text) and text[pos] in _DIGITS:
        pos += 1
    if pos < len(text) and text[pos] == ".":
        pos += 1
        while pos < len(text) and text[pos] in _DIGITS:
            pos += 1
    if not any(ch in _DIGITS for ch in text[start:pos]):
        # Go's scanner reads a bare "+" as zero; the documented grammar (and common sense)
        # wants at least one digit, and "." alone fails in Go too.
        raise QuantityError(QUANTITY_FORMAT_ERROR)
    number, suffix_start = text[:pos], pos
    while pos < len(text) and text[pos] in _SUFFIX_LETTERS:
        pos += 1
    if pos < len(text) and text[pos] in "+-":
        pos += 1
    while pos < len(text) and text[pos] in _DIGITS:
        pos += 1
    if pos != len(text):
        raise QuantityError(QUANTITY_FORMAT_ERROR)
    return number, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int]:
    """(base, exponent) of a suffix, as ``suffixHandler.interpret``: ``Mi`` → (2, 20)."""
    if suffix in DECIMAL_SUFFIXES:
        return 10, DECIMAL_SUFFIXES[suffix]
    if suffix in BINARY_SUFFIXES:
        return 2, BINARY_SUFFIXES[suffix].bit_length() - 1
    if _EXPONENT_SUFFIX.fullmatch(suffix):
        return 10, int(suffix[1:])
    raise QuantityError(QUANTITY_SUFFIX_ERROR)


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact amount of a quantity, in base units, after Kubernetes' rounding and cap.

    JSON numbers (``cpu: 1``, ``cpu: 0.5`` in YAML) are read from their text, as
    ``Quantity.UnmarshalJSON`` does.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        # True is an int in Python, but `cpu: true` is not a quantity in Kubernetes.
        raise QuantityError(QUANTITY_FORMAT_ERROR)
    text = str(value).strip()
    if not text:
        raise QuantityError(QUANTITY_FORMAT_ERROR)
    number, suffix = _scan(text)
    base, exponent = _interpret(suffix)
    mantissa = Decimal(number if number[-1:] != "." else number + "0")
    if mantissa.is_zero():
        return Decimal(0)
    sign = -1 if mantissa < 0 else 1
    if base == 10 and exponent > _EXPONENT_CEILING:
        return sign * _MAX_AMOUNT
    if base == 10 and exponent < _EXPONENT_FLOOR:
        return sign * _NANO
    with localcontext(_CONTEXT):
        magnitude = abs(mantissa)
        magnitude = magnitude * (2**exponent) if base == 2 else magnitude.scaleb(exponent)
        magnitude = min(magnitude, _MAX_AMOUNT)
        # Non-zero values are rounded up to the smallest representable amount, 1n.
        if int(magnitude.as_tuple().exponent) < -9:
            magnitude = max(magnitude.quantize(_NANO, rounding=ROUND_CEILING), _NANO)
    return sign * magnitude


def _round_away(amount: Decimal) -> int:
    with localcontext(_CONTEXT):
        return int(amount.to_integral_value(rounding=ROUND_UP))


def parse_cpu(value: str | int | float) -> int:
    """Millicores (``"100m"`` → 100, ``"0.5"`` → 500, ``1`` → 1000), rounded up as
    ``Quantity.MilliValue`` does: ``"0.0001"`` → 1."""
    with localcontext(_CONTEXT):
        return _round_away(parse_quantity(value) * 1000)


def parse_memory(value: str | int | float) -> int:
    """Bytes (``"128Mi"``, ``"500M"``, ``"1e3"``), rounded up as ``Quantity.Value`` does."""
    return _round_away(parse_quantity(value))


def format_cpu(millis: int) -> str:
    """Canonical CPU text: whole cores as ``"2"``, anything else in millicores (``"1500m"``)."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_memory(size: int) -> str:
    """Canonical BinarySI text, as ``Quantity.String()`` prints a BinarySI amount: the largest
    binary suffix that divides exactly (134217728 → ``"128Mi"``, 1536 → ``"1536"`` since 1.5Ki
    is not whole, 1610612736 → ``"1536Mi"``), else plain bytes."""
    if -1024 < size < 1024:
        return str(size)
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = BINARY_SUFFIXES[suffix]
        if size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)
