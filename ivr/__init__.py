"""Pay-by-phone IVR.

The kernel every package may import lives here: ``ivr.config``, ``ivr.db``, ``ivr.models``
and ``ivr.audit``. This module stays light on purpose: importing the kernel must not pull in
Flask or the web layer (``ivr.web``), so domain packages stay usable from workers and tests.
"""

__version__ = "0.1.0"
