# An SSE endpoint as Flask users write one: a streaming response from a generator, replay after
# the Last-Event-ID header from an in-memory log, then live messages. For the tests: GET
# /publish?k=N sends message "mN" with id N, GET /cut ends every open stream (the generator
# returns); the test page and the build are served as static files.
# Run: python3 flask_sse.py <port> <repository root>
import queue
import sys
import threading

from flask import Flask, Response, request, send_from_directory

root = sys.argv[2]
app = Flask(__name__)
log = []
live = set()
lock = threading.Lock()
CUT = object()


@app.get('/events')
def events():
    since = int(request.headers.get('Last-Event-ID') or 0)
    q = queue.Queue()
    with lock:
        missed = [(k, d) for k, d in log if k > since]
        live.add(q)

    def stream():
        try:
            for k, data in missed:
                yield f'id: {k}\ndata: {data}\n\n'
            while True:
                item = q.get()
                if item is CUT:
                    return
                k, data = item
                yield f'id: {k}\ndata: {data}\n\n'
        finally:
            with lock:
                live.discard(q)

    return Response(stream(), mimetype='text/event-stream', headers={'Cache-Control': 'no-cache'})


@app.get('/publish')
def publish():
    k = int(request.args['k'])
    with lock:
        log.append((k, f'm{k}'))
        for q in live:
            q.put((k, f'm{k}'))
    return 'ok'


@app.get('/cut')
def cut():
    with lock:
        for q in live:
            q.put(CUT)
    return 'ok'


@app.get('/dist/<path:name>')
def dist(name):
    return send_from_directory(f'{root}/dist', name)


@app.get('/test/browser/pages/<path:name>')
def pages(name):
    return send_from_directory(f'{root}/test/browser/pages', name)


app.run(host='127.0.0.1', port=int(sys.argv[1]), threaded=True)
