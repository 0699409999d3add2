# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one shape of every state module: read the object, converge it, return the result.

A converger records what it does as data in its change set (field, old, new, and when the change takes
effect); the words of `changes` are made once, at the end, by `describe`, and no decision ever reads them.
The base gives every converger check mode, the result's before/after, `diff` only when Ansible asks for
one (--diff), and the undoing of what a failed run made.

    class PoolConverger(Converger):
        result_key = 'pool'
        def read(self): ...              # the object now, in the user's words (None: absent)
        def converge(self, before): ...  # records changes, acts unless check_mode; the object afterwards

    module.exit_json(**PoolConverger(conn, module.params, module.check_mode, module._diff).run())
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import namedtuple

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import is_libvirt_error
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

# when: None (done now), LIVE (applied to the running object), NEXT_BOOT (saved, applied at its next start).
LIVE = 'live'
NEXT_BOOT = 'next boot'
Change = namedtuple('Change', 'field old new when')


class ChangeSet(object):
    """The changes of one run, in order."""

    def __init__(self):
        self.items = []

    def add(self, field, old=None, new=None, when=None):
        change = Change(field, old, new, when)
        self.items.append(change)
        return change

    def has(self, *fields):
        """True when a change of one of these fields was recorded."""
        return any(change.field in fields for change in self.items)

    def made(self, field, new=True):
        """True when a change of field to new was recorded (by default: to a true value, such as 'exists' to
        True for an object this run created)."""
        return any(c.field == field and (c.new == new if new is not True else bool(c.new)) for c in self.items)

    def __bool__(self):
        return bool(self.items)

    __nonzero__ = __bool__

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def describe_change(change):
    """The words of the changes every converger shares; anything else is 'field set to new'."""
    if change.field == 'exists':
        text = 'created' if change.new else 'removed'
    elif change.field == 'definition':
        text = 'definition updated'
    elif change.field == 'autostart':
        text = 'autostart %s' % ('enabled' if change.new else 'disabled')
    elif isinstance(change.new, bool):
        text = '%s %s' % (change.field, 'enabled' if change.new else 'disabled')
    else:
        text = '%s set to %s' % (change.field, change.new)
    return text + (' (%s)' % change.when if change.when else '')


class Converger(object):
    """Base of every converger: subclasses give read() and converge(), and may override describe()."""

    result_key = None  # the result's key for the object afterwards ('pool', 'volume', ...)

    def __init__(self, conn, params, check_mode=False, diff=False):
        self.conn = conn
        self.params = params
        self.check_mode = check_mode
        self.diff = diff
        self.changes = ChangeSet()

    def read(self):
        raise NotImplementedError

    def converge(self, before):
        raise NotImplementedError

    def describe(self, change):
        return describe_change(change)

    def undo(self):
        """Remove what this failed run made (nothing by default); returns a sentence saying what became of it,
        or None when the run made nothing."""
        return None

    def run(self):
        before = self.read()
        try:
            after = self.converge(before)
        except Exception as e:  # pylint: disable=broad-exception-caught
            note = None if self.check_mode else self.undo()
            if note is None or not isinstance(e, VirtualIronError) and not is_libvirt_error(e):
                raise  # a bug keeps its traceback
            raise VirtualIronError('%s; %s' % (e, note))
        return self.result(before, after)

    def result(self, before, after):
        result = {'changed': bool(self.changes), 'changes': [self.describe(c) for c in self.changes],
                  self.result_key: after}
        if self.diff:
            result['diff'] = {'before': before or {}, 'after': after or {}}
            if self.params.get('name'):
                result['diff'].update(before_header=self.params['name'], after_header=self.params['name'])
        return result

    def act(self, field, old, new, action, *args, **kwargs):
        """Record a change and do it (action(*args, **kwargs)) unless in check mode; returns what it returned."""
        self.changes.add(field, old, new, kwargs.pop('when', None))
        if not self.check_mode:
            return action(*args, **kwargs)
        return None

    def converge_autostart(self, obj, wanted):
        """Bring a libvirt object's autostart (a server's, a switch's, a pool's) to wanted; None leaves it alone.
        obj is None for an object that check mode has not defined (libvirt defines objects without autostart)."""
        old = False if obj is None else bool(obj.autostart())
        if wanted is not None and old != wanted:
            self.act('autostart', old, wanted, lambda: obj.setAutostart(1 if wanted else 0))
