"""JSON from clients, read strictly: what Python's json module lets through is refused here.

`json.loads` raises RecursionError (not ValueError) on deep nesting, reads `1e400` as infinity
and accepts NaN and Infinity; each of these reached the code after it as a 500.
"""

import json
import math

INVALID = "The body is not valid JSON"
NOT_UTF8 = "The body is not valid JSON: it is not UTF-8 text."
TOO_MANY_DIGITS = "The JSON holds a number with too many digits."
TOO_DEEP = "The JSON is nested too deeply."
NOT_FINITE = "The JSON holds a number out of range (NaN, Infinity or beyond a double's range)."


class JSONInputError(ValueError):
    """Text that is not JSON the application reads; the message is meant for the client."""


class JSONNumberError(JSONInputError):
    """Well-formed JSON holding a number no field can take (too long, NaN, beyond a double).

    A subclass so that a reader who tells syntax errors from bad values (the chat socket's
    `invalid_json` and `invalid_frame`) can; everyone else catches JSONInputError.
    """


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JSONNumberError(NOT_FINITE)
    return number


def _no_constant(name: str):
    raise JSONNumberError(NOT_FINITE)


def _bounded_int(digits_max: int):
    def parse_int(text: str) -> int:
        # The length first: int() refuses over 4,300 digits with a ValueError of its own.
        if len(text) > digits_max:
            raise JSONNumberError(TOO_MANY_DIGITS)
        return int(text)

    return parse_int


def json_loads_strict(text: str | bytes, int_digits_max: int | None = None):
    """The JSON value of `text`; JSONInputError if it is invalid, too deep or not finite.

    With `int_digits_max`, an integer written with more characters than that (sign included)
    is refused as JSONNumberError before int() reads it.
    """
    parse_int = _bounded_int(int_digits_max) if int_digits_max is not None else None
    try:
        return json.loads(
            text, parse_float=_finite_float, parse_constant=_no_constant, parse_int=parse_int
        )
    except RecursionError:
        raise JSONInputError(TOO_DEEP) from None
    except JSONInputError:
        raise
    except json.JSONDecodeError as error:
        raise JSONInputError(f"{INVALID}: {error}") from None
    except UnicodeDecodeError:
        raise JSONInputError(NOT_UTF8) from None
    except ValueError:
        # int() refuses more than 4,300 digits (sys.get_int_max_str_digits).
        raise JSONNumberError(TOO_MANY_DIGITS) from None
