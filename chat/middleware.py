from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator


def websocket_auth_stack(inner):
    """Session-cookie authentication behind the Origin check."""
    return AllowedHostsOriginValidator(AuthMiddlewareStack(inner))
