"""HTTP load generator: requests per second for a URL over 20 keep-alive connections.

Uses `wrk` (Debian package wrk) when installed, else a small asyncio + httpx client (slower:
its own cost caps the figure, so install wrk for real measurements).

    python -m bench.http_load http://127.0.0.1:8000/ --duration 10
"""

import argparse
import asyncio
import re
import shutil
import subprocess
import time

import httpx

CONNECTIONS = 20


def _wrk(url: str, *, duration: float, connections: int, headers: dict[str, str]) -> dict:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{max(1, round(duration))}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=duration + 30
    ).stdout
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "tool": "wrk",
        "requests": requests,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "non_2xx_3xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


async def _httpx(url: str, *, duration: float, connections: int, headers: dict[str, str]) -> dict:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    counts = {"requests": 0, "bad": 0, "errors": 0}
    async with httpx.AsyncClient(
        limits=limits,
        headers=headers,
        timeout=10,
        verify=False,  # noqa: S501
    ) as client:
        end = time.perf_counter() + duration

        async def worker():
            while time.perf_counter() < end:
                try:
                    response = await client.get(url)
                except httpx.HTTPError:
                    counts["errors"] += 1
                    continue
                counts["requests"] += 1
                counts["bad"] += not 200 <= response.status_code < 400

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return {
        "tool": "httpx",
        "requests": counts["requests"],
        "requests_per_s": round(counts["requests"] / elapsed, 1),
        "non_2xx_3xx": counts["bad"],
        "socket_errors": str(counts["errors"]) if counts["errors"] else "",
    }


def http_scenario(
    url: str,
    *,
    duration: float = 10.0,
    connections: int = CONNECTIONS,
    headers: dict[str, str] | None = None,
    tool: str = "auto",
) -> dict:
    """Load `url` for `duration` seconds; `tool` is "wrk", "httpx" or "auto" (wrk if installed)."""
    headers = headers or {}
    # One request first: it fills caches and shows a broken page before any load.
    # verify=False: the native stack's certificate is self-signed (wrk does not check it either).
    warmup_status = httpx.get(url, headers=headers, timeout=30, verify=False).status_code  # noqa: S501
    if tool == "wrk" or (tool == "auto" and shutil.which("wrk")):
        result = _wrk(url, duration=duration, connections=connections, headers=headers)
    else:
        result = asyncio.run(
            _httpx(url, duration=duration, connections=connections, headers=headers)
        )
    return {
        "url": url,
        "connections": connections,
        "duration_s": duration,
        "warmup_status": warmup_status,
        **result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--header", action="append", default=[], help='"Name: value"')
    parser.add_argument("--tool", choices=("auto", "wrk", "httpx"), default="auto")
    args = parser.parse_args()
    headers = dict(header.split(":", 1) for header in args.header)
    headers = {name.strip(): value.strip() for name, value in headers.items()}
    print(
        http_scenario(
            args.url,
            duration=args.duration,
            connections=args.connections,
            headers=headers,
            tool=args.tool,
        )
    )


if __name__ == "__main__":
    main()
