"""The ASGI entry point's adjustments of the servers under it."""

import gc
import sys

from autobahn import util


def test_the_event_loop_gives_database_threads_the_gil_within_half_a_millisecond():
    import educa.asgi  # noqa: F401

    assert sys.getswitchinterval() <= 0.0005


def test_start_up_objects_are_frozen_and_collections_are_rare():
    from educa.asgi import GC_THRESHOLDS

    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > 700


def test_autobahn_builds_its_debug_log_arguments_without_colouring_them():
    import educa.asgi  # noqa: F401

    assert util.hl("frame") == "frame"
