"""tracker: deliverable and KPI tracking for publicly funded social-service projects (公益创投).

The library is the product; the ``tracker`` command line is a thin shell over it."""

__version__ = "0.1.0"
