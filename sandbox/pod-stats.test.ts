import { networkUsageOf, parseNetDev } from './pod-stats';

// /proc/net/dev as Linux 6.1 writes it: counters right-aligned after "name:", no space after the colon for long ones.
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    2240      28    0    0    0     0          0         0     2240      28    0    0    0     0       0          0
  eth0:123456789012   90210    3    1    0     0          0         4  5550123   33595    7    0    0     0       0          0
 veth-x: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
broken: 1 2 3
`;

describe('/proc/net/dev', () => {
  test('rx and tx bytes, packets, errors and drops per interface; malformed lines skipped', () => {
    expect(parseNetDev(NET_DEV)).toEqual([
      {
        name: 'lo',
        rxBytes: 2240n,
        rxPackets: 28n,
        rxErrors: 0n,
        rxDropped: 0n,
        txBytes: 2240n,
        txPackets: 28n,
        txErrors: 0n,
        txDropped: 0n,
      },
      {
        name: 'eth0',
        rxBytes: 123456789012n,
        rxPackets: 90210n,
        rxErrors: 3n,
        rxDropped: 1n,
        txBytes: 5550123n,
        txPackets: 33595n,
        txErrors: 7n,
        txDropped: 0n,
      },
      {
        name: 'veth-x',
        rxBytes: 1n,
        rxPackets: 2n,
        rxErrors: 3n,
        rxDropped: 4n,
        txBytes: 9n,
        txPackets: 10n,
        txErrors: 11n,
        txDropped: 12n,
      },
    ]);
  });

  test('a process namespace without loopback traffic counted; eth0 or the first interface is the default', async () => {
    const usage = await networkUsageOf(process.pid, 42n);
    expect(usage.timestamp).toBe('42');
    const names = usage.interfaces!.map((i) => i.name);
    expect(names).not.toContain('lo');
    if (names.length > 0) {
      expect(usage.default_interface!.name).toBe(names.includes('eth0') ? 'eth0' : names[0]);
    }
  });

  test('a process that does not exist has no counters', async () => {
    await expect(networkUsageOf(2 ** 22 + 1, 1n)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
