"""The chat features scenario's own rules: its mix of traffic and its state comparison."""

from bench.chat_features import (
    FeatureClient,
    MessageView,
    gets_reaction,
    is_reply,
    state_mismatches,
)


def _client(views: dict[int, MessageView]) -> FeatureClient:
    return FeatureClient(room=1, index=0, username="ada", token="t", views=views)


def _view(**changes) -> MessageView:
    fields = {"rev": 3, "text": "hello @bob", "reactions": {"👍": ["bob"]}, "reply_to": 7}
    return MessageView(**{**fields, **changes})


def test_one_message_in_four_is_a_reply():
    assert [counter for counter in range(20) if is_reply(counter)] == [3, 7, 11, 15, 19]


def test_one_message_in_ten_of_a_room_gets_a_reaction():
    reacted = [
        (index, counter)
        for index in range(25)
        for counter in range(20)
        if gets_reaction(index, counter, 25)
    ]

    assert len(reacted) == 50


def test_a_recipient_that_shows_the_stored_state_is_no_mismatch():
    mismatches, examples = state_mismatches([_client({81: _view()})], {81: _view(rev=9)})

    assert (mismatches, examples) == (0, [])


def test_a_recipient_that_missed_a_reaction_is_a_mismatch():
    stored = {81: _view(reactions={"👍": ["bob", "carol"]})}

    mismatches, examples = state_mismatches([_client({81: _view()})], stored)

    assert mismatches == 1
    assert examples[0].startswith("ada #81")


def test_a_recipient_with_another_text_is_a_mismatch():
    mismatches, _ = state_mismatches([_client({81: _view(text="hello")})], {81: _view()})

    assert mismatches == 1


def test_a_message_the_database_does_not_hold_is_a_mismatch():
    mismatches, _ = state_mismatches([_client({81: _view()})], {})

    assert mismatches == 1


def test_a_frame_below_the_sockets_highest_rev_with_a_messages_newer_state_is_a_replay():
    client = _client({81: _view(rev=3)})
    client.last_rev = 9

    client.rev_check(81, 5)
    client.rev_check(82, 6)

    assert (client.rev_replayed, client.changes_repeated, client.stale_states) == (2, 0, 0)


def test_a_change_received_again_is_a_repeat():
    client = _client({81: _view(rev=5)})
    client.last_rev = 9

    client.rev_check(81, 5)

    assert (client.rev_replayed, client.changes_repeated, client.stale_states) == (0, 1, 0)


def test_an_older_state_than_the_one_held_is_stale():
    client = _client({81: _view(rev=5)})
    client.last_rev = 9

    client.rev_check(81, 4)

    assert (client.rev_replayed, client.changes_repeated, client.stale_states) == (0, 0, 1)


def test_a_frame_above_the_sockets_highest_rev_is_in_order():
    client = _client({81: _view(rev=5)})
    client.last_rev = 9

    client.rev_check(81, 10)

    assert client.last_rev == 10
    assert (client.rev_replayed, client.changes_repeated, client.stale_states) == (0, 0, 0)
