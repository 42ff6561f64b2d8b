"""Money in minor units: ISO 4217 exponents, locale-aware display, and Stripe's amount rules.

Every amount in Boxoffice is an integer in the currency's ISO 4217 minor unit (cents for ZAR, yen for JPY,
fils for KWD). The exponents come from the ``iso4217`` package, which ships the ISO 4217 maintenance agency's
published list (``iso4217.__published__``) and is re-released when the list changes.

Babel is used for display only. Its ``get_currency_precision`` is CLDR's everyday display precision, not the ISO
minor unit, and the two disagree for a dozen currencies (CLDR says 0 for HUF, IDR, COP where ISO says 2, and 0
for IQD where ISO says 3): storing amounts by CLDR's digits would make an API client that sends ISO minor units
off by 100× or 1000×. So amounts are stored and validated by ISO, and ``format_money`` always prints exactly the
ISO number of decimals, so no minor units are ever hidden or rounded away.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_symbol, parse_pattern
from iso4217 import Currency

_CODE = re.compile(r"^[A-Z]{3}$")
# U+00A0: CLDR's currencySpacing ``insertBetween``, so "ZAR 150.00" never wraps between code and number.
NBSP = "\u00a0"


def currency_code(currency: str) -> str:
    """The upper-case ISO 4217 code of ``currency`` (any case accepted).

    Raises ValueError for a code that is not an ISO 4217 currency with a minor unit (e.g. ``XAU`` or ``XXX``).
    """
    code = currency.strip().upper()
    exponent(code)
    return code


@cache
def exponent(currency: str) -> int:
    """ISO 4217 minor-unit exponent: 0 for JPY, 2 for ZAR, 3 for KWD.

    Raises ValueError for an unknown code or one without minor units (precious metals, testing codes).
    """
    code = currency.strip().upper()
    if not _CODE.match(code):
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    try:
        exp = Currency(code).exponent
    except ValueError:
        raise ValueError(f"unknown ISO 4217 currency: {code}") from None
    if exp is None:
        raise ValueError(f"{code} has no minor unit and cannot be used for prices")
    return exp


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    """The amount in major units, exact, with exactly ``exponent(currency)`` decimals (1500 JPY → 1500)."""
    return Decimal(int(amount_minor)).scaleb(-exponent(currency))


def to_minor(amount: Decimal | int | str, currency: str) -> int:
    """Major units to minor units, exactly ("1.5" KWD → 1500).

    Raises ValueError when the amount is not a number or has more decimals than the currency's minor unit
    ("0.5" JPY, "1.001" ZAR): money is never rounded silently.
    """
    try:
        value = Decimal(amount) if not isinstance(amount, Decimal) else amount
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency_code(currency)} is finer than the currency's minor unit")
    return int(scaled)


def max_minor(currency: str, major_units: int) -> int:
    """``major_units`` whole units of ``currency`` in minor units: a bound for validation that means the same
    number of units in every currency (1 000 000 JPY → 1000000, 1 000 000 KWD → 1000000000)."""
    return major_units * 10 ** exponent(currency)


def check_minor(amount_minor: int, currency: str, *, max_major_units: int | None = None) -> int:
    """``amount_minor`` if it is a non-negative integer (at most ``max_major_units`` whole units when given).

    Raises ValueError otherwise, naming the currency's units so the message is useful to an organiser.
    """
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise ValueError("an amount must be an integer number of minor units")
    if amount_minor < 0:
        raise ValueError("an amount cannot be negative")
    if max_major_units is not None and amount_minor > max_minor(currency, max_major_units):
        limit = format_money(max_minor(currency, max_major_units), currency)
        raise ValueError(f"an amount cannot exceed {limit}")
    return amount_minor


@cache
def _locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"unknown locale: {locale!r}") from None


def _is_symbol_or_space(char: str) -> bool:
    return unicodedata.category(char)[0] in "SZ"


def _space_currency(text: str, symbol: str) -> str:
    """CLDR's default currencySpacing, which Babel does not apply: a no-break space between a currency symbol
    that ends (or starts) with a letter and an adjacent digit ("ZAR150.00" → "ZAR 150.00", "¥1,500" unchanged)."""
    if not symbol:
        return text
    if not _is_symbol_or_space(symbol[-1]):
        text = re.sub(rf"{re.escape(symbol)}(?=\d)", symbol + NBSP, text)
    if not _is_symbol_or_space(symbol[0]):
        text = re.sub(rf"(?<=\d){re.escape(symbol)}", NBSP + symbol, text)
    return text


def format_money(amount_minor: int, currency: str, locale: str = "en") -> str:
    """The amount as a person in ``locale`` expects to read it, with exactly the ISO number of decimals.

    en: 1500 JPY → "¥1,500", 15000 ZAR → "ZAR 150.00", 1500 KWD → "KWD 1.500"; en_ZA: 15000 ZAR → "R 150,00".
    The space between a letter symbol and the number is a no-break space (U+00A0), as CLDR specifies.
    Raises ValueError for an unknown currency or locale.
    """
    code = currency_code(currency)
    loc = _locale(locale)
    pattern = copy.copy(parse_pattern(loc.currency_formats["standard"]))
    exp = exponent(code)
    pattern.frac_prec = (exp, exp)
    text = pattern.apply(to_decimal(amount_minor, code), loc, currency=code, currency_digits=False)
    return _space_currency(text, get_currency_symbol(code, loc))


# --- Stripe -------------------------------------------------------------------------------------------------
# These lists are Stripe's documented API rules (docs.stripe.com/currencies), not ISO data: Stripe's amount unit
# differs from the ISO minor unit for some currencies, and only Stripe's documentation says which.

# Zero-decimal: the amount is in whole units (ISO exponent 0 for all of these, so the ISO amount passes as is).
# Stripe lists UGX here too, but its special cases say UGX uses the two-decimal format (see below).
STRIPE_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV", "XAF", "XOF", "XPF"}
)
# Three-decimal: the amount is in thousandths, but the last digit must be 0 (Stripe's payment partners settle
# in hundredths), so 5.124 KWD cannot be charged; 5.120 can.
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Special cases: ISK and UGX are effectively zero-decimal, but for backwards compatibility Stripe takes them in the
# two-decimal format with the last two digits 00 (5 ISK → 500). HUF and TWD take two decimals for charges and
# are zero-decimal only for payouts (amounts divisible by 100), which Boxoffice does not create.
STRIPE_WHOLE_UNITS_IN_HUNDREDTHS = frozenset({"ISK", "UGX"})


def stripe_exponent(currency: str) -> int:
    """The number of decimals in Stripe's ``amount`` for ``currency`` (0, 2 or 3)."""
    code = currency_code(currency)
    if code in STRIPE_ZERO_DECIMAL:
        return 0
    if code in STRIPE_THREE_DECIMAL:
        return 3
    return 2


def stripe_amount(amount_minor: int, currency: str) -> int:
    """The ``amount`` to send to Stripe for ``amount_minor`` ISO minor units: 1500 JPY → 1500, 15000 ZAR → 15000,
    1500 KWD → 1500, 5 ISK → 500.

    Raises ValueError for an amount Stripe cannot represent (1505 KWD: the last digit must be 0), never rounding.
    """
    code = currency_code(currency)
    check_minor(amount_minor, code)
    shift = stripe_exponent(code) - exponent(code)
    if shift >= 0:
        result = amount_minor * 10**shift
    else:  # ISO is finer than Stripe (e.g. IQD, 3 vs 2): only whole Stripe units convert
        divisor = 10**-shift
        if amount_minor % divisor:
            raise ValueError(f"Stripe cannot charge {format_money(amount_minor, code)}: too many decimals")
        result = amount_minor // divisor
    if code in STRIPE_THREE_DECIMAL and result % 10:
        raise ValueError(f"Stripe cannot charge {format_money(amount_minor, code)}: the last decimal must be 0")
    if code in STRIPE_WHOLE_UNITS_IN_HUNDREDTHS and result % 100:
        raise ValueError(f"Stripe cannot charge {format_money(amount_minor, code)}: only whole units")
    return result


def from_stripe_amount(amount: int, currency: str) -> int:
    """ISO minor units for an ``amount`` reported by Stripe (a payment, refund or webhook): the inverse of
    ``stripe_amount`` (500 ISK → 5, 1500 JPY → 1500).

    Raises ValueError when Stripe's amount has a fraction the ISO minor unit cannot hold (550 ISK, from a
    legacy fractional charge), rather than dropping it.
    """
    code = currency_code(currency)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError("a Stripe amount must be a non-negative integer")
    shift = exponent(code) - stripe_exponent(code)
    if shift >= 0:
        return amount * 10**shift
    divisor = 10**-shift
    if amount % divisor:
        raise ValueError(f"Stripe amount {amount} {code} is finer than the ISO minor unit")
    return amount // divisor
