# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way modules reach libvirt: open a connection, turn libvirt errors into module failures."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

try:
    import libvirt
except ImportError:
    libvirt = None
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()
else:
    LIBVIRT_IMPORT_ERROR = None

CONNECTION_ARGUMENT_SPEC = dict(
    uri=dict(type='str', default='qemu:///system', fallback=(env_fallback, ['VIRTUALIRON_URI'])),
)


class VirtualIronError(Exception):
    """A failure whose message is meant for the user as it is."""


def _ignore_libvirt_error(_ctx, _err):
    """libvirt prints every error to stderr by default; the exception carries it already."""


def open_connection(uri):
    """Open a read-write libvirt connection, or raise VirtualIronError saying why not."""
    if libvirt is None:
        raise VirtualIronError(missing_required_lib('libvirt-python'))
    libvirt.registerErrorHandler(_ignore_libvirt_error, None)
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as e:
        raise VirtualIronError('cannot connect to the hypervisor host at %s: %s' % (uri, e.get_error_message()))


@contextlib.contextmanager
def libvirt_session(module):
    """Yield a connection to module.params['uri']; any libvirt or VirtualIron error fails the module.

    The connection is closed whatever happens, so a failed task leaves no client behind.
    """
    uri = module.params['uri']
    conn = None
    try:
        conn = open_connection(uri)
        yield conn
    except VirtualIronError as e:
        module.fail_json(msg=str(e), uri=uri)
    except Exception as e:  # libvirt.libvirtError, when libvirt is importable
        if libvirt is None or not isinstance(e, libvirt.libvirtError):
            raise
        module.fail_json(msg='libvirt error on %s: %s' % (uri, e.get_error_message()),
                         uri=uri, libvirt_error_code=e.get_error_code())
    finally:
        if conn is not None:
            try:
                conn.close()
            except Exception:  # a dead connection cannot be closed cleanly; nothing is lost
                pass


def lookup_or_none(find, name, missing_code):
    """find(name), or None where libvirt answers that there is no such object (missing_code)."""
    try:
        return find(name)
    except libvirt.libvirtError as e:
        if e.get_error_code() == missing_code:
            return None
        raise


def converge_autostart(obj, wanted, check_mode):
    """Bring a libvirt object's autostart (a server's, a switch's) to wanted; None leaves it alone.
    obj is None for an object check mode has not defined. Returns the change made, or None."""
    if wanted is None or (obj is not None and bool(obj.autostart()) == wanted):
        return None
    if not check_mode:
        obj.setAutostart(1 if wanted else 0)
    return 'autostart %s' % ('enabled' if wanted else 'disabled')


def is_libvirt_error(exc, *codes):
    """True when exc is a libvirtError with one of the given VIR_ERR_* codes (any code if none given)."""
    if libvirt is None or not isinstance(exc, libvirt.libvirtError):
        return False
    return not codes or exc.get_error_code() in codes
