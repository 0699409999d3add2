# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's exception, and what stands in for a Python library that could not be imported."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib


class VirtualIronError(Exception):
    """A failure whose message is meant for the user as it is. details: result keys the failed task still
    returns, such as what it did before it failed (see failure_details)."""

    def __init__(self, message, details=None):
        super(VirtualIronError, self).__init__(message)
        self.details = details or {}


class MissingLibraryError(VirtualIronError):
    """A Python library the collection needs is not installed. import_traceback: that of the failed import,
    for fail_json's exception= (failure_details)."""

    def __init__(self, library, import_traceback=None):
        super(MissingLibraryError, self).__init__(missing_required_lib(library))
        self.import_traceback = import_traceback


class MissingLibrary(object):
    """Holds the place of a library whose import failed: any use of it raises MissingLibraryError with the
    import's traceback, so that a missing library fails with a clear message, never a NoneType error."""

    def __init__(self, library, import_traceback):
        self.library = library
        self.import_traceback = import_traceback

    def __getattr__(self, name):
        # Only called for attributes the holder lacks: library and import_traceback are its own.
        raise MissingLibraryError(self.library, self.import_traceback)


def failure_details(error):
    """fail_json's keyword arguments beyond msg for an error: its details (a dict of result keys, such as the
    results of the servers done before a failure), and exception= the import traceback of a missing library."""
    details = dict(getattr(error, 'details', None) or {})
    import_traceback = getattr(error, 'import_traceback', None)
    if import_traceback:
        details['exception'] = import_traceback
    return details
