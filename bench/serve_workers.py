"""Serve the ipmo app with several uvicorn worker processes, as ``uvicorn --workers N`` would,
but with TCP_NODELAY on every connection (used by bench_referrals.py).

Why not plain ``uvicorn --workers N``: its supervisor binds the listening socket with ``proto`` 0,
accepted sockets inherit it, and asyncio only sets TCP_NODELAY when ``proto`` is IPPROTO_TCP, so
every keep-alive response waits ~40 ms for the client's delayed ACK (uvicorn issue #3149, open
at uvicorn 0.54; a single worker is not affected). Here the socket is rebuilt with the protocol
set before the workers get it.

Run: python bench/serve_workers.py --port 8000 --workers 2
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


class _Config(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            fixed = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            return fixed
        return sock


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--log-level", default="warning")
    args = ap.parse_args()
    config = _Config(
        "ipmo.web.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )
    if args.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
