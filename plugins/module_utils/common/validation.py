# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What input from outside may be: names, paths, addresses, interface and host names, libvirt URIs.

Everything that crosses a trust boundary (module parameters, node registrations, guest-controlled data)
is checked here before it reaches a file system, a command line, libvirt XML or a libvirt connection.
Each check returns the value to use (normalized where that matters) or raises VirtualIronError saying
what is wrong; none of them touches anything.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os
import re
import stat
from urllib.parse import parse_qsl, urlsplit

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError

OBJECT_NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}')
# Linux refuses '/', ':' and blanks in interface names and allows at most 15 bytes (IFNAMSIZ - 1).
INTERFACE_NAME_RE = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}')
HOST_LABEL_RE = re.compile(r'[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?')
USER_NAME_RE = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}')
# What XML 1.0 cannot hold (the complement of its Char production, written as the few ranges outside it, which
# compiles ten times faster than the negated class): lxml refuses these with an error that names no option.
NOT_XML_TEXT_RE = re.compile(u'[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')

# URIs that come from data (registrations, inventory variables) may only name these drivers and
# transports and carry these parameters: the others make the client run a program (ext, command=,
# netcat=), open a local socket (unix, socket=), read controller files (keyfile=, pkipath=, authfile=,
# known_hosts=) or turn off host verification (no_verify=, known_hosts_verify=).
DATA_URI_DRIVERS = {'qemu': ('/system',), 'xen': ('/system', '/')}
DATA_URI_TRANSPORTS = ('', 'ssh', 'libssh', 'libssh2', 'tls', 'tcp')
# The transports that authenticate the host (SSH host keys, TLS certificates; no transport is TLS): over the
# others, whoever writes the data could name a machine of their own and be taken for a hypervisor.
AUTHENTICATED_TRANSPORTS = ('ssh', 'libssh', 'libssh2', 'tls')
DATA_URI_PARAMETERS = {'mode': ('auto', 'legacy', 'direct'), 'proxy': ('auto', 'netcat', 'native')}


def _text(value, what):
    if not isinstance(value, str) or not value:
        raise VirtualIronError('%s must be a non-empty string, got %r' % (what, value))
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise VirtualIronError('%s must not contain control characters, got %r' % (what, value))
    return value


def check_object_name(name, what):
    """The name of a virtual server, switch, pool or disk as libvirt and file systems take it unquoted."""
    if not isinstance(name, str) or not OBJECT_NAME_RE.fullmatch(name) or '..' in name:
        raise VirtualIronError(
            'invalid %s name %r: use 1 to 64 letters, digits, ".", "_", "+" or "-", starting with a letter '
            'or digit, without "/" or ".."' % (what, name))
    return name


def check_interface_name(name, what='interface'):
    """A Linux network interface name (bridge, bond, NIC)."""
    if not isinstance(name, str) or not INTERFACE_NAME_RE.fullmatch(name) or name in ('.', '..'):
        raise VirtualIronError('invalid %s name %r: use 1 to 15 letters, digits, "_", "." or "-", not starting '
                               'with "." or "-"' % (what, name))
    return name


def check_host_name(name, what='host name'):
    """A DNS host name (RFC 1123): dot-separated labels of letters, digits and inner hyphens."""
    _text(name, what)
    labels = name[:-1].split('.') if name.endswith('.') else name.split('.')
    if len(name) > 253 or not all(HOST_LABEL_RE.fullmatch(label) for label in labels):
        raise VirtualIronError('invalid %s %r: use dot-separated labels of up to 63 letters, digits and '
                               'inner "-"' % (what, name))
    return name


def check_ip_address(value, what, version=None, unicast=True):
    """An IP address (of the given version); unicast refuses multicast, unspecified and broadcast."""
    try:
        address = ipaddress.ip_address(_text(value, what))
    except ValueError:
        raise VirtualIronError('%s: %r is not an IP address' % (what, value))
    # Python reads "fe80::1%<anything>" as a scoped IPv6 address: the scope would carry any text along.
    if getattr(address, 'scope_id', None) is not None:
        raise VirtualIronError('%s: %r has a scope (%%...); give the address alone' % (what, value))
    if version and address.version != version:
        raise VirtualIronError('%s: %r is not an IPv%d address' % (what, value, version))
    if unicast and (address.is_multicast or address.is_unspecified or str(address) == '255.255.255.255'):
        raise VirtualIronError('%s: %r is not a unicast address' % (what, value))
    return address


def check_subnet(value, what):
    """A subnet for hosts to live in: not multicast, loopback, unspecified, reserved or a single address."""
    try:
        network = ipaddress.ip_network(_text(value, what), strict=False)
    except ValueError:
        raise VirtualIronError('%s: %r is not a subnet (write it like 192.168.10.0/24)' % (what, value))
    kinds = (('multicast', network.is_multicast), ('loopback', network.is_loopback), ('reserved', network.is_reserved),
             ('unspecified', network.network_address.is_unspecified))
    for kind, matches in kinds:
        if matches:
            raise VirtualIronError('%s: %s is a %s range, not a subnet for hosts' % (what, network, kind))
    if network.num_addresses < 4:
        raise VirtualIronError('%s: %s is too small for a gateway and hosts' % (what, network))
    return network


def check_absolute_path(path, what):
    """An absolute, normalized path: no relative parts, "..", "//" or NUL that could mean something else."""
    _text(path, what)
    if not os.path.isabs(path) or os.path.normpath(path) != path or path.startswith('//'):
        raise VirtualIronError('%s must be an absolute path without "." or ".." parts, got %r' % (what, path))
    return path


def check_file_name(name, what):
    """One file name, to be joined to a directory: no separator, not "." or "..", no leading "-"."""
    _text(name, what)
    if '/' in name or '\0' in name or name in ('.', '..') or name.startswith('-'):
        raise VirtualIronError('invalid %s %r: a file name without "/", not "." or "..", not starting with '
                               '"-"' % (what, name))
    return name


def path_inside(directory, path, what):
    """path, which must resolve (symbolic links followed) to a place inside directory."""
    check_absolute_path(path, what)
    root = os.path.realpath(directory)
    resolved = os.path.realpath(path)
    if os.path.commonpath([root, resolved]) != root or resolved == root:
        raise VirtualIronError('%s %s is outside %s' % (what, path, directory))
    return path


def file_kind(path):
    """What is at path, without following a symbolic link: 'missing', 'file', 'block', 'symlink', 'directory'
    or 'other' (a character device, FIFO or socket)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return 'missing'
    for kind, test in (('file', stat.S_ISREG), ('block', stat.S_ISBLK), ('symlink', stat.S_ISLNK),
                       ('directory', stat.S_ISDIR)):
        if test(mode):
            return kind
    return 'other'


def check_file_kind(path, what, allowed=('missing', 'file')):
    """Refuse what is at path unless its kind (see file_kind) is allowed; return the kind."""
    kind = file_kind(path)
    if kind not in allowed:
        names = {'symlink': 'a symbolic link', 'directory': 'a directory', 'block': 'a block device',
                 'other': 'a device, FIFO or socket', 'file': 'a regular file', 'missing': 'missing'}
        raise VirtualIronError('%s %s is %s; expected %s' % (
            what, path, names[kind], ' or '.join(names[k] for k in allowed if k != 'missing') or 'nothing'))
    return kind


def check_data_uri(uri, what='uri'):
    """A libvirt URI that came from data rather than from the operator: a remote QEMU or Xen host over
    SSH, TLS or TCP, with none of the parameters that run programs, read local files or skip checks.
    Which of those transports to accept is the caller's choice (see AUTHENTICATED_TRANSPORTS)."""
    _text(uri, what)
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as e:
        raise VirtualIronError('%s: cannot read %r as a libvirt URI: %s' % (what, uri, e))
    driver, _sep, transport = parts.scheme.partition('+')
    if driver not in DATA_URI_DRIVERS or transport not in DATA_URI_TRANSPORTS:
        transports = ', '.join(t or 'the default transport' for t in DATA_URI_TRANSPORTS)
        raise VirtualIronError('%s %r: only %s drivers over %s are accepted from data'
                               % (what, uri, ' and '.join(sorted(DATA_URI_DRIVERS)), transports))
    if not parts.hostname:
        raise VirtualIronError('%s %r names no host: a URI from data must name a remote host' % (what, uri))
    check_host_address(parts.hostname, '%s host' % what)
    if parts.password is not None or (parts.username is not None and not USER_NAME_RE.fullmatch(parts.username)):
        raise VirtualIronError('%s %r: a user name of letters, digits, "_", "." and "-" only, no password'
                               % (what, uri))
    if port == 0:
        raise VirtualIronError('%s %r: port 0 is no port' % (what, uri))
    if parts.path not in DATA_URI_DRIVERS[driver] or parts.fragment:
        raise VirtualIronError('%s %r: the path must be one of %s' % (what, uri, ', '.join(DATA_URI_DRIVERS[driver])))
    _check_uri_parameters(parts.query, uri, what)
    return uri


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_uri_parameters(query, uri, what):
    try:
        parameters = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise VirtualIronError('%s %r: cannot read its parameters' % (what, uri))
    allowed = ', '.join('%s=%s' % (key, '|'.join(values)) for key, values in sorted(DATA_URI_PARAMETERS.items()))
    for key, value in parameters:
        if value not in DATA_URI_PARAMETERS.get(key, ()):
            raise VirtualIronError('%s %r: parameter %s=%s is not accepted from data (allowed: %s)'
                                   % (what, uri, key, value, allowed))


def check_free_text(text, what, multiline=True):
    """Free text for libvirt XML (a description, a tag, a password): characters XML can hold, on one line
    unless multiline. May be empty."""
    if not isinstance(text, str):
        raise VirtualIronError('%s must be a string, got %r' % (what, text))
    bad = NOT_XML_TEXT_RE.search(text) or (not multiline and re.search('[\r\n]', text))
    if bad:
        raise VirtualIronError('%s must not contain control characters%s, found %r' % (
            what, '' if multiline else ' or line breaks', bad.group()))
    return text


def check_host_address(value, what):
    """How a remote host is named: a unicast IP address or a DNS host name."""
    if _is_ip(_text(value, what)):
        check_ip_address(value, what)
        return value
    try:
        return check_host_name(value, what)
    except VirtualIronError:
        raise VirtualIronError('%s: %r is neither an IP address nor a host name' % (what, value))


def uri_transport(uri):
    """The transport a remote libvirt URI uses: the part after '+' in its scheme, TLS where there is none."""
    return urlsplit(uri).scheme.partition('+')[2] or 'tls'
