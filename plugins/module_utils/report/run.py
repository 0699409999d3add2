# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One report, as the report module makes it: the history of the period, the event log and the rack now read, the
page rendered and the Prometheus textfile made, and each written only when what it shows changed (a page's
generation time alone is no change; see docs/reports.md)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tempfile
import time

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.events import read_events
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.history import private_file_path
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.policy import POLICY_OPTIONS
from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.prometheus import open_backend
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import CONNECT_TIMEOUT
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import parse_duration
from ansible_collections.virtualiron.infra.plugins.module_utils.report import metrics
from ansible_collections.virtualiron.infra.plugins.module_utils.report.buckets import bucket_seconds
from ansible_collections.virtualiron.infra.plugins.module_utils.report.data import HOST_POINTS, build_report
from ansible_collections.virtualiron.infra.plugins.module_utils.report.page import page_digest, render_page
from ansible_collections.virtualiron.infra.plugins.module_utils.report.rack import read_rack

# The page is meant to be read by people (a job artifact, a mail, a web server): readable by all, like the textfile.
PAGE_MODE = 0o644


class Stopwatch(object):
    """Seconds spent in each step of a report (returned as timings)."""

    def __init__(self):
        self.last, self.spent = time.perf_counter(), {}

    def lap(self, step):
        now = time.perf_counter()
        self.spent[step] = round(now - self.last, 3)
        self.last = now


def make_report(params, now=None, check_mode=False):
    """The report of params (the module's options: hosts as [{'name', 'uri' or None}]); returns the module's
    result."""
    watch, now = Stopwatch(), time.time() if now is None else now
    output = private_file_path(params['output'], 'report')
    report, all_events, skipped = gather(params, now, watch)
    html, digest = render_page(report)
    watch.lap('render')
    result = write_page(output, html, digest, check_mode)
    if params.get('textfile'):
        result.update(write_textfile(params['textfile'], metrics.metric_families(report, all_events, skipped),
                                     check_mode))
    watch.lap('write')
    result.update(changed=result['page_changed'] or result.get('textfile_changed', False), counts=report['counts'],
                  window={'since': report['window']['since'], 'until': report['window']['until']},
                  bucket_seconds=report['bucket_seconds'], skipped_events=skipped, timings=watch.spent,
                  unreachable_hosts=[h['name'] for h in report['hosts'] if h['now'] and h['now']['error']])
    return result


def gather(params, now, watch):
    """(report data, every event of the log, lines skipped). The period ends at the end of the hosts' current
    bucket (now rounded up to it, at least to the minute), so that reports made within one bucket with nothing new
    show the same."""
    window = parse_duration(params['window'], 'window')
    step = bucket_seconds(window, HOST_POINTS, 60)
    until = -(-now // step) * step
    names = [h['name'] for h in params.get('hosts') or []] or None
    samples, notes = read_samples(params, until - window, now, names)
    all_events, skipped = read_events(params['events'])
    targets = [h for h in params.get('hosts') or [] if h.get('uri')]
    rack = read_rack(targets, params.get('connect_timeout') or CONNECT_TIMEOUT) if targets else None
    watch.lap('read')
    options = dict(since=until - window, until=until, now=now, title=params.get('title') or 'Virtual Iron rack report',
                   hosts=names, servers=params.get('servers') or None, notes=notes,
                   **dict((k, params.get(k) or {}) for k in POLICY_OPTIONS))
    report = build_report(samples, all_events, rack, options)
    watch.lap('gather')
    return report, all_events, skipped


def read_samples(params, since, until, hosts):
    """(samples, notes): a history file that does not exist yet makes a report without samples that says so,
    rather than an error (a report may be set up before the first sampling)."""
    if params.get('history_backend', 'sqlite') == 'sqlite' and \
            not os.path.exists(private_file_path(params['history'], 'utilization history')):
        return [], ['There is no utilization history at %s yet: record samples with virtualiron.infra.utilization.'
                    % params['history']]
    with open_backend(params, 60) as history:
        return history.samples(since, until, hosts, None), []


def write_page(path, html, digest, check_mode):
    """Write the page unless the page at path shows the same (its digest); {'page', 'page_changed', 'size'}."""
    data = html.encode('utf-8')
    changed = page_digest(_head(path)) != digest
    if changed and not check_mode:
        _replace(path, data, PAGE_MODE)
    return {'page': path, 'page_changed': changed, 'size': len(data), 'digest': digest}


def write_textfile(path, families, check_mode):
    """Write the metrics for the textfile collector unless the file already holds the same text."""
    path = private_file_path(path, 'textfile')
    if not path.endswith('.prom'):
        raise VirtualIronError('textfile %s: node_exporter reads only files whose name ends in .prom' % path)
    text = metrics.textfile_text(families)
    changed = _read(path) != text
    if changed and not check_mode:
        metrics.write_textfile(path, families)
    return {'textfile': path, 'textfile_changed': changed, 'textfile_size': len(text.encode('utf-8'))}


def _head(path, size=4096):
    data = _read(path, size)
    return data or ''


def _read(path, size=-1):
    try:
        with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), 'rb') as f:
            return f.read(size).decode('utf-8', 'replace')
    except FileNotFoundError:
        return None
    except OSError as e:
        raise VirtualIronError('cannot read %s: %s' % (path, e.strerror or e))


def _replace(path, data, mode):
    """Write data to a temporary file beside path and rename it over path: a reader sees the old page or the new
    one, never half of one. The directory must exist."""
    directory = os.path.dirname(path)
    try:
        fd, temporary = tempfile.mkstemp(prefix='.report-', dir=directory)
    except OSError as e:
        raise VirtualIronError('cannot write the report in %s: %s' % (directory, e.strerror or e))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            os.fchmod(f.fileno(), mode)
        os.rename(temporary, path)
    except OSError as e:
        os.unlink(temporary)
        raise VirtualIronError('cannot write the report %s: %s' % (path, e.strerror or e))
