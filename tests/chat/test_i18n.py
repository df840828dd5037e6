"""The chat socket in Spanish: error details translated, machine codes kept."""

import pytest
from channels.db import database_sync_to_async

from tests.chat.conftest import open_socket as open_chat_socket
from tests.chat.conftest import receive_type, room_path, send, token_key_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("chat_redis")]


async def join_in(course, user, *, language: bytes):
    token = await database_sync_to_async(token_key_for)(user)
    communicator, connected, _ = await open_chat_socket(
        room_path(course.pk), token=token, origin=None, headers=[(b"accept-language", language)]
    )
    assert connected
    assert (await receive_type(communicator, "presence"))["type"] == "presence"
    return communicator


async def test_a_spanish_socket_gets_spanish_details_with_the_english_codes(room):
    course, owner, _ = room
    communicator = await join_in(course, owner, language=b"es-ES,es;q=0.9")

    await send(communicator, type="dance")
    unknown = await receive_type(communicator, "error")
    await send(communicator, message="   ")
    empty = await receive_type(communicator, "error")

    assert (unknown["code"], unknown["detail"]) == ("invalid_frame", "Tipo de trama desconocido.")
    assert (empty["code"], empty["detail"]) == ("empty", "El mensaje necesita algo de texto.")
    await communicator.disconnect()


async def test_an_english_socket_keeps_english_details(room):
    course, owner, _ = room
    communicator = await join_in(course, owner, language=b"en-GB,en;q=0.9")

    await send(communicator, type="dance")
    error = await receive_type(communicator, "error")

    assert (error["code"], error["detail"]) == ("invalid_frame", "Unknown frame type.")
    await communicator.disconnect()
