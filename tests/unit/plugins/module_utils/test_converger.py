# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""common.converger: the change set, its words, check mode, diff only when asked, undo of a failed run."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import libvirt
import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.converger import (
    LIVE, NEXT_BOOT, Change, Converger, describe_change)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError


@pytest.mark.parametrize('change, words', [
    (Change('exists', False, True, None), 'created'),
    (Change('exists', True, False, None), 'removed'),
    (Change('definition', {'a': 1}, {'a': 2}, None), 'definition updated'),
    (Change('autostart', False, True, None), 'autostart enabled'),
    (Change('autostart', True, False, None), 'autostart disabled'),
    (Change('autostart', None, True, None), 'autostart enabled'),
    (Change('compression', False, True, None), 'compression enabled'),
    (Change('vcpus', 2, 4, LIVE), 'vcpus set to 4 (live)'),
    (Change('boot', ['disk'], ['network'], NEXT_BOOT), "boot set to ['network'] (next boot)"),
    (Change('size', 1, 2, None), 'size set to 2'),
])
def test_words_of_a_change(change, words):
    assert describe_change(change) == words


class Thing(object):
    """A libvirt-like object with an autostart flag."""

    def __init__(self, autostart=False):
        self.flag = autostart
        self.calls = []

    def autostart(self):
        return int(self.flag)

    def setAutostart(self, value):
        self.calls.append(value)
        self.flag = bool(value)


class ThingConverger(Converger):
    """Converges a Thing's autostart; fails after it when params['fail'] says how."""

    result_key = 'thing'

    def read(self):
        return {'autostart': bool(self.conn.flag)}

    def converge(self, before):
        self.converge_autostart(self.conn, self.params.get('autostart'))
        failure = self.params.get('fail')
        if failure:
            raise failure
        return {'autostart': self.params['autostart'] if self.check_mode else bool(self.conn.flag)}

    def undo(self):
        return 'undone' if self.changes else None


@pytest.mark.parametrize('start, wanted, check_mode, diff, calls, result', [
    (False, True, False, False, [1],
     {'changed': True, 'changes': ['autostart enabled'], 'thing': {'autostart': True}}),
    (True, False, False, True, [0],
     {'changed': True, 'changes': ['autostart disabled'], 'thing': {'autostart': False},
      'diff': {'before': {'autostart': True}, 'after': {'autostart': False}}}),
    (False, True, True, True, [],
     {'changed': True, 'changes': ['autostart enabled'], 'thing': {'autostart': True},
      'diff': {'before': {'autostart': False}, 'after': {'autostart': True}}}),
    (True, True, False, False, [],
     {'changed': False, 'changes': [], 'thing': {'autostart': True}}),
    (True, None, False, False, [],
     {'changed': False, 'changes': [], 'thing': {'autostart': True}}),
])
def test_run(start, wanted, check_mode, diff, calls, result):
    thing = Thing(start)
    assert ThingConverger(thing, {'autostart': wanted}, check_mode, diff).run() == result
    assert thing.calls == calls


@pytest.mark.parametrize('error, start, check_mode, raised, message', [
    # a run that changed something and failed says what became of it
    (VirtualIronError('boom'), False, False, VirtualIronError, 'boom; undone'),
    (libvirt.libvirtError('refused'), False, False, VirtualIronError, 'refused; undone'),
    # a bug keeps its own exception and traceback
    (KeyError('x'), False, False, KeyError, "'x'"),
    # nothing made: the error as it was
    (VirtualIronError('boom'), True, False, VirtualIronError, 'boom'),
    # check mode made nothing, so nothing is undone
    (VirtualIronError('boom'), False, True, VirtualIronError, 'boom'),
])
def test_a_failed_run_undoes_what_it_made(error, start, check_mode, raised, message):
    with pytest.raises(raised) as caught:
        ThingConverger(Thing(start), {'autostart': True, 'fail': error}, check_mode).run()
    assert str(caught.value) == message


def test_change_set_answers_in_fields():
    converger = ThingConverger(Thing(), {})
    converger.changes.add('exists', False, True)
    converger.changes.add('state', 'stopped', 'running')
    assert converger.changes.has('state') and converger.changes.has('other', 'exists')
    assert not converger.changes.has('autostart')
    assert [c.field for c in converger.changes] == ['exists', 'state'] and len(converger.changes) == 2


def test_act_does_nothing_in_check_mode():
    done = []
    for check_mode in (True, False):
        converger = ThingConverger(Thing(), {}, check_mode)
        returned = converger.act('size', 1, 2, done.append, check_mode)
        assert list(converger.changes) == [Change('size', 1, 2, None)]
        assert returned is None
    assert done == [False]


def test_act_records_when():
    converger = ThingConverger(Thing(), {})
    converger.act('vcpus', 2, 4, lambda: None, when=LIVE)
    assert converger.result(None, {})['changes'] == ['vcpus set to 4 (live)']
