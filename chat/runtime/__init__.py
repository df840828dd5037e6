"""The chat's per-process runtime: the hub, the message writer, shared state and the sockets.

The domain (models, services, selectors, events) never imports this package; the hub registers
itself with the publisher in chat/events.py while it runs.
"""
