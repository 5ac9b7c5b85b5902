"""The least an aiohttp.web server can do: one low-level handler returning fixed bytes.

    python benchmarks/_bare_server.py --page FILE --single FILE [--port 0]

``GET /organizations`` returns the bytes of `--page`, ``GET /organizations/{id}`` those of
`--single`, both as ``application/json``.  The emulator's requests/s are measured against
this server's, with the same client load and the same response bytes, so the ratio is what
the emulator's own work costs.  Like the emulator it serves through ``web.Server`` (no
application, router or middleware).  Prints ``listening on URL`` once it serves.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web


def handler(page: bytes, single: bytes) -> Callable[[web.BaseRequest], Awaitable[web.Response]]:
    """``/organizations`` gets `page`; any other path (``/organizations/{id}``) gets `single`."""

    async def handle(request: web.BaseRequest) -> web.Response:
        body = page if request.path == "/organizations" else single
        return web.Response(body=body, content_type="application/json")

    return handle


async def serve(page: bytes, single: bytes, port: int) -> None:
    """Serve on 127.0.0.1:`port` until SIGINT or SIGTERM."""
    runner = web.ServerRunner(web.Server(handler(page, single), access_log=None), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    host, bound = runner.addresses[0][:2]
    print(f"listening on http://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    """Read the two bodies named on the command line and serve them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--page", type=Path, required=True, help="bytes returned for GET /organizations")
    parser.add_argument("--single", type=Path, required=True, help="bytes returned for GET /organizations/{id}")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    args = parser.parse_args()
    asyncio.run(serve(args.page.read_bytes(), args.single.read_bytes(), args.port))


if __name__ == "__main__":
    main()
