"""Every table, one module per subject, and the database setup.

Importing the package imports every model module, so the metadata (migrations, ``create_all``)
always holds every table.
"""

from petitions.models import (  # noqa: F401
    audit,
    exports,
    follow_up,
    letters,
    outbox,
    privacy,
    referrals,
    schedule,
    signature_changes,
    signatures,
    staff,
)
