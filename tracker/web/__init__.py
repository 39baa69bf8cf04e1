"""The web application (``tracker serve``): see ``tracker.web.app``."""

from tracker.web.app import create_app

__all__ = ["create_app"]
