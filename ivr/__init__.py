"""Pay-by-phone IVR.

The kernel every package may import lives here: ``ivr.config``, ``ivr.db``, ``ivr.models``,
``ivr.audit``, ``ivr.logs``, ``ivr.outbox``, ``ivr.migrate`` and the migrations. It imports
nothing of ours but itself (Alembic's env.py also loads the fakes' tables). This module stays
light on purpose: importing the kernel must not pull in Flask or the web layer (``ivr.web``),
so domain packages stay usable from workers and tests. tests/test_layers.py checks all this.
"""

__version__ = "0.1.0"
