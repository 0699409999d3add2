# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""common.command: declared argument formats make exact argv; runs report failures with the command line."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.command import (
    Command, fixed, flag, option, positional)
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError

TOOL = Command('tool', dict(yes=flag('--yes'), name=option('-n'), size=option('--size'), args=positional(),
                            json=fixed('--json')),
               environ={'LC_ALL': 'C'}, prefix=['prlimit', '--as=1'])


@pytest.mark.parametrize('order, values, argv', [
    (['yes', 'name'], dict(yes=True, name='a b'), ['--yes', '-n', 'a b']),
    (['yes', 'name'], dict(yes=False), []),
    (['size', 'args'], dict(size=10, args=['x', 'y']), ['--size', '10', 'x', 'y']),
    (['args'], dict(args='one; rm -rf /'), ['one; rm -rf /']),
    (['json', 'size'], dict(size=None), ['--json']),
    (['args', 'name'], dict(args=0, name=0), ['0', '-n', '0']),
])
def test_argv(order, values, argv):
    assert TOOL.argv(order, **values) == ['prlimit', '--as=1', 'tool'] + argv


def test_unknown_argument_is_a_bug():
    with pytest.raises(ValueError, match='tool has no argument other'):
        TOOL.argv(['name', 'other'])


@pytest.mark.parametrize('rc, out, err, check_rc, expected', [
    (0, 'fine', '', True, (0, 'fine', '')),
    (3, '', 'bad\n', False, (3, '', 'bad\n')),
    (3, '', ' bad \n', True, 'listing failed (tool -n x, exit status 3): bad'),
    (5, 'from stdout', '', True, 'listing failed (tool -n x, exit status 5): from stdout'),
])
def test_run(rc, out, err, check_rc, expected):
    calls = []

    def run(argv, environ_update=None):
        calls.append((argv, environ_update))
        return rc, out, err

    if isinstance(expected, str):
        with pytest.raises(VirtualIronError) as caught:
            TOOL.run(run, ['name'], 'listing', check_rc, name='x')
        assert str(caught.value) == expected
    else:
        assert TOOL.run(run, ['name'], 'listing', check_rc, name='x') == expected
    assert calls == [(['prlimit', '--as=1', 'tool', '-n', 'x'], {'LC_ALL': 'C'})]


def test_run_without_environment_passes_none():
    calls = []
    Command('true', {}).run(lambda argv: calls.append(argv) or (0, '', ''), [])
    assert calls == [['true']]
