"""The web service: the NemoVideo API routes, the SQLite records, uploads, the render queue and the server."""
