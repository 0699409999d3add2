# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bare-metal machines ("nodes"): their BMCs (Redfish) and their provisioning."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type
