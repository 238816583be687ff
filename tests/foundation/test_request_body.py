"""config/request_body.py: a body the application answered without reading is read after the answer is written,
so the server closes the connection cleanly; requests without a body pass through untouched."""

from __future__ import annotations

import io

import pytest

from config.request_body import MAX_DRAIN_BYTES, DrainUnreadBody


def refuses_unread(environ, start_response):
    start_response("403 Forbidden", [("Content-Type", "text/plain")])
    return [b"refused before reading"]


def call(app, environ):
    started = []
    response = app(environ, lambda status, headers, *exc: started.append(status))
    body = b"".join(response)
    getattr(response, "close", lambda: None)()
    return started[0], body


@pytest.mark.parametrize(
    "headers",
    [{"CONTENT_LENGTH": str(3 * 1024 * 1024)}, {"HTTP_TRANSFER_ENCODING": "chunked"}],
    ids=["content-length", "chunked"],
)
def test_an_unread_body_is_read_once_the_answer_is_written(headers):
    stream = io.BytesIO(b"x" * (3 * 1024 * 1024))
    status, body = call(DrainUnreadBody(refuses_unread), {"REQUEST_METHOD": "POST", "wsgi.input": stream, **headers})

    assert (status, body) == ("403 Forbidden", b"refused before reading")
    assert stream.read() == b""


def test_draining_stops_at_the_largest_body_nginx_lets_through():
    stream = io.BytesIO(b"x" * (MAX_DRAIN_BYTES + 10))
    call(DrainUnreadBody(refuses_unread), {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "1", "wsgi.input": stream})

    assert len(stream.read()) == 10


def test_a_request_without_a_body_gets_the_application_answer_itself():
    # A static file's wsgi.file_wrapper must reach Gunicorn as it is, or it loses sendfile.
    answer = [b"page"]
    app = DrainUnreadBody(lambda environ, start_response: answer)

    assert app({"REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}, lambda *args: None) is answer
