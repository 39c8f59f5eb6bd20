"""Every table, one module per subject, and the database setup.

Importing the package imports every model module, so the metadata (migrations, ``create_all``)
always holds every table.
"""

from petitions.models import audit, exports, letters, outbox, signatures, staff  # noqa: F401
