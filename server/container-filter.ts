import { resolveIdPrefix } from '../common/ids';
import { matchesLabels } from '../common/label-selector';
import type { ContainerRecord } from '../oci/container-record';

/** The filter fields ListContainers and ListContainerStats share. */
export interface ContainerSelector {
  id?: string;
  pod_sandbox_id?: string;
  label_selector?: Record<string, string>;
}

/**
 * The containers a filter selects: by ID and pod ID (each the full ID or a unique prefix, as
 * crictl lets users type; no match selects nothing) and by labels.
 */
export function selectContainers(
  records: ContainerRecord[],
  filter: ContainerSelector | null,
): ContainerRecord[] {
  let selected = records;
  if (filter?.id) {
    const id = resolveIdPrefix(
      filter.id,
      selected.map((r) => r.id),
    );
    selected = selected.filter((r) => r.id === id);
  }
  if (filter?.pod_sandbox_id) {
    const podId = resolveIdPrefix(filter.pod_sandbox_id, new Set(selected.map((r) => r.podId)));
    selected = selected.filter((r) => r.podId === podId);
  }
  if (filter?.label_selector)
    selected = selected.filter((r) => matchesLabels(r.config.labels, filter.label_selector));
  return selected;
}
