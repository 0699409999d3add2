# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a module's main() in-process, with exit_json and fail_json captured."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class Exited(Exception):
    """exit_json or fail_json was called: the module instance, whether it failed, and its result."""

    def __init__(self, module, failed, **result):
        super(Exited, self).__init__(result)
        self.module, self.failed, self.result = module, failed, result


@pytest.fixture
def run_main(monkeypatch):
    """run_main(main, args) -> Exited, from running a module's main() with those arguments."""
    def exit_json(module, **result):
        raise Exited(module, False, **result)

    def fail_json(module, **result):
        raise Exited(module, True, **result)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)

    def run(main, args):
        with patch_module_args(args), pytest.raises(Exited) as exited:
            main()
        return exited.value
    return run
