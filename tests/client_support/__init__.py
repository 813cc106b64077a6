"""Helpers for the client tests: in-process test clients and a scripted HTTPS server."""
