"""Error → HTTP status: the one table (issue 12, "error → status mapping lives in one table in
``web/``").

Each entry is an exception a use case raises (imported from the owning package's published face,
its ``__init__``: the web app sits above the domains) and the status and page title it becomes.
The app installs one handler per entry, which answers in the caller's language with the error's
own sentence: an ``OperationOutcome`` on FHIR routes, ``{"detail": …}`` for the JSON API, and the
NHS.UK error page for a browser. A subclass takes its closest listed base's entry.

Errors with their own behaviour keep their own handlers in ``web/app.py`` (sign-in redirect,
throttling's ``Retry-After``, request validation, unreadable input, database refusals);
``tests/web/test_error_table.py`` checks that every error a domain's use cases raise is listed.
"""

from __future__ import annotations

from ipmo.admin import UserNotFound
from ipmo.carehomes import (
    BestInterestsError,
    IngestError,
    NotYourHome,
    StaffInputError,
    WasteConflict,
    WasteInputError,
)
from ipmo.limits import TooLarge
from ipmo.patients import InvalidNhsNumber
from ipmo.pharmacyfirst import (
    ConsultationConflict,
    ConsultationError,
    ConsultationNotFound,
    UnknownPathway,
)
from ipmo.referrals import NotInvolved, ReferralConflict, ReferralError, ReferralNotFound
from ipmo.review import IdempotencyKeyReused, ReviewInputError
from ipmo.security.errors import Forbidden, PatientNotFound

NOT_FOUND = "Page not found"
NO_ACCESS = "You do not have access to this"

ERRORS: dict[type[Exception], tuple[int, str]] = {
    # the spine
    Forbidden: (403, NO_ACCESS),
    PatientNotFound: (404, "Patient not found"),
    InvalidNhsNumber: (422, "Check the NHS number"),  # the user's to correct
    TooLarge: (413, "The file is too large"),
    # referrals
    ReferralError: (422, "Check the referral"),  # bad input; nothing written
    NotInvolved: (403, NO_ACCESS),
    ReferralConflict: (409, "The referral has changed"),
    ReferralNotFound: (404, NOT_FOUND),
    # review
    ReviewInputError: (422, "Check the review"),
    IdempotencyKeyReused: (409, "This review was already recorded"),
    # administration
    UserNotFound: (404, NOT_FOUND),
    # care homes
    IngestError: (422, "Check the administrations"),
    BestInterestsError: (422, "Check the best-interests decision"),
    StaffInputError: (422, "Check the record"),
    NotYourHome: (403, "Not your care home"),
    WasteInputError: (422, "Check the waste record"),
    WasteConflict: (409, "This reference was used for another record"),
    # Pharmacy First
    ConsultationError: (422, "Check the consultation"),  # bad input; nothing written
    UnknownPathway: (422, "Check the pathway"),
    ConsultationNotFound: (404, NOT_FOUND),
    ConsultationConflict: (409, "The consultation has changed"),
}
