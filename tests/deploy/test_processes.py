"""Ports for the servers the stack, the suite and the benchmark start (deploy/processes.py)."""

import socket

from deploy.processes import PORTS_LOWEST, _ephemeral_lowest, free_ports


def test_free_ports_are_distinct_and_bindable():
    ports = free_ports(12)

    assert len(set(ports)) == 12
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_free_ports_lie_below_the_range_outgoing_connections_take_their_ports_from():
    assert all(PORTS_LOWEST <= port < _ephemeral_lowest() for port in free_ports(50))
