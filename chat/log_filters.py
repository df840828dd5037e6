"""Logging filters for the chat's channel layer."""

import logging


class ChannelLayerOverCapacity(logging.Filter):
    """Raise channels-redis's "over capacity" records from INFO to WARNING.

    A group send over capacity drops the message for that process (by design of the layer); the
    chat recovers it from the database by seq, but operators must see that it happened.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and "over capacity" in str(record.msg):
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
        return True
