"""Hypothesis strategies for the API's values, shared by the property tests."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import strategies as st

# Integers a JSON number carries exactly (the API's integers and `between` bounds).
integers = st.integers(min_value=-(2**53), max_value=2**53)
# Finite 64-bit floats: NaN and infinities are no JSON numbers.
finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
# The API's date format has four-digit years (epcc-api.md 4.4): `YYYY-MM-DD`.
dates = st.dates(min_value=date(1000, 1, 1)).map(lambda d: d.isoformat())
# ... and `YYYY-MM-DD HH:MM:SS`.
datetimes = st.datetimes(min_value=datetime(1000, 1, 1)).map(
    lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
)
