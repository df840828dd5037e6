"""How the runtime's async code reaches the ORM."""

from channels.db import database_sync_to_async


def db(function):
    """Run ORM work in the loop's thread pool.

    Not in the single thread that thread-sensitive calls share (field notes): sockets must not
    wait for each other's queries.
    """
    return database_sync_to_async(function, thread_sensitive=False)
