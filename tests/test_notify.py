"""systemd's notify protocol (station.app.notify) against a real unix datagram socket."""

from __future__ import annotations

import socket

from station.app.notify import Notifier


def test_messages_reach_the_socket_and_the_watchdog_interval_is_half_of_systemds(tmp_path, monkeypatch):
    path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    notifier = Notifier()
    try:
        assert notifier.enabled and notifier.watchdog_interval_s == 10.0
        notifier.ready("serving http://127.0.0.1:8080/")
        notifier.watchdog()
        notifier.status("camera fault: no frame for 3 s")
        notifier.stopping()
        received = [server.recv(4096).decode() for _ in range(4)]
    finally:
        server.close()
    assert received == ["READY=1\nSTATUS=serving http://127.0.0.1:8080/", "WATCHDOG=1",
                        "STATUS=camera fault: no frame for 3 s", "STOPPING=1"]


def test_without_systemd_nothing_is_sent_and_a_vanished_socket_is_harmless(tmp_path, monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    quiet = Notifier()
    assert not quiet.enabled and quiet.watchdog_interval_s is None
    quiet.ready()   # no socket: a no-op
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    orphan = Notifier()
    orphan.watchdog()   # the service manager went away: no exception
