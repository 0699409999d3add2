# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Redfish client: JSON over HTTPS (or plain HTTP when the endpoint says http://) with basic
authentication on every request, no session, and every answer treated as untrusted (bounded, type-checked)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
import socket
import ssl

from http.client import HTTPException
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from ansible.module_utils.urls import Request, SSLValidationError

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

DEFAULT_TIMEOUT = 30
MAX_ANSWER_BYTES = 1024 * 1024   # a ComputerSystem is a few KiB; anything near this is not a BMC's answer
MAX_ERROR_BYTES = 64 * 1024
MAX_MEMBERS = 256
MAX_TEXT = 256
ROOT = '/redfish/v1'
# Paths the client follows, from the user or from the BMC's links: under /redfish/v1 on the same endpoint only,
# so an answer can neither send the credentials elsewhere nor climb out of the service.
PATH = re.compile(r'^/redfish/v1(/[A-Za-z0-9._~!$&\'()*+,;=:@%-]+)*/?$')
# How a module reaches one system of a BMC: the bmc module's options, and each host's BMC for LiveRecovery's fencing.
BMC_ACCESS_SPEC = dict(
    endpoint=dict(type='str', required=True),
    username=dict(type='str', required=True),
    password=dict(type='str', required=True, no_log=True),
    validate_certs=dict(type='bool', default=True),
    ca_path=dict(type='path'),
    system_id=dict(type='str'),
)


def base_url(endpoint):
    """'scheme://host[:port]' of an endpoint; the scheme is required, and http:// is plain HTTP only because the
    user wrote it."""
    parts = urlsplit(endpoint or '')
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise VirtualIronError('endpoint %r is not a BMC address: give https://HOST[:PORT] (or http://HOST[:PORT] '
                               'for a BMC that only speaks plain HTTP)' % (endpoint,))
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ('', '/'):
        raise VirtualIronError('endpoint %r must be only scheme://HOST[:PORT]: give the credentials in username and '
                               'password; the client finds the Redfish service at /redfish/v1' % (endpoint,))
    try:
        parts.port
    except ValueError:
        raise VirtualIronError('endpoint %r has an invalid port' % (endpoint,))
    return '%s://%s' % (parts.scheme, parts.netloc)


def check_path(path, source='the BMC'):
    """A Redfish path (from a link in an answer) the client may follow, or VirtualIronError."""
    if not isinstance(path, str) or len(path) > 512 or not PATH.match(path) or '/../' in path + '/' \
            or '/./' in path + '/':
        raise VirtualIronError('%s gave a link outside the Redfish service (%s): refusing to follow it'
                               % (source, json.dumps(path)[:100]))
    return path


def text(value, limit=MAX_TEXT):
    """A string from an answer, cut to limit characters; None for anything else."""
    return value[:limit] if isinstance(value, str) else None


def number(value, highest=2 ** 62):
    """A non-negative number from an answer (not a boolean), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= highest:
        return None
    return value


def link(obj, key):
    """The checked path of obj[key]['@odata.id'], or None when obj has no such link."""
    target = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(target, dict) or '@odata.id' not in target:
        return None
    return check_path(target['@odata.id'])


def member_paths(collection, what, limit=MAX_MEMBERS):
    """The checked paths of a collection's Members (at most limit)."""
    members = collection.get('Members')
    if not isinstance(members, list):
        raise VirtualIronError('the BMC answered the %s collection without a list of Members' % what)
    if len(members) > limit:
        raise VirtualIronError('the BMC lists %d %s, more than the %d this module reads' % (len(members), what, limit))
    return [check_path(m.get('@odata.id') if isinstance(m, dict) else None) for m in members]


class RedfishClient(object):
    """Requests to one BMC. get() returns the answer's JSON object; patch() and post() send one."""

    def __init__(self, endpoint, username, password, validate_certs=True, ca_path=None, timeout=DEFAULT_TIMEOUT):
        self.base = base_url(endpoint)
        self.username = username
        # force_basic_auth: Redfish services answer 401 without a challenge; no redirect is followed, so the
        # credentials never go to another address; ~/.netrc never replaces them.
        self.request = Request(
            headers={'Accept': 'application/json', 'OData-Version': '4.0'}, url_username=username,
            url_password=password, force_basic_auth=True, validate_certs=validate_certs, ca_path=ca_path,
            timeout=timeout, follow_redirects='none', use_netrc=False)
        self.timeout = timeout

    def get(self, path):
        answer = self.call('GET', path)
        if not isinstance(answer, dict):
            raise VirtualIronError('the BMC at %s answered GET %s with JSON that is not an object' % (self.base, path))
        return answer

    def patch(self, path, body):
        return self.call('PATCH', path, body)

    def post(self, path, body):
        return self.call('POST', path, body)

    def call(self, method, path, body=None):
        """The JSON the BMC answers to method on path (None for an empty answer, such as 204)."""
        check_path(path, 'the module')
        headers = {'Content-Type': 'application/json'} if body is not None else {}
        data = json.dumps(body) if body is not None else None
        try:
            response = self.request.open(method, self.base + path, data=data, headers=headers)
            raw = response.read(MAX_ANSWER_BYTES + 1)
        except HTTPError as e:
            raise VirtualIronError(self.http_error(method, path, e))
        except (SSLValidationError, HTTPException, URLError, OSError) as e:
            raise VirtualIronError(self.connection_error(e))
        if len(raw) > MAX_ANSWER_BYTES:
            raise VirtualIronError('the BMC at %s answered %s %s with more than %d KiB: not a Redfish answer'
                                   % (self.base, method, path, MAX_ANSWER_BYTES // 1024))
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise VirtualIronError('the BMC at %s answered %s %s with something that is not JSON (%r): is %s a '
                                   'Redfish service?' % (self.base, method, path, raw[:80], self.base))

    def http_error(self, method, path, e):
        where = 'the BMC at %s' % self.base
        if e.code == 401:
            return '%s refused the credentials of user %s (HTTP 401): check username and password' % (
                where, self.username)
        if e.code == 403:
            return '%s does not let user %s %s %s (HTTP 403): give the user a role that may (Operator or ' \
                   'Administrator)' % (where, self.username, method, path)
        if 300 <= e.code < 400:
            return '%s answered %s %s with a redirect (HTTP %d) to %s, which the module does not follow: give the ' \
                   'address the BMC serves Redfish on' % (where, method, path, e.code, text(e.headers.get('Location')))
        return '%s answered %s %s with HTTP %d%s' % (where, method, path, e.code, redfish_message(e))

    def connection_error(self, e):
        reason = getattr(e, 'reason', e)
        if isinstance(reason, ssl.CertificateError) or isinstance(e, SSLValidationError):
            return 'TLS with the BMC at %s failed: %s; give the CA that signed its certificate in ca_path, or set ' \
                   'validate_certs=false only for a BMC you trust on a network you control' % (self.base, reason)
        if isinstance(reason, ssl.SSLError):
            return 'TLS with the BMC at %s failed: %s; does it serve HTTPS on that port? (http:// in the endpoint for ' \
                   'a BMC that only speaks plain HTTP)' % (self.base, reason)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return 'the BMC at %s did not answer within %s s' % (self.base, self.timeout)
        return 'the BMC at %s cannot be reached: %s' % (self.base, reason)


def redfish_message(e):
    """': message' from a Redfish error answer (its first extended message, else its message), or ''."""
    try:
        error = json.loads(e.read(MAX_ERROR_BYTES)).get('error')
    except Exception:  # pylint: disable=broad-exception-caught
        return ''
    if not isinstance(error, dict):
        return ''
    infos = error.get('@Message.ExtendedInfo')
    first = infos[0] if isinstance(infos, list) and infos and isinstance(infos[0], dict) else {}
    message = text(first.get('Message'), 300) or text(error.get('message'), 300)
    return ': %s' % message if message else ''
