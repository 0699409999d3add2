# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""For unit tests of the collection's Python files that are not modules of it (scripts, role files)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib.util
import os

from importlib.machinery import SourceFileLoader

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the collection


def load(name, *path):
    """A Python file of the collection (path from the collection's root) that is not a module of it, loaded as one."""
    loader = SourceFileLoader(name, os.path.join(ROOT, *path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(module)
    return module
