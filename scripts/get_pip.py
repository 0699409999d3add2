"""Stand-in for the pip bootstrap script ansible-test downloads (get-pip.py).

ansible-test fetches get-pip.py from a host outside the package registries, which this project's CI
cannot reach. This does the same job from what every CPython has: install the pip bundled with
ensurepip, then install what ansible-test asked get-pip.py for (it pins the pip version) from PyPI.
scripts/bootstrap copies it to where ansible-test looks for its cached copy.
"""
import ensurepip
import importlib
import os
import runpy
import sys

# get-pip.py takes pip install's options and packages without the command, plus its own two flags.
GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')

environment = dict(os.environ)
ensurepip.bootstrap(upgrade=False)
# ensurepip points PIP_CONFIG_FILE at /dev/null; the real install must see the machine's pip settings.
os.environ.clear()
os.environ.update(environment)
importlib.invalidate_caches()
sys.argv[1:] = ['install'] + [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
runpy.run_module('pip', run_name='__main__', alter_sys=True)
