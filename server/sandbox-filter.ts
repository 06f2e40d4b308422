import { resolveIdPrefix } from '../common/ids';
import { matchesLabels } from '../common/label-selector';
import type { SandboxRecord } from '../sandbox/sandbox-record';

/** The filter fields ListPodSandbox and ListPodSandboxStats share. */
export interface SandboxSelector {
  id?: string;
  label_selector?: Record<string, string>;
}

/** The sandboxes a filter selects: by ID (or unique prefix; no match selects nothing) and labels. */
export function selectSandboxes(records: SandboxRecord[], filter: SandboxSelector | null): SandboxRecord[] {
  let selected = records;
  if (filter?.id) {
    const id = resolveIdPrefix(
      filter.id,
      selected.map((r) => r.id),
    );
    selected = selected.filter((r) => r.id === id);
  }
  if (filter?.label_selector)
    selected = selected.filter((r) => matchesLabels(r.config.labels, filter.label_selector));
  return selected;
}
