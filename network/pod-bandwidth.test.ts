import { bandwidthFromAnnotations } from './pod-bandwidth';

describe('bandwidthFromAnnotations', () => {
  test('reads the Kubernetes annotations as bits per second, burst at the plugin maximum', () => {
    expect(
      bandwidthFromAnnotations({
        'kubernetes.io/ingress-bandwidth': '10M',
        'kubernetes.io/egress-bandwidth': '1Gi',
      }),
    ).toEqual({ ingressRate: 10e6, ingressBurst: 4294967295, egressRate: 2 ** 30, egressBurst: 4294967295 });
    expect(bandwidthFromAnnotations({ 'kubernetes.io/egress-bandwidth': '1.5k' })).toEqual({
      egressRate: 1500,
      egressBurst: 4294967295,
    });
  });

  test('no annotations, no shaping', () => {
    expect(bandwidthFromAnnotations({ other: 'x' })).toBeUndefined();
  });

  test.each(['fast', '10X', '10ki', '999', '2P'])('rejects %s', (value) => {
    expect(() => bandwidthFromAnnotations({ 'kubernetes.io/ingress-bandwidth': value })).toThrow(
      /kubernetes.io\/ingress-bandwidth/,
    );
  });
});
