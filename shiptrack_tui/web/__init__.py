"""The HTTP surface (DESIGN §11): health, metrics and the JSON API, on a thread and loop of its own."""

from shiptrack_tui.web.app import asgi_app, create_app
from shiptrack_tui.web.context import WebContext, web_context
from shiptrack_tui.web.launch import open_listener, start_http
from shiptrack_tui.web.server import HttpServer, ListenError, bind

__all__ = ["HttpServer", "ListenError", "WebContext", "asgi_app", "bind", "create_app", "open_listener",
           "start_http", "web_context"]
