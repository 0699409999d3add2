# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host facts: parsing libvirt's host XML, the load arithmetic, and the whole gathering on the test driver."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import libvirt
import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.host import facts as hf
from ansible_collections.virtualiron.infra.plugins.module_utils.common import libvirt_xml
from ansible_collections.virtualiron.infra.plugins.module_utils.common.errors import MissingLibrary, failure_details
from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError


@pytest.fixture
def caps_xml(fixture_text):
    """A lab host's capabilities (QEMU 7.2 with KVM, AMD CPU), CPU flags and machine types shortened."""
    return fixture_text('host_capabilities.xml')


@pytest.fixture
def caps(caps_xml):
    return hf.parse_capabilities(caps_xml)


def test_parse_capabilities_cpu(caps):
    assert caps['cpu'] == {
        'arch': 'x86_64', 'model': 'kvm64', 'vendor': 'AMD', 'family': 26, 'model_number': 2, 'stepping': 1,
        'sockets': 1, 'dies': 1, 'cores': 2, 'threads': 1, 'tsc_frequency_hz': 2596122000,
        'features': ['fma', 'ht', 'pclmuldq', 'ssse3', 'vme']}


def test_parse_capabilities_numa_and_iommu(caps):
    assert caps['numa'] == [{'id': 0, 'memory_bytes': 5597396 * 1024, 'cpus': [0, 1]}]
    assert caps['iommu'] is False


def test_parse_capabilities_guests(caps):
    assert [(g['os_type'], g['arch'], g['wordsize'], g['domain_types']) for g in caps['guests']] == [
        ('hvm', 'i686', 32, ['qemu', 'kvm']), ('hvm', 'x86_64', 64, ['qemu', 'kvm'])]
    assert caps['guests'][1]['machine_types'] == ['pc-i440fx-7.2', 'pc', 'pc-q35-7.2', 'q35']
    assert caps['guests'][1]['emulator'] == '/usr/bin/qemu-system-x86_64'


def test_parse_capabilities_without_topology():
    caps = hf.parse_capabilities("<capabilities><host><cpu><arch>aarch64</arch></cpu>"
                                 "<iommu support='yes'/></host></capabilities>")
    assert caps['cpu']['sockets'] is None and caps['cpu']['features'] == [] and caps['cpu']['vendor'] is None
    assert (caps['numa'], caps['iommu'], caps['guests']) == ([], True, [])


def test_host_domain_types_only_for_the_hosts_own_architecture(caps):
    caps['guests'][0]['domain_types'] = ['tcg-only-i686']
    assert hf.host_domain_types(caps) == ['qemu', 'kvm']


@pytest.mark.parametrize('features, assist', [(['vme', 'svm'], 'svm'), (['vmx'], 'vmx'), (['vme'], None)])
def test_virtualization_facts(caps, features, assist):
    caps['cpu']['features'] = features
    assert hf.virtualization_facts(caps) == {'hardware_assist': assist, 'kvm': True, 'iommu': False,
                                             'domain_types': ['kvm', 'qemu']}


def test_cpu_facts_adds_count_and_frequency_and_names_the_vendor(caps):
    caps['cpu']['vendor'] = 'GenuineIntel'
    cpu = hf.cpu_facts(caps, ['x86_64', 5466, 2, 2596, 1, 1, 2, 1])
    assert (cpu['count'], cpu['frequency_mhz'], cpu['vendor'], cpu['cores']) == (2, 2596, 'Intel', 2)


@pytest.mark.parametrize('driver, offered, expected', [
    ('QEMU', ['qemu', 'kvm'], 'kvm'),
    ('QEMU', ['qemu'], 'qemu'),        # no /dev/kvm: software emulation only
    ('Xen', ['xen'], 'xen'),
    ('TEST', ['test'], 'test'),
    ('LXC', [], 'lxc'),                # no hvm guests at all: the driver's name
])
def test_hypervisor_facts_type(caps, driver, offered, expected):
    caps['guests'][1]['domain_types'] = offered
    facts = hf.hypervisor_facts(driver, 7002022, 9000000, caps)
    assert facts == {'type': expected, 'driver': driver, 'version': '7.2.22', 'libvirt_version': '9.0.0'}


@pytest.mark.parametrize('number, text', [(7002022, '7.2.22'), (9000000, '9.0.0'), (2, '0.0.2'), (4017000, '4.17.0')])
def test_version_string(number, text):
    assert hf.version_string(number) == text


def test_memory_facts_in_bytes():
    facts = hf.memory_facts({'total': 1000, 'free': 100, 'buffers': 10, 'cached': 200})
    assert facts == {'total_bytes': 1024000, 'free_bytes': 102400, 'buffers_bytes': 10240,
                     'cached_bytes': 204800, 'available_bytes': 310 * 1024}


def test_numa_facts_pairs_cells_with_free_memory(caps):
    assert hf.numa_facts(caps['numa'], [4096]) == [dict(caps['numa'][0], free_bytes=4096)]


BRIDGE_XML = """<interface type='bridge' name='br0'><mtu size='9000'/>
  <bridge stp='off' delay='0'>
    <interface type='ethernet' name='eno1'><link speed='25000' state='up'/><mac address='AA:BB:CC:00:00:01'/></interface>
    <interface type='bond' name='bond0'><mac address='aa:bb:cc:00:00:02'/></interface>
  </bridge></interface>"""


def test_parse_interface_nics_bridge_and_its_ports():
    nics = hf.parse_interface_nics(BRIDGE_XML)
    assert [(n['name'], n['type'], n['bridge'], n['members']) for n in nics] == [
        ('br0', 'bridge', None, ['eno1', 'bond0']), ('eno1', 'ethernet', 'br0', []), ('bond0', 'bond', 'br0', [])]
    assert (nics[0]['mtu'], nics[0]['mac'], nics[0]['link_state']) == (9000, None, None)
    assert (nics[1]['mac'], nics[1]['link_state'], nics[1]['speed_mbps']) == ('aa:bb:cc:00:00:01', 'up', 25000)


def test_parse_interface_nics_ethernet():
    nic, = hf.parse_interface_nics("<interface type='ethernet' name='eth0'><mtu size='1500'/>"
                                   "<link state='down'/><mac address='46:f7:ef:49:d3:2b'/></interface>")
    assert nic == {'name': 'eth0', 'type': 'ethernet', 'mac': '46:f7:ef:49:d3:2b', 'active': None,
                   'link_state': 'down', 'speed_mbps': None, 'mtu': 1500, 'bridge': None, 'members': []}


def test_parse_node_device_net():
    kind, nic = hf.parse_node_device("""<device><name>net_eth0_46_f7</name><capability type='net'>
      <interface>eth0</interface><address>46:F7:EF:49:D3:2B</address><link speed='10000' state='up'/>
      <capability type='80203'/></capability></device>""")
    assert kind == 'nic'
    assert (nic['name'], nic['mac'], nic['link_state'], nic['speed_mbps'], nic['type']) == \
        ('eth0', '46:f7:ef:49:d3:2b', 'up', 10000, 'ethernet')


def test_parse_node_device_storage():
    assert hf.parse_node_device("""<device><name>block_vda</name><capability type='storage'>
      <block>/dev/vda</block><drive_type>disk</drive_type><vendor>0x1af4</vendor><size>274877906944</size>
      </capability></device>""") == ('disk', {'name': 'block_vda', 'path': '/dev/vda', 'type': 'disk',
                                              'size_bytes': 274877906944, 'vendor': '0x1af4', 'model': None})


def test_parse_node_device_other():
    assert hf.parse_node_device("<device><name>pci_0</name><capability type='pci'/></device>") == (None, None)


def test_merge_nics_prefers_the_interface_driver_and_sorts():
    from_interfaces = [dict(name='eth0', source='iface'), dict(name='br0', source='iface')]
    from_devices = [dict(name='eth0', source='device'), dict(name='eth1', source='device')]
    assert [(n['name'], n['source']) for n in hf.merge_nics(from_interfaces, from_devices)] == [
        ('br0', 'iface'), ('eth0', 'iface'), ('eth1', 'device')]


def test_parse_sysinfo():
    xml = """<sysinfo type='smbios'><system><entry name='manufacturer'>Dell Inc.</entry>
      <entry name='product'>PowerEdge R650</entry><entry name='serial'>ABC123</entry>
      <entry name='uuid'>4c4c4544-0000</entry></system></sysinfo>"""
    assert hf.parse_sysinfo(xml) == {'manufacturer': 'Dell Inc.', 'product': 'PowerEdge R650',
                                     'serial': 'ABC123', 'uuid': '4c4c4544-0000'}


def test_load_facts():
    gib = 1024 ** 3
    load = hf.load_facts([(True, 4, 8 * gib), (True, 2, 4 * gib), (False, 8, 16 * gib)], 4, 16 * gib)
    assert load == {'servers_defined': 3, 'servers_running': 2, 'vcpus_running': 6, 'vcpus_defined': 14,
                    'memory_running_bytes': 12 * gib, 'memory_defined_bytes': 28 * gib,
                    'vcpu_overcommit': 1.5, 'vcpu_overcommit_defined': 3.5,
                    'memory_overcommit': 0.75, 'memory_overcommit_defined': 1.75}


def test_load_facts_of_an_empty_host_and_of_unknown_sizes():
    load = hf.load_facts([], 0, 0)
    assert (load['servers_defined'], load['vcpus_defined'], load['vcpu_overcommit'], load['memory_overcommit']) == \
        (0, 0, None, None)


def test_server_allocation_from_bulk_stats():
    def info():
        raise AssertionError('not needed when the stats have vcpu and balloon groups')
    assert hf.server_allocation({'state.state': 1, 'vcpu.current': 2, 'balloon.current': 1024}, info) == \
        (True, 2, 1024 * 1024)
    assert hf.server_allocation({'state.state': 5, 'vcpu.current': 1, 'balloon.current': 2048}, info) == \
        (False, 1, 2048 * 1024)
    assert hf.server_allocation({'state.state': 3, 'vcpu.current': 1, 'balloon.current': 1}, info)[0] is True


def test_server_allocation_falls_back_to_domain_info():
    assert hf.server_allocation({'state.state': 1}, lambda: [1, 4096, 2048, 3, 0]) == (True, 3, 2048 * 1024)


@pytest.mark.parametrize('first, second, expected', [
    ({'user': 0, 'kernel': 0, 'idle': 0, 'iowait': 0}, {'user': 30, 'kernel': 20, 'idle': 40, 'iowait': 10}, 50.0),
    ({'user': 5, 'kernel': 5, 'idle': 5, 'iowait': 5}, {'user': 5, 'kernel': 5, 'idle': 105, 'iowait': 5}, 0.0),
    ({'user': 0, 'idle': 0}, {'user': 100, 'idle': 0}, 100.0),
    ({'user': 1, 'idle': 1}, {'user': 1, 'idle': 1}, None),   # no time between the samples
])
def test_cpu_busy_percent(first, second, expected):
    assert hf.cpu_busy_percent(first, second) == expected


def test_host_facts_on_the_test_driver(conn):
    facts = hf.host_facts(conn)
    assert facts['hypervisor'] == {'type': 'test', 'driver': 'TEST', 'version': '0.0.2', 'libvirt_version':
                                   facts['hypervisor']['libvirt_version']}
    assert (facts['cpu']['count'], facts['cpu']['frequency_mhz']) == (16, 1400)
    assert [(c['id'], len(c['cpus'])) for c in facts['numa']] == [(0, 8), (1, 8)]
    assert facts['load']['servers_defined'] == len(conn.listAllDomains(0))
    assert facts['maintenance']['maintenance'] is False
    assert 'cpu_percent' not in facts['load']
    # The test driver has no node memory statistics: the module says so and still counts its memory.
    assert 'memory' in facts['unavailable']
    assert facts['memory'] == {'total_bytes': 3072 * 1024 ** 2}
    assert facts['load']['memory_overcommit'] == round(facts['load']['memory_running_bytes'] / (3072 * 1024 ** 2), 3)


def test_host_facts_says_which_interfaces_are_up(conn):
    """Up or not comes from one listing of the active interfaces, not a call per interface."""
    down = conn.interfaceDefineXML("<interface type='ethernet' name='eth9'><mac address='52:54:00:00:00:09'/>"
                                   "</interface>")
    try:
        nics = dict((n['name'], n['active']) for n in hf.host_facts(conn)['nics'])
    finally:
        down.undefine()
    assert (nics['eth1'], nics['eth9']) == (True, False)


class Sampled(object):
    """The test driver's connection, but with node CPU counters (ns) that advance between samples (the
    driver's own are constant); samples and sleeps are logged in order in `events`."""

    def __init__(self, conn, samples):
        self._conn, self._samples, self.events = conn, iter(samples), []

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def getCPUStats(self, cpu):
        assert cpu == libvirt.VIR_NODE_CPU_STATS_ALL_CPUS
        self.events.append('sample')
        return next(self._samples)

    def sleep(self, seconds):
        self.events.append(('sleep', seconds))


IDLE = {'user': 1000, 'kernel': 1000, 'idle': 8000, 'iowait': 0}


@pytest.mark.parametrize('second, expected', [
    ({'user': 1150, 'kernel': 1100, 'idle': 8700, 'iowait': 50}, 25.0),   # 1000 ns passed, 750 idle or iowait
    ({'user': 1000, 'kernel': 1000, 'idle': 9000, 'iowait': 0}, 0.0),
    ({'user': 1600, 'kernel': 1400, 'idle': 8000, 'iowait': 0}, 100.0),
    (IDLE, None),                                                       # the counters did not move
])
def test_host_facts_samples_cpu_over_the_given_seconds(conn, monkeypatch, second, expected):
    sampled = Sampled(conn, [IDLE, second])
    monkeypatch.setattr(hf, 'time', sampled)
    facts = hf.host_facts(sampled, cpu_sample=2.5)
    assert facts['load']['cpu_percent'] == expected
    assert sampled.events == ['sample', ('sleep', 2.5), 'sample']
    assert 'cpu_percent' not in facts['unavailable']


def test_parsing_without_lxml_says_what_is_missing(monkeypatch, caps_xml):
    monkeypatch.setattr(libvirt_xml, 'etree', MissingLibrary('lxml', 'Traceback: no module named lxml'))
    with pytest.raises(VirtualIronError, match='lxml') as raised:
        hf.parse_capabilities(caps_xml)
    assert failure_details(raised.value) == {'exception': 'Traceback: no module named lxml'}
