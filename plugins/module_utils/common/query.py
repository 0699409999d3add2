# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JMESPath queries over module results, for the `query` option of the info modules."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import traceback

from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import MissingLibraryError, VirtualIronError


def run_query(expression, data):
    jmespath = _jmespath()
    try:
        return jmespath.search(expression, data)
    except jmespath.exceptions.JMESPathError as e:
        raise VirtualIronError('invalid query %r: %s' % (expression, e))


def _jmespath():
    # Imported at the first query, not with this module: the inventory plugin loads it on every run, and
    # most runs have no filter.
    try:
        import jmespath
    except ImportError:
        raise MissingLibraryError('jmespath', traceback.format_exc())
    return jmespath


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
