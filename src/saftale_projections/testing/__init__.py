"""Tests for your own view backend: subclass :class:`BackendSuite`.

Every backend saftale ships (memory, SQLite, PostgreSQL) passes the same suite; a
backend of your own passes it too when it keeps the contract of
:class:`~saftale_projections.ViewBackend`::

    from saftale_projections.testing import BackendSuite

    class TestMyBackend(BackendSuite):
        def make_backend(self) -> MyBackend:
            return MyBackend(...)

Importing this module needs pytest.
"""

from saftale_projections.testing.backend_suite import (
    SPANS,
    THINGS,
    BackendSuite,
    SuiteProjection,
    select_all,
)

__all__ = ["SPANS", "THINGS", "BackendSuite", "SuiteProjection", "select_all"]
