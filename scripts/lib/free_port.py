"""Prints a TCP port free on 127.0.0.1 right now (the kernel's pick for port 0).

Usage: python3 scripts/lib/free_port.py
"""

import socket

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
