import type { ListMetricDescriptorsResponse } from '../api/generated/runtime/v1/ListMetricDescriptorsResponse';
import { metricDescriptors } from '../sandbox/cri-metrics';

/**
 * ListMetricDescriptors: every metric ListPodSandboxMetrics may report. The kubelet reads them
 * once and drops any sample whose name has no descriptor.
 */
export function listMetricDescriptors(): ListMetricDescriptorsResponse {
  return { descriptors: metricDescriptors() };
}
