# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JMESPath queries over module results, for the `query` option of the info modules."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError

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


def named_or_all(names, find, list_all):
    """(objects, missing names): the named objects (a name that is not there is reported, not an
    error), or every object when no names are given."""
    if not names:
        return list_all(), []
    found = [(name, find(name)) for name in names]
    return [obj for _name, obj in found if obj is not None], [name for name, obj in found if obj is None]


def exit_with_query(module, result, key):
    """exit_json(result); with the module's `query` set, add its value over {key: result[key]}."""
    if module.params['query']:
        try:
            result['query_result'] = run_query(module.params['query'], {key: result[key]})
        except VirtualIronError as e:
            module.fail_json(msg=str(e))
    module.exit_json(**result)
