# An SSE endpoint as aiohttp's documentation writes one: a StreamResponse, replay after the
# Last-Event-ID header from an in-memory log, then live messages. For the tests: GET /publish?k=N
# sends message "mN" with id N, GET /cut drops every open stream; the test page and the build are
# served as static files. Run: python3 aiohttp_sse.py <port> <repository root>
import asyncio
import sys

from aiohttp import web

log = []
live = set()


async def events(request):
    response = web.StreamResponse(headers={'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache'})
    await response.prepare(request)
    since = int(request.headers.get('Last-Event-ID') or 0)
    for k, data in log:
        if k > since:
            await response.write(f'id: {k}\ndata: {data}\n\n'.encode())
    queue = asyncio.Queue()
    client = (queue, request.transport)
    live.add(client)
    try:
        while True:
            k, data = await queue.get()
            await response.write(f'id: {k}\ndata: {data}\n\n'.encode())
    finally:
        live.discard(client)


async def publish(request):
    k = int(request.query['k'])
    log.append((k, f'm{k}'))
    for queue, _ in list(live):
        queue.put_nowait((k, f'm{k}'))
    return web.Response(text='ok')


async def cut(request):
    for _, transport in list(live):
        if transport is not None:
            transport.abort()
    return web.Response(text='ok')


root = sys.argv[2]
app = web.Application()
app.router.add_get('/events', events)
app.router.add_get('/publish', publish)
app.router.add_get('/cut', cut)
app.router.add_static('/dist', f'{root}/dist')
app.router.add_static('/test/browser/pages', f'{root}/test/browser/pages')
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None)
