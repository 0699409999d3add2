# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JMESPath queries over module results, for the `query` option of the info modules."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.virtualiron.infra.plugins.module_utils.libvirt_connection import VirtualIronError

try:
    import jmespath
except ImportError:
    jmespath = None


def run_query(expression, data):
    if jmespath is None:
        raise VirtualIronError(missing_required_lib('jmespath'))
    try:
        return jmespath.search(expression, data)
    except jmespath.exceptions.JMESPathError as e:
        raise VirtualIronError('invalid query %r: %s' % (expression, e))
