# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command lines declared once: a program, its environment, and how each named argument becomes argv.

The idea of community.general's cmd_runner, kept to what the collection needs. A command is declared
with one format per argument; a call names the arguments it uses, in order, with their values:

    LVCREATE = Command('lvcreate', dict(name=option('-n'), extents=option('-l'), group=positional()),
                       environ={'LC_ALL': 'C'})
    LVCREATE.argv(['name', 'extents', 'group'], name='data', extents=10, group='vg0')
    # -> ['lvcreate', '-n', 'data', '-l', '10', 'vg0']

Values always become separate arguments, never a shell string. `run` takes an AnsibleModule.run_command-like
callable: run(argv, environ_update=...) -> (rc, stdout, stderr).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError


# ---------------------------------------------------------------- argument formats: value -> [str]

def flag(text):
    """text when the value is true, nothing otherwise."""
    return lambda value: [text] if value else []


def option(name):
    """name value (two arguments); nothing for None."""
    return lambda value: [] if value is None else [name, str(value)]


def positional():
    """The value itself, or each item of a list; nothing for None."""
    return lambda value: [] if value is None else [str(v) for v in value] if isinstance(value, (list, tuple)) \
        else [str(value)]


def fixed(*args):
    """Always these arguments, whatever the value."""
    return lambda value: list(args)


class Command(object):
    """A program, its declared argument formats and environment."""

    def __init__(self, program, formats, environ=None, prefix=()):
        self.program = program
        self.formats = formats
        self.environ = dict(environ or {})
        self.prefix = list(prefix)  # a command that runs the program (resource limits)

    def argv(self, order, **values):
        """The argument vector for the arguments named in order; an argument without a value gets None."""
        unknown = sorted(set(order) - set(self.formats))
        if unknown:
            raise ValueError('%s has no argument %s' % (self.program, ', '.join(unknown)))
        argv = self.prefix + [self.program]
        for name in order:
            argv.extend(self.formats[name](values.get(name)))
        return argv

    def run(self, run, order, what=None, check_rc=True, **values):
        """Run the command; a failure (with check_rc) raises VirtualIronError naming what it was doing.
        Returns (rc, stdout, stderr)."""
        argv = self.argv(order, **values)
        rc, out, err = run(argv, environ_update=self.environ) if self.environ else run(argv)
        if check_rc and rc != 0:
            raise VirtualIronError('%s failed (%s, exit status %d): %s'
                                   % (what or self.program, ' '.join(argv[len(self.prefix):]), rc,
                                      (err or out).strip()))
        return rc, out, err
