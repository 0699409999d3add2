# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run `ansible-inventory ARGS --list` and print its JSON with plain strings.

ansible-core 2.19 writes strings an inventory plugin produced as {"__ansible_unsafe": "..."} (they
must not be templated when read back); the from_json filter refuses that form, so unwrap it here.
ansible-inventory's stderr and exit status are passed on.
"""

import json
import subprocess
import sys


def plain(value):
    if isinstance(value, dict):
        if set(value) == {'__ansible_unsafe'}:
            return value['__ansible_unsafe']
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def main():
    done = subprocess.run(['ansible-inventory'] + sys.argv[1:] + ['--list'], stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode == 0:
        print(json.dumps(plain(json.loads(done.stdout))))
    sys.exit(done.returncode)


if __name__ == '__main__':
    main()
