import { readFileSync } from 'node:fs';

/** What the pause process asks for: the last process the OOM killer should pick. */
export const PAUSE_OOM_SCORE_ADJ = -998;

/**
 * Lowers an oom_score_adj request no further than the daemon's own value. Going below it needs
 * CAP_SYS_RESOURCE, which not every host grants (unprivileged user namespaces, some VMs); the
 * runtime would then fail the whole container. containerd's restrict_oom_score_adj does the same.
 */
export function restrictOomScoreAdj(wanted: number, own = ownOomScoreAdj()): number {
  return Math.min(1000, Math.max(wanted, own));
}

function ownOomScoreAdj(): number {
  try {
    return Number.parseInt(readFileSync('/proc/self/oom_score_adj', 'utf8').trim(), 10) || 0;
  } catch {
    return 0;
  }
}
