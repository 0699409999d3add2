# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks the report's DOM as Chromium dumped it against the history as utilization_info aggregates it.

Usage: check_dom.py DOM.html '[avg aggregates, max aggregates]'. Prints 'ok' and what it checked, or fails."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import sys
from html.parser import HTMLParser


class Dom(HTMLParser):
    def __init__(self, html):
        HTMLParser.__init__(self)
        self.tags, self.text = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def close(shown, wanted):
    return wanted is None and shown == '' or wanted is not None and abs(float(shown) - wanted) <= 0.1


def main():
    with open(sys.argv[1]) as f:
        dom = Dom(f.read())
    averages, highs = json.loads(sys.argv[2])
    tags = [t for t, _a in dom.tags]
    assert tags.count('svg') >= 3 and 'polyline' in tags and 'polygon' in tags, 'charts not drawn'
    # Only the template's own elements: a name's <b> or a reason's <script> would add to them.
    assert 'script' not in tags and tags.count('b') == tags.count('figure'), 'hostile text became markup'
    text = ''.join(dom.text)
    assert "<script>document.title='pwned'</script>" in text and 'vi15-<b>idle</b>' in text, 'hostile text lost'
    checked = []
    for avg, high in zip(averages, highs):
        if avg['server'] not in ('vi15-busy', 'vi15-idle') and avg['server'] is not None:
            continue
        tag = 'article' if avg['server'] is None else 'figure'
        found = [a for t, a in dom.tags if t == tag and a.get('data-host') == avg['host']
                 and a.get('data-server') == (avg['server'] if avg['server'] else None)]
        assert len(found) == 1, 'no single %s for %s/%s' % (tag, avg['host'], avg['server'])
        shown = found[0]
        assert int(shown['data-samples']) == avg['samples'], (shown, avg)
        for key, wanted in (('data-cpu-avg', avg['cpu_percent']), ('data-cpu-max', high['cpu_percent']),
                            ('data-memory-avg', avg['memory_percent'])):
            assert close(shown[key], wanted), (key, shown, avg, high)
        checked.append('%s/%s cpu avg %s max %s' % (avg['host'], avg['server'], shown['data-cpu-avg'],
                                                    shown['data-cpu-max']))
    assert len(checked) >= 4, checked
    print('ok: ' + '; '.join(checked))


if __name__ == '__main__':
    main()
