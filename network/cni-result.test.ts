import { parseCniResult, podAddresses } from './cni-result';

describe('parseCniResult', () => {
  test('reads a 1.0.0 result', () => {
    const result = parseCniResult({
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'cni0', mac: '00:11:22:33:44:55' },
        { name: 'eth0', sandbox: '/run/netns/p' },
      ],
      ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['10.1.0.1'] },
    });
    expect(result).toEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'cni0', mac: '00:11:22:33:44:55' },
        { name: 'eth0', sandbox: '/run/netns/p' },
      ],
      ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['10.1.0.1'] },
    });
  });

  test('reads a 0.4.0 result, dropping the per-IP version', () => {
    const result = parseCniResult({
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', sandbox: '/x' }],
      ips: [{ version: '4', address: '10.1.0.5/16', interface: 0 }],
    });
    expect(result.ips).toEqual([{ address: '10.1.0.5/16', interface: 0 }]);
    expect(result.routes).toEqual([]);
    expect(result.dns).toEqual({});
  });

  test.each([
    [[], /result is not a JSON object/],
    [{ ips: [{ address: '10.1.0.5' }] }, /ips\[0\] has no valid "address"/],
    [{ ips: [{ address: '10.1.0.5/33' }] }, /ips\[0\] has no valid "address"/],
    [{ ips: [{ address: '10.1.0.5/16', interface: 3 }] }, /ips\[0\] names interface 3 of 0/],
    [{ interfaces: {} }, /"interfaces" is not a list/],
  ])('rejects %j', (raw, message) => {
    expect(() => parseCniResult(raw)).toThrow(message);
  });
});

describe('podAddresses', () => {
  test('takes the sandbox interfaces, IPv4 first, without prefix length', () => {
    const result = parseCniResult({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'br' }, { name: 'eth0', sandbox: '/n' }],
      ips: [
        { address: 'fd00::5/64', interface: 1 },
        { address: '10.0.0.1/24', interface: 0 },
        { address: '10.0.0.5/24', interface: 1 },
      ],
    });
    expect(podAddresses(result)).toEqual(['10.0.0.5', 'fd00::5']);
  });

  test('IPs without an interface index count as the pod', () => {
    expect(podAddresses(parseCniResult({ ips: [{ address: '10.0.0.5/24' }] }))).toEqual(['10.0.0.5']);
  });
});
