"""``python -m runner``: the socket server, its clients, the idle display and the health check."""
