# A WebSocket server as the Python `websockets` library's documentation writes one: JSON messages
# {"id": …, "data": …}, and resume by ?lastEventId= (a browser cannot set headers on a
# WebSocket). For the tests, on the same port over plain HTTP: /publish?k=N sends message "mN"
# with id N, /cut drops every connection. Run: python3 websockets_ws.py <port>
import asyncio
import http
import json
import sys
from urllib.parse import parse_qs, urlparse

import websockets

log = []
live = set()


async def handler(ws, path=None):
    query = parse_qs(urlparse(path or ws.path).query)
    since = int(query.get('lastEventId', ['0'])[0] or 0)
    for k, data in log:
        if k > since:
            await ws.send(json.dumps({'id': k, 'data': data}))
    live.add(ws)
    try:
        await ws.wait_closed()
    finally:
        live.discard(ws)


async def control(path, headers):
    url = urlparse(path)
    if url.path == '/publish':
        k = int(parse_qs(url.query)['k'][0])
        log.append((k, f'm{k}'))
        message = json.dumps({'id': k, 'data': f'm{k}'})
        for ws in list(live):
            asyncio.ensure_future(ws.send(message))
        return http.HTTPStatus.OK, [], b'ok'
    if url.path == '/cut':
        for ws in list(live):
            ws.transport.abort()
        return http.HTTPStatus.OK, [], b'ok'
    return None


async def main():
    async with websockets.serve(handler, '127.0.0.1', int(sys.argv[1]), process_request=control):
        await asyncio.Future()


asyncio.run(main())
