# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way modules reach libvirt: open a connection, turn libvirt errors into module failures."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import threading
import traceback

from ansible.module_utils.basic import env_fallback

# VirtualIronError lives in errors; modules import it from here too.
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import (
    MissingLibraryError, VirtualIronError, failure_details)

try:
    import libvirt
except ImportError:
    libvirt = None
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()
else:
    LIBVIRT_IMPORT_ERROR = None

# libvirt has no connect timeout of its own: a host that drops packets holds a connection for minutes (the
# operating system's TCP retries), one whose libvirtd or SSH hangs, forever.
CONNECT_TIMEOUT = 20
CONNECTION_ARGUMENT_SPEC = dict(
    uri=dict(type='str', default='qemu:///system', fallback=(env_fallback, ['VIRTUALIRON_URI'])),
    connect_timeout=dict(type='int', default=CONNECT_TIMEOUT),
)


def _ignore_libvirt_error(_ctx, _err):
    """libvirt prints every error to stderr by default; the exception carries it already."""


def open_connection(uri, timeout=CONNECT_TIMEOUT):
    """Open a read-write libvirt connection within timeout seconds (0: as long as libvirt takes), or raise
    VirtualIronError saying why not."""
    if libvirt is None:
        raise MissingLibraryError('libvirt-python', LIBVIRT_IMPORT_ERROR)
    libvirt.registerErrorHandler(_ignore_libvirt_error, None)
    attempt = _Attempt(uri)
    if not timeout:
        attempt.run()
    else:
        thread = threading.Thread(target=attempt.run, name='libvirt-open %s' % uri)
        thread.daemon = True   # one still waiting on a dead host must not keep the process alive
        thread.start()
        thread.join(timeout)
        if attempt.give_up():
            raise VirtualIronError('cannot connect to the hypervisor host at %s: no answer within %d s '
                                   '(connect_timeout)' % (uri, timeout))
    if attempt.error is not None:
        raise VirtualIronError('cannot connect to the hypervisor host at %s: %s'
                               % (uri, attempt.error.get_error_message()))
    return attempt.conn


class _Attempt(object):
    """One libvirt.open, which the caller may stop waiting for: a connection it gets after that is closed."""

    def __init__(self, uri):
        self.uri = uri
        self.conn = self.error = None
        self._lock = threading.Lock()
        self._done = self._abandoned = False

    def run(self):
        try:
            conn = libvirt.open(self.uri)
        except libvirt.libvirtError as e:
            conn, self.error = None, e
        with self._lock:
            self._done = True
            if not self._abandoned:
                self.conn, conn = conn, None
        if conn is not None:
            conn.close()

    def give_up(self):
        """True, and the attempt abandoned, when it has not finished."""
        with self._lock:
            self._abandoned = not self._done
            return self._abandoned


@contextlib.contextmanager
def libvirt_session(module):
    """Yield a connection to module.params['uri']; any libvirt or VirtualIron error fails the module.

    The connection is closed whatever happens, so a failed task leaves no client behind.
    """
    uri = module.params['uri']
    conn = None
    with module_failures(module, uri):
        try:
            conn = open_connection(uri, module.params.get('connect_timeout', CONNECT_TIMEOUT))
            yield conn
        finally:
            if conn is not None:
                close_connection(conn)


def close_connection(conn):
    """Close a connection; a dead one cannot be closed cleanly, and nothing is lost."""
    try:
        conn.close()
    except Exception:  # pylint: disable=broad-exception-caught
        pass


def on_host(uri, work, timeout=CONNECT_TIMEOUT):
    """(work(conn), None) with a connection to uri opened for the call and closed after it, or (None, message)
    when the host could not be reached or refused (for code that reads many hosts and reports the ones that
    failed); any other exception is a bug and keeps its traceback."""
    conn = None
    try:
        conn = open_connection(uri, timeout)
        return work(conn), None
    except Exception as e:  # pylint: disable=broad-exception-caught
        if is_libvirt_error(e):
            return None, e.get_error_message()
        if isinstance(e, VirtualIronError):
            return None, str(e)
        raise
    finally:
        if conn is not None:
            close_connection(conn)


@contextlib.contextmanager
def module_failures(module, uri=None):
    """Any libvirt or VirtualIron error in the block fails the module with its message and details (for the
    modules that open connections of their own, to several hosts); uri names the host where there is one."""
    where = {'uri': uri} if uri else {}
    try:
        yield
    except VirtualIronError as e:
        module.fail_json(msg=str(e), **dict(where, **failure_details(e)))
    except Exception as e:  # libvirt.libvirtError, when libvirt is importable
        if libvirt is None or not isinstance(e, libvirt.libvirtError):
            raise
        module.fail_json(msg='libvirt error%s: %s' % (' on %s' % uri if uri else '', e.get_error_message()),
                         libvirt_error_code=e.get_error_code(), **where)


def lookup_or_none(find, name, missing_code):
    """find(name), or None where libvirt answers that there is no such object (missing_code)."""
    try:
        return find(name)
    except libvirt.libvirtError as e:
        if e.get_error_code() == missing_code:
            return None
        raise


def stop_and_undefine(obj):
    """Stop a libvirt object (a switch, a pool) if it runs, and remove its definition if it has one."""
    if obj.isActive():
        obj.destroy()
    if obj.isPersistent():
        obj.undefine()


def is_libvirt_error(exc, *codes):
    """True when exc is a libvirtError with one of the given VIR_ERR_* codes (any code if none given)."""
    if libvirt is None or not isinstance(exc, libvirt.libvirtError):
        return False
    return not codes or exc.get_error_code() in codes


def server_definitions(conn):
    """(dom, running, [XML]) for every server of the host: its saved definition and, while it runs, its live
    one (a device plugged in or not yet unplugged counts). A server removed or migrated away since it was
    listed is left out: it no longer uses anything here."""
    for dom in conn.listAllDomains(0):
        try:
            running = bool(dom.isActive())
            xmls = [dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)] + ([dom.XMLDesc(0)] if running else [])
        except libvirt.libvirtError as e:
            if is_libvirt_error(e, libvirt.VIR_ERR_NO_DOMAIN):
                continue
            raise
        yield dom, running, xmls
