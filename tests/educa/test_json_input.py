"""educa.json_input: strict JSON, and numbers no field takes told apart from bad syntax."""

import pytest

from educa.json_input import JSONInputError, JSONNumberError, json_loads_strict


def test_an_integer_longer_than_the_bound_is_a_number_error():
    with pytest.raises(JSONNumberError):
        json_loads_strict('{"seq": 12345}', int_digits_max=4)


def test_an_integer_within_the_bound_is_read():
    assert json_loads_strict('{"seq": -123}', int_digits_max=4) == {"seq": -123}


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "9" * 5000])
def test_a_number_no_field_takes_is_a_number_error(number):
    with pytest.raises(JSONNumberError):
        json_loads_strict(f'{{"limit": {number}}}')


@pytest.mark.parametrize("text", ["not json", "[" * 30_000 + "]" * 30_000, b"\xff"])
def test_bad_json_is_an_input_error_but_not_a_number_error(text):
    with pytest.raises(JSONInputError) as error:
        json_loads_strict(text)
    assert not isinstance(error.value, JSONNumberError)
