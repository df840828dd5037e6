"""The simulated cluster (harness.py), started once for every scenario and torn down after
them, whatever happened; skipped where network namespaces cannot be made."""

import logging

import pytest

from deploy.netns import netns_unavailable_reason
from tests.cluster.harness import Cluster


@pytest.fixture(scope="session")
def cluster():
    # The scenarios print their figures; a line per page fetched would bury them.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if reason := netns_unavailable_reason():
        pytest.skip(f"the cluster scenarios need Linux network namespaces: {reason}")
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def whole_cluster(cluster):
    """The cluster with every host running at the start of the test and again after it."""
    cluster.restore_hosts()
    yield cluster
    cluster.restore_hosts()
