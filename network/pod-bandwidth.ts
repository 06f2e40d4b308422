import { InvalidArgumentError } from '../common/errors';

/** The CNI `bandwidth` capability argument (CNI CONVENTIONS.md): rates in bits per second. */
export interface CniBandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

export const INGRESS_BANDWIDTH_ANNOTATION = 'kubernetes.io/ingress-bandwidth';
export const EGRESS_BANDWIDTH_ANNOTATION = 'kubernetes.io/egress-bandwidth';

/**
 * Kubernetes asks for traffic shaping through these two pod annotations (quantities such as "10M",
 * bits per second). The kubelet validates the range 1k..1P; the burst is left at the maximum the
 * bandwidth plugin accepts, as the other CRI runtimes do, so only the rate limits.
 */
export function bandwidthFromAnnotations(annotations: Record<string, string>): CniBandwidth | undefined {
  const bandwidth: CniBandwidth = {};
  const ingress = annotations[INGRESS_BANDWIDTH_ANNOTATION];
  const egress = annotations[EGRESS_BANDWIDTH_ANNOTATION];
  if (ingress !== undefined) {
    bandwidth.ingressRate = parseRate(INGRESS_BANDWIDTH_ANNOTATION, ingress);
    bandwidth.ingressBurst = MAX_BURST;
  }
  if (egress !== undefined) {
    bandwidth.egressRate = parseRate(EGRESS_BANDWIDTH_ANNOTATION, egress);
    bandwidth.egressBurst = MAX_BURST;
  }
  return Object.keys(bandwidth).length > 0 ? bandwidth : undefined;
}

/** math.MaxUint32: the largest burst the bandwidth plugin takes. */
const MAX_BURST = 4294967295;
const MIN_RATE = 1e3;
const MAX_RATE = 1e15;

const SUFFIXES: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Parses a Kubernetes quantity (decimal or binary suffix) into bits per second. */
function parseRate(annotation: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)([kMGTPE]i?|Ki)?$/.exec(value.trim());
  const multiplier = match ? SUFFIXES[match[2] ?? ''] : undefined;
  if (!match || multiplier === undefined) {
    throw new InvalidArgumentError(`annotation ${annotation}: "${value}" is not a quantity such as "10M"`);
  }
  const rate = Math.ceil(Number(match[1]) * multiplier);
  if (rate < MIN_RATE || rate > MAX_RATE) {
    throw new InvalidArgumentError(`annotation ${annotation}: ${value} is outside 1k..1P bits per second`);
  }
  return rate;
}
