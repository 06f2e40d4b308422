/** A host port the pod asks for (CRI PortMapping), handed to CNI's portMappings capability. */
export interface PodPortMapping {
  protocol: 'tcp' | 'udp' | 'sctp';
  containerPort: number;
  hostPort: number;
  hostIP: string;
}

export interface PodNetworkRequest {
  podId: string;
  netnsPath: string;
  name: string;
  namespace: string;
  uid: string;
  portMappings: PodPortMapping[];
}

/**
 * What the sandbox needs from pod networking (network/ implements it with CNI): attach a pod's
 * network namespace and learn its addresses; detach it again, idempotently, even after a daemon
 * restart and even when the namespace is already gone.
 */
export interface PodNetwork {
  setUpPod(request: PodNetworkRequest): Promise<{ ips: string[]; result: unknown }>;
  tearDownPod(request: PodNetworkRequest): Promise<void>;
}
