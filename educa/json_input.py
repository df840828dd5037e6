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


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JSONInputError(NOT_FINITE)
    return number


def _no_constant(name: str):
    raise JSONInputError(NOT_FINITE)


def json_loads_strict(text: str | bytes):
    """The JSON value of `text`; JSONInputError if it is invalid, too deep or not finite."""
    try:
        return json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
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
        raise JSONInputError(TOO_MANY_DIGITS) from None
