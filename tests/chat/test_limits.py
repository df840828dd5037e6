"""Local limiters: the per-socket frame budget."""

from chat.limits import TokenBucket, rate_parse


def test_a_token_bucket_allows_a_burst_of_its_count_then_refuses():
    bucket = TokenBucket(rate_parse("3/10s"))
    start = bucket.updated
    assert [bucket.allow(start) for _ in range(4)] == [True, True, True, False]


def test_a_token_bucket_refills_at_its_rate():
    bucket = TokenBucket(rate_parse("3/10s"))
    start = bucket.updated
    for _ in range(3):
        bucket.allow(start)
    assert bucket.allow(start + 3.0) is False
    assert bucket.allow(start + 3.4) is True
    assert bucket.allow(start + 3.4) is False


def test_a_token_bucket_never_saves_more_than_its_count():
    bucket = TokenBucket(rate_parse("2/1s"))
    later = bucket.updated + 3600
    assert [bucket.allow(later) for _ in range(3)] == [True, True, False]
