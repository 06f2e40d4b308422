/** Whether `labels` has every key of `selector` with the same value (CRI filters' label_selector). */
export function matchesLabels(
  labels: Record<string, string>,
  selector: Record<string, string> | undefined,
): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);
}
